import { execFileSync, spawn } from "node:child_process";
import {
  chmodSync,
  chownSync,
  copyFileSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readlinkSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { delimiter, dirname, join, resolve } from "node:path";
import { createDockerClient } from "../../of-builder/docker-engine.js";
import { registryAuthHeader } from "../../of-builder/registry-auth.js";
import { ensureNodeBinary, NODE_MAJOR } from "./node-runtime.js";
import { basicAuth, dockerConfig, type RegistryCredentials } from "./registry.js";

/** Where to build and publish the base image. */
export interface BaseImageOptions {
  /** The Docker daemon's unix socket. */
  socketPath: string;
  /** `127.0.0.1:PORT` of the local registry. */
  registry: string;
  /** The registry's account (it refuses anonymous pulls and pushes, issue #10). */
  credentials: RegistryCredentials;
  /**
   * Scratch space for the root filesystem (`<workDir>/rootfs`, rebuilt each time), and the cache of the official
   * Node.js binary (`<workDir>/node`, kept: a later start fetches nothing).
   */
  workDir: string;
  /** Where to keep the official Node.js binary instead (tests share one across their throwaway work dirs). */
  nodeCacheDir?: string;
  /**
   * A CA bundle node must trust besides its own, copied in at the same path. Defaults to this machine's
   * NODE_EXTRA_CA_CERTS, else its system bundle: where egress goes through a TLS-inspecting proxy, `npm ci` inside a
   * build needs it as npm on the host does (the official node images ship CA certificates for the same reason).
   */
  extraCaCerts?: string;
  /** Called once before the image is made from nothing (the slow first run), not when it is only pulled or pushed. */
  onBuild?: () => void;
}

// What a template's RUN lines typically need besides node and npm; `true`, `false`, `echo` are dash builtins.
const TOOLS = ["dash", "mkdir", "cp", "rm", "ls", "cat", "chmod", "chown", "env", "ln", "mv", "touch"];
// What native addons in a lockfile commonly link besides what node itself does (jest 30's resolver links librt):
// an official node image has the whole C library, so a build that works there must work here.
const LIBS = [
  "libc.so.6",
  "libm.so.6",
  "libdl.so.2",
  "librt.so.1",
  "libpthread.so.0",
  "libgcc_s.so.1",
  "libstdc++.so.6",
];
const PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/**
 * Makes `<registry>/base/node:24` from the official Node.js 24 binary (the current LTS, fetched once through npm:
 * local/services/node-runtime.ts) with this machine's npm, dash, a few coreutils and the libraries they link, since
 * no image can be pulled here (DESIGN §8). Skips whatever the daemon and the registry already have. Returns the image
 * name.
 */
export async function ensureBaseImage(options: BaseImageOptions): Promise<string> {
  const docker = createDockerClient({ socketPath: options.socketPath });
  // Tagged with the major alone, so a later start knows the image without fetching anything.
  const major = NODE_MAJOR;
  const image = `${options.registry}/base/node:${major}`;

  const registryAuth = registryAuthHeader(dockerConfig(options.registry, options.credentials), image);
  const tags = await fetch(`http://${options.registry}/v2/base/node/tags/list`, {
    headers: { authorization: basicAuth(options.credentials) },
  });
  if (!tags.ok && tags.status !== 404) check("list tags of", image, `registry answered ${tags.status}`);
  const inRegistry = tags.ok && ((await tags.json()) as { tags: string[] | null }).tags?.includes(major) === true;
  const inDaemon = (await docker.inspectImage(image)) !== undefined;
  if (inRegistry && inDaemon) return image;

  if (!inDaemon && inRegistry) check("pull", image, (await docker.pull(image, { registryAuth })).error);
  if (!inDaemon && !inRegistry) {
    options.onBuild?.();
    // Without NODE_EXTRA_CA_CERTS, the system bundle: a superset of node's own roots plus whatever the machine adds.
    const ca = options.extraCaCerts ?? process.env.NODE_EXTRA_CA_CERTS ?? "/etc/ssl/certs/ca-certificates.crt";
    const extraCaCerts = ca && existsSync(ca) ? ca : undefined;
    // Issue #10 item 5: the images run the current LTS, not whatever node this machine runs its tooling with.
    const cacheDir = options.nodeCacheDir ?? join(resolve(options.workDir), "node");
    const node = (await ensureNodeBinary({ cacheDir, npm: which("npm") })).path;
    const rootfs = buildRootfs(join(resolve(options.workDir), "rootfs"), node, extraCaCerts);
    const tar = spawn("tar", ["-C", rootfs, "--numeric-owner", "-c", "."], { stdio: ["ignore", "pipe", "inherit"] });
    const tarExit = new Promise<number | null>((done) => tar.on("close", done));
    // npm in any build on this image asks no registry for its own newer version and prints no funding notice (#18).
    const changes = [
      `ENV PATH=${PATH}`,
      "ENV NPM_CONFIG_UPDATE_NOTIFIER=false",
      "ENV NPM_CONFIG_FUND=false",
      'CMD ["node"]',
    ];
    if (extraCaCerts) changes.push(`ENV NODE_EXTRA_CA_CERTS=${extraCaCerts}`);
    const imported = await docker.importImage(tar.stdout, image, changes);
    const code = await tarExit;
    rmSync(rootfs, { recursive: true, force: true });
    check("import", image, code === 0 ? imported.error : `tar of ${rootfs} exited with ${code}`);
  }
  if (!inRegistry) check("push", image, (await docker.push(image, { registryAuth })).error);
  return image;
}

function check(step: string, image: string, error: string | undefined) {
  if (error !== undefined) throw new Error(`base image ${image}: ${step} failed: ${error}`);
}

/**
 * Lays out node at /usr/local/bin (where the official images have it), this machine's npm, sh and TOOLS with their
 * shared libraries, keeping the host's paths for all but node (usrmerge included).
 */
function buildRootfs(root: string, node: string, extraCaCerts: string | undefined): string {
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  // Debian 12 is usrmerged (/bin -> usr/bin, …); mirror that so ldd's /lib64/ld-linux… paths resolve.
  for (const top of ["bin", "sbin", "lib", "lib64"]) {
    const host = `/${top}`;
    if (existsSync(host) && lstatSync(host).isSymbolicLink()) symlinkSync(readlinkSync(host), join(root, top));
  }
  mkdirSync(join(root, "usr/local/bin"), { recursive: true });
  copyFileSync(node, join(root, "usr/local/bin/node"));
  chmodSync(join(root, "usr/local/bin/node"), 0o755);
  const linked: string[] = [];
  for (const binary of [node, ...TOOLS.map(which)]) {
    if (binary !== node) copyPath(root, binary);
    for (const lib of sharedLibraries(binary)) {
      copyPath(root, lib);
      linked.push(lib);
    }
  }
  const libDir = dirname(linked.find((lib) => lib.endsWith("/libc.so.6")) ?? "/lib/libc.so.6");
  for (const lib of LIBS) if (existsSync(join(libDir, lib))) copyPath(root, join(libDir, lib));
  symlinkSync("dash", join(root, "usr/bin/sh"));

  // This machine's npm (npm 11 supports Node.js 24); its package root is two levels above bin/npm-cli.js.
  const npm = resolve(dirname(realpathSync(which("npm"))), "..");
  if (existsSync(join(npm, "bin/npm-cli.js"))) {
    cpSync(npm, join(root, "usr/lib/node_modules/npm"), { recursive: true, verbatimSymlinks: true });
    symlinkSync("../lib/node_modules/npm/bin/npm-cli.js", join(root, "usr/bin/npm"));
    symlinkSync("../lib/node_modules/npm/bin/npx-cli.js", join(root, "usr/bin/npx"));
  }

  if (extraCaCerts) copyPath(root, extraCaCerts);
  mkdirSync(join(root, "etc"), { recursive: true });
  writeFileSync(join(root, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n");
  writeFileSync(join(root, "etc/group"), "root:x:0:\napp:x:1000:\n");
  writeFileSync(join(root, "etc/nsswitch.conf"), "passwd: files\ngroup: files\nhosts: files dns\n");
  for (const [dir, mode] of [
    ["tmp", 0o1777],
    ["root", 0o700],
    ["home/app", 0o755],
    ["proc", 0o755],
    ["sys", 0o755],
    ["dev", 0o755],
  ] as const) {
    mkdirSync(join(root, dir), { recursive: true });
    chmodSync(join(root, dir), mode);
  }
  chownSync(join(root, "home/app"), 1000, 1000);
  return root;
}

/** Absolute paths ldd prints for `binary` (`libc.so.6 => /lib/… (0x…)` and `/lib64/ld-linux… (0x…)`). */
function sharedLibraries(binary: string): string[] {
  const out = execFileSync("ldd", [binary], { encoding: "utf8" });
  return [...out.matchAll(/(?:=>\s*)?(\/\S+)\s+\(0x/g)].map((m) => m[1] as string);
}

/**
 * Copies `path` into `root` at the same place. Directory symlinks are resolved first (the usrmerge links above
 * stand in for them); a file symlink is recreated and its target copied too.
 */
function copyPath(root: string, path: string): void {
  const real = join(realpathSync(dirname(path)), path.slice(dirname(path).length + 1));
  const dest = join(root, real);
  if (existsSync(dest) || isLink(dest)) return;
  mkdirSync(dirname(dest), { recursive: true });
  if (lstatSync(real).isSymbolicLink()) {
    const target = readlinkSync(real);
    symlinkSync(target, dest);
    copyPath(root, resolve(dirname(real), target));
  } else {
    copyFileSync(real, dest);
    chmodSync(dest, lstatSync(real).mode & 0o7777);
  }
}

function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

/** The first `name` on the standard PATH, like `command -v` (not the caller's PATH: STYLE §2.5). */
function which(name: string): string {
  for (const dir of PATH.split(delimiter)) {
    const candidate = join(dir, name);
    if (existsSync(candidate)) return candidate;
  }
  throw new Error(`base image: ${name} not found on PATH`);
}
