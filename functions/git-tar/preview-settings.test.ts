import { mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readPreviewOptIn } from "./preview-settings.js";

// Issue #17: a repository opts in to previews with .openfaas-cloud.yml.
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "preview-settings-"));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe("readPreviewOptIn", () => {
  it("no .openfaas-cloud.yml → off", async () => {
    await expect(readPreviewOptIn(dir)).resolves.toBe(false);
  });

  it.each([
    ["previews: true\n", true],
    ["previews: false\n", false],
    ["# nothing yet\n", false],
    ["other: 1\n", false],
    ["previews: true # on\nother: x\n", true],
  ])("%j → %s", async (text, expected) => {
    await writeFile(join(dir, ".openfaas-cloud.yml"), text);
    await expect(readPreviewOptIn(dir)).resolves.toBe(expected);
  });

  it.each([
    ["previews: yes\n", /previews must be true or false \(got "yes"\)/],
    ["previews: [true]\n", /previews must be true or false/],
    ["- previews\n", /must be a mapping/],
    ["previews: true\npreviews: false\n", /\.openfaas-cloud\.yml line 2/],
  ])("%j → a 400 naming the file and the rule", async (text, message) => {
    await writeFile(join(dir, ".openfaas-cloud.yml"), text);
    await expect(readPreviewOptIn(dir)).rejects.toMatchObject({ status: 400, message: expect.stringMatching(message) });
  });

  it("a symlink (to a file saying previews: true) → a 400, never followed", async () => {
    await writeFile(join(dir, "elsewhere.yml"), "previews: true\n");
    await symlink(join(dir, "elsewhere.yml"), join(dir, ".openfaas-cloud.yml"));
    await expect(readPreviewOptIn(dir)).rejects.toMatchObject({ status: 400, message: /not a symlink/ });
  });
});
