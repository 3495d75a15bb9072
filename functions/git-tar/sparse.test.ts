import { randomBytes } from "node:crypto";
import { lstat, mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  startGitServer,
  type GitFileContent,
  type GitRepo,
  type GitServer,
} from "../../local/git-server/git-server.js";
import { readStack } from "../../shared/stack.js";
import { cloneAt } from "./clone.js";
import { shrinkwrap } from "./shrinkwrap.js";
import { STACK_ROOT_PATHS, stackPaths } from "./stack-paths.js";

const MIB = 1024 * 1024;
const TEMPLATES = join(dirname(fileURLToPath(import.meta.url)), "../../local/templates/template");
const VARS = { OWNER: "alice", REPO: "fns", SHA: "", BRANCH: "master" };

let server: GitServer;
let base: string;
let dir: string;

beforeAll(async () => {
  server = await startGitServer();
});
afterAll(() => server.close());
beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), "sparse-test-"));
  dir = join(base, "checkout");
  await mkdir(dir);
});
afterEach(() => rm(base, { recursive: true, force: true }));

let repos = 0;
async function pushed(files: Parameters<GitRepo["commit"]>[0]) {
  const name = `sparse-${++repos}`;
  const repo = await server.createRepo("alice", name);
  const sha = await repo.commit(files);
  await repo.push();
  return { sha, url: `${server.url}/alice/${name}.git` };
}

/** Clones as git-tar does: the root files first, then what the stack names. */
const clone = (url: string, sha: string) =>
  cloneAt({
    url,
    sha,
    branch: "master",
    dir,
    maxBytes: 50 * MIB,
    sparse: { first: STACK_ROOT_PATHS, select: () => stackPaths(dir, VARS) },
  });

const present = (path: string) =>
  lstat(join(dir, path)).then(
    () => true,
    () => false,
  );

const stackFile = (handler: string, extra = "") =>
  "version: 1.0\nprovider:\n  name: openfaas\nfunctions:\n" +
  `  api:\n    lang: node20\n    handler: ${handler}\n    image: api:latest\n    environment_file: [\${REPO}-env/prod.yml]\n` +
  extra;
// 4 MiB of incompressible bytes no function uses.
const bigFolder = () =>
  Object.fromEntries(
    Array.from({ length: 8 }, (_, i) => [`assets/blob-${i}.bin`, randomBytes(MIB / 2).toString("base64")]),
  );
const fnFiles = {
  "api/handler.js": "module.exports = async () => 'hi';\n",
  "api/package.json": '{"name":"api"}\n',
  "fns-env/prod.yml": "environment:\n  MODE: prod\n",
  "shared/util.js": "exports.x = 1;\n",
  "secrets.yml": "kind: SealedSecret\n",
};

describe("cloneAt with the stack's paths (issue #16)", () => {
  it("a big folder no function uses → not checked out, bytes charged without it, the stack still reads and shrinkwraps", async () => {
    const { sha, url } = await pushed({
      "stack.yml": stackFile("./api", "configuration:\n  copy: [./shared]\n"),
      ...fnFiles,
      ...bigFolder(),
    });
    const { bytes } = await clone(url, sha);
    expect(await present("assets")).toBe(false);
    for (const path of ["stack.yml", "secrets.yml", "api/handler.js", "fns-env/prod.yml", "shared/util.js"])
      expect(await present(path)).toBe(true);
    // The pack (~4.2 MB of base64 that barely compresses) is charged; the 5.3 MB it would inflate to is not.
    expect(bytes).toBeLessThan(5.5 * MIB);

    const stack = await readStack(dir, VARS);
    expect(stack.functions[0]!.environment).toEqual({ MODE: "prod" });
    const outDir = join(base, "build");
    await shrinkwrap({
      repoDir: dir,
      templatesDir: TEMPLATES,
      fn: stack.functions[0]!,
      copy: stack.configuration.copy,
      outDir,
    });
    expect(await readFile(join(outDir, "function/handler.js"), "utf8")).toBe(fnFiles["api/handler.js"]);
    expect(await readFile(join(outDir, "function/shared/util.js"), "utf8")).toBe(fnFiles["shared/util.js"]);
  });

  it.each<{ name: string; files: Record<string, GitFileContent> }>([
    { name: "handler . (the whole repo)", files: { "stack.yml": stackFile(".") } },
    { name: "handler ./api/.. (the root spelled another way)", files: { "stack.yml": stackFile("./api/../") } },
    { name: "copy of the root", files: { "stack.yml": stackFile("./api", "configuration:\n  copy: [.]\n") } },
    { name: "a stack file that does not parse", files: { "stack.yml": "functions: [unclosed\n" } },
    { name: "no stack file", files: {} },
    {
      name: "a symlink inside the handler",
      files: { "stack.yml": stackFile("./api"), "api/link": { symlink: "../shared" } },
    },
    { name: "the handler is a symlink", files: { "stack.yml": stackFile("./fn"), fn: { symlink: "api" } } },
    {
      name: "stack.yml is a symlink",
      files: { "stack.yml": { symlink: "conf/stack.yml" }, "conf/stack.yml": stackFile("./api") },
    },
  ])("$name → the whole tree checked out", async ({ files }) => {
    const { sha, url } = await pushed({ ...fnFiles, ...files, "assets/big.bin": "unused\n" });
    await clone(url, sha);
    expect(await present("assets/big.bin")).toBe(true);
  });

  it("paths that leave the repository → left out of the checkout, refused by readStack as before", async () => {
    const { sha, url } = await pushed({ "stack.yml": stackFile("../../etc"), ...fnFiles, "assets/big.bin": "x\n" });
    await clone(url, sha);
    expect(await present("assets")).toBe(false);
    const stack = await readStack(dir, VARS);
    await expect(
      shrinkwrap({ repoDir: dir, templatesDir: TEMPLATES, fn: stack.functions[0]!, copy: [], outDir: join(base, "b") }),
    ).rejects.toMatchObject({ status: 400, message: 'function "api": handler "../../etc" leaves the repository' });
  });

  it("a custom template folder → checked out, so git-tar still sees it and refuses the push", async () => {
    const { sha, url } = await pushed({ "stack.yml": stackFile("./api"), ...fnFiles, "template/x/template.yml": "" });
    await clone(url, sha);
    expect(await present("template/x/template.yml")).toBe(true);
  });
});
