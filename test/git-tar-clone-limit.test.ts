import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cloneAt } from "../functions/git-tar/clone.js";
import { createCloneLimit } from "../functions/git-tar/clone-limit.js";
import { startGitServer, type GitServer } from "../local/git-server/git-server.js";

// git-tar's clone slots (issue #16) around real clones over smart HTTP: a burst never runs more than the limit at
// once, and every clone that waited still checks out. Here, not beside the module: a function image's build has no
// git to serve from (template/ofc-node24/jest.config.js runs only self-contained tests).
const MIB = 1024 * 1024;
let server: GitServer;
let base: string;
let url: string;
let sha: string;

beforeAll(async () => {
  server = await startGitServer();
  base = await mkdtemp(join(tmpdir(), "clone-limit-"));
  const repo = await server.createRepo("alice", "repo");
  sha = await repo.commit({ "stack.yml": "version: 1.0\n" });
  await repo.push();
  url = `${server.url}/alice/repo.git`;
});
afterAll(async () => {
  await server.close();
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
          const dir = join(base, `${clones}-${max}-${i}`);
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

describe("git-tar's clone limit around real clones", () => {
  it.each([
    [2, 1],
    [3, 2],
    [4, 3],
  ])("%i clones at once with a limit of %i → at most the limit run at once, every one checks out", async (n, max) => {
    const { most, results } = await burst(n, max);
    expect(most).toBe(max);
    expect(results).toEqual(Array.from({ length: n }, () => "version: 1.0\n"));
  });

  it("the same burst under a limit above it → all run at once (the clones do overlap)", async () => {
    expect((await burst(3, 3)).most).toBe(3);
  });
});
