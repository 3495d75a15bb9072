import { jest } from "@jest/globals";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startGitServer, type GitServer } from "../../local/git-server/git-server.js";

// clone.ts drops isomorphic-git's per-file "task rejected" lines (each with a stack) from console.error. The spy is
// installed before clone.ts is loaded, so it stands where the real console.error was: what reaches it is what an
// operator would see in git-tar's log.
const printed = jest.spyOn(console, "error").mockImplementation(() => {});
const { cloneAt } = await import("./clone.js");

let server: GitServer;
let base: string;
beforeAll(async () => {
  server = await startGitServer();
});
afterAll(() => server.close());
beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), "clone-console-"));
  printed.mockClear();
});
afterEach(() => rm(base, { recursive: true, force: true }));

it("isomorphic-git's 'task rejected' lines are dropped; every other console.error line passes through", () => {
  console.error("[isomorphic-git Update Working Dir] task rejected:", "Error: clone size budget exceeded\n    at …");
  console.error("[isomorphic-git Some Other Step] task rejected:", "Error: x");
  console.error("a line of someone else's", 42);
  console.error("[isomorphic-git Update Working Dir] something else");
  expect(printed.mock.calls).toEqual([
    ["a line of someone else's", 42],
    ["[isomorphic-git Update Working Dir] something else"],
  ]);
});

it("a checkout cut short by the size budget → the 400, and not one isomorphic-git line printed", async () => {
  const repo = await server.createRepo("alice", "zeros");
  const files: Record<string, Buffer> = {};
  for (let i = 0; i < 40; i++) files[`f${String(i).padStart(2, "0")}.bin`] = Buffer.alloc(256 * 1024);
  const sha = await repo.commit(files);
  await repo.push();
  const dir = join(base, "checkout");
  await mkdir(dir);
  await expect(
    cloneAt({ url: `${server.url}/alice/zeros.git`, sha, branch: "master", dir, maxBytes: 2 * 1024 * 1024 }),
  ).rejects.toMatchObject({ status: 400, message: "repository is larger than the 2 MB limit" });
  expect(printed).not.toHaveBeenCalled();
});
