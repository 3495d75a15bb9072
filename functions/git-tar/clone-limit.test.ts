import { execFile, spawn } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { cloneAt } from "./clone.js";
import { createCloneLimit } from "./clone-limit.js";

const run = promisify(execFile);
const MIB = 1024 * 1024;
// Each answer of the git host waits this long, so clones that are let through together overlap.
const SLOW_MS = 150;

let base: string;
let server: Server;
let url: string;
let sha: string;

/** Smart HTTP from `git http-backend` (CGI) over `root`, each answer held back `SLOW_MS`. */
function gitHost(root: string): Server {
  return createServer((req, res) => {
    const parsed = new URL(req.url ?? "/", "http://git");
    const cgi = spawn("git", ["http-backend"], {
      env: {
        PATH: process.env.PATH,
        GIT_PROJECT_ROOT: root,
        GIT_HTTP_EXPORT_ALL: "1",
        PATH_INFO: parsed.pathname,
        QUERY_STRING: parsed.search.slice(1),
        REQUEST_METHOD: req.method ?? "GET",
        CONTENT_TYPE: req.headers["content-type"] ?? "",
      },
    });
    req.pipe(cgi.stdin);
    const chunks: Buffer[] = [];
    cgi.stdout.on("data", (chunk: Buffer) => chunks.push(chunk));
    cgi.on("close", () => {
      const out = Buffer.concat(chunks);
      const end = out.indexOf("\r\n\r\n");
      const headers = out.subarray(0, end).toString().split("\r\n");
      const status = headers.find((h) => h.startsWith("Status:"));
      setTimeout(() => {
        res.writeHead(status ? Number(status.split(" ")[1]) : 200, Object.fromEntries(headers.map(splitHeader)));
        res.end(out.subarray(end + 4));
      }, SLOW_MS);
    });
  });
}
const splitHeader = (h: string): [string, string] => [h.slice(0, h.indexOf(":")), h.slice(h.indexOf(":") + 1).trim()];

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), "clone-limit-"));
  const env = { ...process.env, GIT_CONFIG_NOSYSTEM: "1", GIT_CONFIG_GLOBAL: "/dev/null" };
  const work = join(base, "work");
  await run("git", ["init", "-q", "-b", "master", work], { env });
  await writeFile(join(work, "stack.yml"), "version: 1.0\n");
  const id = ["-c", "user.name=t", "-c", "user.email=t@example.com"];
  await run("git", ["-C", work, "add", "."], { env });
  await run("git", ["-C", work, ...id, "commit", "-q", "-m", "one"], { env });
  sha = (await run("git", ["-C", work, "rev-parse", "HEAD"], { env })).stdout.trim();
  await run("git", ["clone", "-q", "--bare", work, join(base, "alice", "repo.git")], { env });
  server = gitHost(base);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/alice/repo.git`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await rm(base, { recursive: true, force: true });
});

/** Starts `clones` clones at once through a limit of `max`; the most that ran at once and what each checked out. */
async function burst(clones: number, max: number) {
  const limit = createCloneLimit(max);
  let running = 0;
  let most = 0;
  const results = await Promise.all(
    Array.from({ length: clones }, (_, i) =>
      limit(async () => {
        most = Math.max(most, ++running);
        try {
          const dir = join(base, "clones", `${clones}-${max}-${i}`);
          await mkdir(dir, { recursive: true });
          await cloneAt({ url, sha, branch: "master", dir, maxBytes: 10 * MIB });
          return await readFile(join(dir, "stack.yml"), "utf8");
        } finally {
          running--;
        }
      }),
    ),
  );
  return { most, results };
}

describe("createCloneLimit", () => {
  it.each([
    [2, 1],
    [3, 2],
    [4, 3],
  ])(
    "%i clones at once with a limit of %i → at most the limit run at once, the last one completes too",
    async (n, max) => {
      const { most, results } = await burst(n, max);
      expect(most).toBe(max);
      expect(results).toEqual(Array.from({ length: n }, () => "version: 1.0\n"));
    },
  );

  it("the same burst under a limit above it → all run at once (the clones do overlap)", async () => {
    expect((await burst(3, 3)).most).toBe(3);
  });

  it.each([0, -1, 1.5, Number.NaN])("max_concurrent_clones %p → TypeError naming the setting", (max) => {
    expect(() => createCloneLimit(max)).toThrow(/^\[git-tar\] max_concurrent_clones must be a whole number above 0/);
  });
});
