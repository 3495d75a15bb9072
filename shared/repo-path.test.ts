import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isInside, resolveInside } from "./repo-path.js";

describe("isInside", () => {
  it.each([
    ["the root itself", "/work/repo", true],
    ["a folder below it", "/work/repo/fn", true],
    ["a name starting with two dots below it", "/work/repo/..hidden", true],
    // Issue #12: `handler: ..` would copy the folder above the checkout into the build context.
    ["exactly the parent folder", "/work", false],
    ["a sibling", "/work/other", false],
    ["a sibling sharing the prefix", "/work/repo-evil", false],
    ["the filesystem root", "/", false],
  ])("%s (%s) → inside: %s", (_, path, inside) => {
    expect(isInside("/work/repo", path)).toBe(inside);
  });
});

describe("resolveInside", () => {
  let root: string;
  let repo: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "repo-path-"));
    repo = join(root, "repo");
    await mkdir(join(repo, "fn"), { recursive: true });
    await writeFile(join(root, "outside.txt"), "not the tenant's");
    await symlink(root, join(repo, "up"));
    await symlink("../outside.txt", join(repo, "escape.txt"));
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it("a folder in the repository → its real path", async () => {
    await expect(resolveInside(repo, "./fn", "handler")).resolves.toMatch(/\/repo\/fn$/);
  });

  it('"." → the repository itself', async () => {
    await expect(resolveInside(repo, ".", "handler")).resolves.toMatch(/\/repo$/);
  });

  it.each([
    ["..", "leaves the repository"],
    ["fn/../..", "leaves the repository"],
    ["../outside.txt", "leaves the repository"],
    ["up", "leaves the repository through a symlink"],
    ["escape.txt", "leaves the repository through a symlink"],
    ["missing", "does not exist in the repository"],
  ])("%s → 400 %s", async (path, reason) => {
    await expect(resolveInside(repo, path, 'function "api": handler')).rejects.toMatchObject({
      status: 400,
      message: `function "api": handler ${JSON.stringify(path)} ${reason}`,
    });
  });

  it("an absolute path, even inside the repository → 400", async () => {
    await expect(resolveInside(repo, join(repo, "fn"), "handler")).rejects.toMatchObject({
      status: 400,
      message: `handler ${JSON.stringify(join(repo, "fn"))} must be a path relative to the repository`,
    });
  });
});
