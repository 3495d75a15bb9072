import { createHash } from "node:crypto";
import {
  chmod,
  lstat,
  mkdir,
  mkdtemp,
  open,
  readdir,
  readFile,
  readlink,
  rm,
  symlink,
  writeFile,
} from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { StackFunction } from "../../shared/stack.js";
import { buildArgsFor, readTemplate, shrinkwrap } from "./shrinkwrap.js";

const TEMPLATES = join(dirname(fileURLToPath(import.meta.url)), "../../local/templates/template");

let work: string;
let repo: string;
let out: string;
beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), "shrinkwrap-"));
  repo = join(work, "repo");
  out = join(repo, "build", "fn");
  await mkdir(repo);
});
afterEach(() => rm(work, { recursive: true, force: true }));

/** Relative path → "dir", "link <target>" or "file <sha256>": what faas-cli's layout is compared on. */
async function tree(dir: string, prefix = ""): Promise<Record<string, string>> {
  const result: Record<string, string> = {};
  for (const name of (await readdir(dir)).sort()) {
    const path = join(dir, name);
    const stat = await lstat(path);
    if (stat.isSymbolicLink()) result[prefix + name] = `link ${await readlink(path)}`;
    else if (stat.isDirectory())
      Object.assign(result, { [prefix + name]: "dir" }, await tree(path, `${prefix}${name}/`));
    else
      result[prefix + name] = `file ${createHash("sha256")
        .update(await readFile(path))
        .digest("hex")}`;
  }
  return result;
}

const sha = (text: string) => createHash("sha256").update(text).digest("hex");

/** `tree` of `dir`, every key under `under/`. */
async function treeUnder(dir: string, under: string): Promise<Record<string, string>> {
  const entries = Object.entries(await tree(dir)).map(([k, v]) => [under ? `${under}/${k}` : k, v]);
  return Object.fromEntries(entries) as Record<string, string>;
}

async function files(root: string, contents: Record<string, string>): Promise<void> {
  for (const [path, text] of Object.entries(contents)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), text);
  }
}

function fn(fields: Partial<StackFunction> & { lang: string; handler: string }): StackFunction {
  return {
    name: "fn",
    image: "fn:latest",
    environment: {},
    secrets: [],
    labels: {},
    annotations: {},
    buildArgs: {},
    buildOptions: [],
    skipBuild: false,
    constraints: [],
    ...fields,
  };
}

const wrap = (f: StackFunction, copy: string[] = [], extra = {}) =>
  shrinkwrap({ repoDir: repo, templatesDir: TEMPLATES, fn: f, copy, outDir: out, ...extra });

describe("shrinkwrap: the faas-cli layout", () => {
  it("node20 → the template at the root, the handler overlaid on function/", async () => {
    await files(join(repo, "api"), { "handler.js": "module.exports = async () => 'mine';\n", "lib/util.js": "//\n" });
    await wrap(fn({ lang: "node20", handler: "./api" }));
    expect(await tree(out)).toEqual({
      ...(await treeUnder(join(TEMPLATES, "node20"), "")),
      ...(await treeUnder(join(repo, "api"), "function")),
    });
    // The template's own function/package.json stays: faas-cli overlays, it does not replace.
    expect(await readFile(join(out, "function", "package.json"), "utf8")).toContain('"name": "function"');
  });

  it("python3 (handler_folder: function) → the handler under function/", async () => {
    await files(join(repo, "py"), { "handler.py": "def handle(req):\n    return req\n", "requirements.txt": "" });
    await wrap(fn({ lang: "python3", handler: "py" }));
    expect(await tree(out)).toEqual({
      ...(await treeUnder(join(TEMPLATES, "python3"), "")),
      ...(await treeUnder(join(repo, "py"), "function")),
    });
  });

  it("a template with handler_folder: src → the handler under src/", async () => {
    const templates = join(work, "templates");
    await files(join(templates, "custom"), {
      "template.yml": "language: custom\nhandler_folder: src\n",
      Dockerfile: "",
    });
    await files(join(repo, "h"), { "main.txt": "x" });
    await shrinkwrap({
      repoDir: repo,
      templatesDir: templates,
      fn: fn({ lang: "custom", handler: "h" }),
      copy: [],
      outDir: out,
    });
    expect(await tree(out)).toEqual({
      ...(await treeUnder(join(templates, "custom"), "")),
      src: "dir",
      "src/main.txt": expect.stringMatching(/^file /),
    });
  });

  it("dockerfile → the handler folder is the whole context, no template files", async () => {
    await files(join(repo, "df"), { Dockerfile: "FROM alpine:3.21\n", "app.sh": "echo hi\n" });
    await wrap(fn({ lang: "dockerfile", handler: "df" }));
    expect(await tree(out)).toEqual(await treeUnder(join(repo, "df"), ""));
  });

  it("dockerfile without a Dockerfile → 400 naming the handler", async () => {
    await files(join(repo, "df"), { "app.sh": "echo hi\n" });
    await expect(wrap(fn({ lang: "dockerfile", handler: "df" }))).rejects.toMatchObject({
      status: 400,
      message: 'function "fn": lang dockerfile needs a Dockerfile in its handler folder "df"',
    });
  });

  it("configuration.copy → each path copied under function/ (or the root for dockerfile)", async () => {
    await files(repo, { "api/handler.js": "//\n", "common/lib/a.js": "a\n", "df/Dockerfile": "FROM x\n" });
    await wrap(fn({ lang: "node20", handler: "api" }), ["./common/lib"]);
    expect(await treeUnder(join(out, "function", "common", "lib"), "")).toEqual(await tree(join(repo, "common/lib")));
    await wrap(fn({ lang: "dockerfile", handler: "df" }), ["common"]);
    expect(await tree(out)).toEqual({
      Dockerfile: expect.any(String),
      common: "dir",
      ...(await treeUnder(join(repo, "common"), "common")),
    });
  });

  it("top-level build/ and template/ in the handler → skipped; nested ones kept", async () => {
    await files(join(repo, "api"), { "handler.js": "//\n", "build/x": "", "template/y": "", "lib/build/z": "z" });
    await wrap(fn({ lang: "node20", handler: "api" }));
    const got = await tree(join(out, "function"));
    expect(Object.keys(got).filter((k) => /^(build|template)\b/.test(k))).toEqual([]);
    expect(got["lib/build/z"]).toMatch(/^file /);
  });

  // Issue #17: kept as a link, ../shared/x.js dangled in the image, where function/ has no ../shared.
  it("a symlink to a file outside the handler but in the repo → a regular file with its content and mode", async () => {
    await files(repo, { "api/handler.js": "//\n", "shared/x.js": "x\n" });
    await chmod(join(repo, "shared", "x.js"), 0o755);
    await symlink("../shared/x.js", join(repo, "api", "x.js"));
    await wrap(fn({ lang: "node20", handler: "api" }));
    const copied = await lstat(join(out, "function", "x.js"));
    expect([copied.isFile(), (copied.mode & 0o777).toString(8)]).toEqual([true, "755"]);
    expect(await readFile(join(out, "function", "x.js"), "utf8")).toBe("x\n");
  });

  it("the output folder → wiped first", async () => {
    await files(join(repo, "api"), { "handler.js": "//\n" });
    await files(out, { stale: "old" });
    await wrap(fn({ lang: "node20", handler: "api" }));
    expect(await lstat(join(out, "stale")).catch(() => undefined)).toBeUndefined();
  });
});

describe("shrinkwrap refuses hostile repos with a 400 and writes nothing outside outDir", () => {
  it.each<[string, StackFunction, string[], RegExp]>([
    [
      "handler: ../../etc",
      fn({ lang: "node20", handler: "../../etc" }),
      [],
      /handler "\.\.\/\.\.\/etc" leaves the repository/,
    ],
    ["handler: /etc", fn({ lang: "node20", handler: "/etc" }), [], /handler "\/etc" must be a path relative/],
    ["handler is a file", fn({ lang: "node20", handler: "api/handler.js" }), [], /is not a folder/],
    [
      "a symlink to /etc/passwd",
      fn({ lang: "node20", handler: "evil" }),
      [],
      /evil\/passwd is a symlink that leaves the repository/,
    ],
    [
      "configuration.copy ../../",
      fn({ lang: "node20", handler: "api" }),
      ["../../"],
      /configuration\.copy "\.\.\/\.\.\/" leaves/,
    ],
    [
      "configuration.copy /etc",
      fn({ lang: "node20", handler: "api" }),
      ["/etc"],
      /configuration\.copy "\/etc" must be a path relative/,
    ],
    [
      "an unknown lang",
      fn({ lang: "cobol", handler: "api" }),
      [],
      /^missing language template: Not supported language: `cobol` for function: `fn`$/,
    ],
    ["lang ../../etc", fn({ lang: "../api", handler: "api" }), [], /Not supported language: `\.\.\/api`/],
    [
      "lang Dockerfile (capital D)",
      fn({ lang: "Dockerfile", handler: "api" }),
      [],
      /Not supported language: `Dockerfile`/,
    ],
  ])("%s → 400", async (_, f, copy, reason) => {
    await files(repo, { "api/handler.js": "//\n", "evil/handler.js": "//\n" });
    await symlink("/etc/passwd", join(repo, "evil", "passwd"));
    const before = await tree(work);
    await expect(wrap(f, copy)).rejects.toMatchObject({ status: 400, message: expect.stringMatching(reason) });
    const after = Object.entries(await tree(work)).filter(([path]) => !path.startsWith("repo/build"));
    expect(Object.fromEntries(after)).toEqual(before);
  });

  it("configuration.copy into a folder the handler made a (dangling) symlink → 400, nothing written through it", async () => {
    // Only a dangling link is copied as a link; once the copy wrote its target, lib/x.js would land there.
    await files(repo, { "api/handler.js": "//\n", "lib/x.js": "x\n" });
    await symlink("../later", join(repo, "api", "lib"));
    await expect(wrap(fn({ lang: "node20", handler: "api" }), ["lib/x.js"])).rejects.toMatchObject({
      status: 400,
      message: 'function "fn": configuration.copy "lib/x.js" would be written through "function/lib", not a folder',
    });
    expect(await lstat(join(repo, "later")).catch(() => undefined)).toBeUndefined();
  });

  it("a committed build -> ../outside symlink → 400 before anything is wiped", async () => {
    await files(work, { "outside/fn/keep": "x", "repo/api/handler.js": "//\n" });
    await symlink("../outside", join(repo, "build"));
    await expect(wrap(fn({ lang: "node20", handler: "api" }))).rejects.toThrow('function "fn": build is not a folder');
    expect(await readdir(join(work, "outside", "fn"))).toEqual(["keep"]);
  });

  it("over maxFiles → 400 naming the cap", async () => {
    await files(join(repo, "api"), { a: "", b: "", c: "" });
    await expect(wrap(fn({ lang: "dockerfile", handler: "api" }), [], { maxFiles: 2 })).rejects.toThrow(
      'function "fn": the build context is over 2 files',
    );
  });

  it("over maxBytes → 400 naming the cap", async () => {
    await files(join(repo, "api"), { Dockerfile: "x".repeat(100) });
    await expect(wrap(fn({ lang: "dockerfile", handler: "api" }), [], { maxBytes: 50 })).rejects.toThrow(
      "over 50 bytes",
    );
  });

  // Issue #10: a push nobody waits for stops copying (checked before each entry).
  it("an aborted signal → rejects with its reason, nothing copied", async () => {
    await files(join(repo, "api"), { "handler.js": "//\n", "lib/util.js": "//\n" });
    const reason = new DOMException("exec_timeout of 1s exceeded", "TimeoutError");
    const signal = AbortSignal.abort(reason);
    await expect(wrap(fn({ lang: "node20", handler: "./api" }), [], { signal })).rejects.toBe(reason);
    expect(await tree(out)).toEqual({});
  });
});

describe("readTemplate and buildArgsFor", () => {
  it("python3 template.yml → language, fprocess, handler_folder and build_options", async () => {
    expect(await readTemplate(TEMPLATES, "python3")).toEqual({
      language: "python3",
      fprocess: "python3 index.py",
      handler_folder: "function",
      build_options: [{ name: "dev", packages: ["make", "gcc"] }],
    });
  });

  const ALLOWED = ["ADDITIONAL_PACKAGE", "GO111MODULE"];
  it.each<[string, Record<string, string>, Partial<StackFunction>]>([
    ["build_options [dev]", { ADDITIONAL_PACKAGE: "make gcc" }, { buildOptions: ["dev"] }],
    [
      "dev plus an ADDITIONAL_PACKAGE build arg",
      { ADDITIONAL_PACKAGE: "make gcc git" },
      { buildOptions: ["dev"], buildArgs: { ADDITIONAL_PACKAGE: "git gcc" } },
    ],
    ["GO111MODULE", { GO111MODULE: "on" }, { buildArgs: { GO111MODULE: "on" } }],
    ["a key off the allow-list", {}, { buildArgs: { PYTHON_IMAGE: "evil:latest" } }],
    ["nothing", {}, {}],
  ])("%s → %j", async (_, expected, fields) => {
    const template = await readTemplate(TEMPLATES, "python3");
    expect(buildArgsFor(fn({ lang: "python3", handler: "py", ...fields }), template, ALLOWED)).toEqual(expected);
  });

  it("a template with several build options → the packages of the one named, not the first", () => {
    const template = {
      language: "t",
      build_options: [
        { name: "dev", packages: ["make"] },
        { name: "imaging", packages: ["libpng"] },
      ],
    };
    expect(buildArgsFor(fn({ lang: "t", handler: "a", buildOptions: ["imaging"] }), template, ALLOWED)).toEqual({
      ADDITIONAL_PACKAGE: "libpng",
    });
  });

  it("an unknown build option → 400 with faas-cli's text", async () => {
    const template = await readTemplate(TEMPLATES, "node20");
    expect(() => buildArgsFor(fn({ lang: "node20", handler: "a", buildOptions: ["dev"] }), template, [])).toThrow(
      "You're using a build option unavailable for node20. Please check /template/node20/template.yml for supported build options",
    );
  });
});

/** Writes a template `lang` under `work/templates` and shrinkwraps `handler` with it. */
async function withTemplate(lang: string, contents: Record<string, string>, handler = "h", copy: string[] = []) {
  const templates = join(work, "templates");
  await files(join(templates, lang), contents);
  return {
    templates,
    run: () => shrinkwrap({ repoDir: repo, templatesDir: templates, fn: fn({ lang, handler }), copy, outDir: out }),
  };
}

describe("readTemplate: a template's own faults", () => {
  it("a template folder without template.yml → 400 naming the template", async () => {
    await files(join(work, "templates", "bare"), { Dockerfile: "" });
    await expect(readTemplate(join(work, "templates"), "bare")).rejects.toMatchObject({
      status: 400,
      message: 'template "bare" has no template.yml',
    });
  });

  it("a template.yml of the wrong shape → 400; an empty one → the folder's name as language", async () => {
    const templates = join(work, "templates");
    await files(templates, { "bad/template.yml": "build_options: dev\n", "empty/template.yml": "" });
    await expect(readTemplate(templates, "bad")).rejects.toMatchObject({
      status: 400,
      message: 'template "bad": template.yml is not valid',
    });
    expect(await readTemplate(templates, "empty")).toEqual({ language: "empty" });
  });

  it("a lang that is a path out of the templates folder → the unknown-language 400, nothing read there", async () => {
    await files(join(work, "templates", "t"), { "template.yml": "language: t\n" });
    await files(join(work, "elsewhere"), { "template.yml": "language: elsewhere\n" });
    await expect(readTemplate(join(work, "templates"), "../elsewhere")).rejects.toMatchObject({
      status: 400,
      message: "missing language template: Not supported language: `../elsewhere`",
    });
  });

  it("a lang naming a file of the templates folder → the unknown-language 400", async () => {
    await files(join(work, "templates"), { notes: "" });
    await expect(readTemplate(join(work, "templates"), "notes")).rejects.toMatchObject({
      status: 400,
      message: "missing language template: Not supported language: `notes`",
    });
  });
});

describe("buildArgsFor: ADDITIONAL_PACKAGE", () => {
  it("blank or space-padded ADDITIONAL_PACKAGE → no empty package names, and no key when nothing is left", async () => {
    const template = await readTemplate(TEMPLATES, "python3");
    const args = (value: string, buildOptions: string[] = []) =>
      buildArgsFor(
        fn({ lang: "python3", handler: "py", buildOptions, buildArgs: { ADDITIONAL_PACKAGE: value } }),
        template,
        ["ADDITIONAL_PACKAGE"],
      );
    expect(args(" ")).toEqual({});
    expect(args("")).toEqual({});
    expect(args("  git  curl ", ["dev"])).toEqual({ ADDITIONAL_PACKAGE: "make gcc git curl" });
  });
});

describe("shrinkwrap: overlaying the handler on the template", () => {
  it("a handler file where the template has a symlink → a file; nothing written through the link", async () => {
    const { run, templates } = await withTemplate("t", {
      "template.yml": "language: t\n",
      "index.js": "template\n",
      "function/keep": "",
    });
    await symlink("../index.js", join(templates, "t", "function", "out"));
    await files(join(repo, "h"), { out: "handler\n" });
    await run();
    expect(await readFile(join(out, "index.js"), "utf8")).toBe("template\n");
    expect((await lstat(join(out, "function", "out"))).isFile()).toBe(true);
    expect(await readFile(join(out, "function", "out"), "utf8")).toBe("handler\n");
  });

  it("a handler folder where the template has a symlink to a folder → a real folder; nothing written through", async () => {
    const { run, templates } = await withTemplate("t", {
      "template.yml": "language: t\n",
      "vendor/v.js": "v",
      "function/keep": "",
    });
    await symlink("../vendor", join(templates, "t", "function", "lib"));
    await files(join(repo, "h"), { "lib/a.js": "a" });
    await run();
    expect(await readdir(join(out, "vendor"))).toEqual(["v.js"]);
    expect((await lstat(join(out, "function", "lib"))).isDirectory()).toBe(true);
    expect(await readdir(join(out, "function", "lib"))).toEqual(["a.js"]);
  });

  it("a handler folder where the template has one → merged, the template's files kept", async () => {
    const { run } = await withTemplate("t", { "template.yml": "language: t\n", "function/lib/t.js": "t" });
    await files(join(repo, "h"), { "lib/h.js": "h" });
    await run();
    expect(await readdir(join(out, "function", "lib"))).toEqual(["h.js", "t.js"]);
  });

  it("a dangling handler symlink where the template has a folder → the link replaces it", async () => {
    const { run } = await withTemplate("t", { "template.yml": "language: t\n", "function/x/t.js": "t" });
    await files(join(repo, "h"), { keep: "" });
    // Dangling, so it is kept as git checked it out rather than followed.
    await symlink("missing", join(repo, "h", "x"));
    await run();
    expect(await readlink(join(out, "function", "x"))).toBe("missing");
  });

  it("a handler file where the template has a folder → the file replaces it", async () => {
    const { run } = await withTemplate("t", { "template.yml": "language: t\n", "function/x/t.js": "t" });
    await files(join(repo, "h"), { x: "file" });
    await run();
    expect(await readFile(join(out, "function", "x"), "utf8")).toBe("file");
  });

  it("a handler symlink to a folder where the template has one → merged as a folder, as faas-cli's copy does", async () => {
    const { run } = await withTemplate("t", { "template.yml": "language: t\n", "function/lib/t.js": "t" });
    await files(join(repo, "h"), { "real/a.js": "a" });
    await symlink("real", join(repo, "h", "lib"));
    await run();
    expect((await lstat(join(out, "function", "lib"))).isDirectory()).toBe(true);
    expect(await readdir(join(out, "function", "lib"))).toEqual(["a.js", "t.js"]);
  });

  it("a template's own symlink → kept as a link (it stays inside the template, copied whole)", async () => {
    const { run, templates } = await withTemplate("t", { "template.yml": "language: t\n", "index.js": "i" });
    await symlink("index.js", join(templates, "t", "main.js"));
    await files(join(repo, "h"), { "a.js": "a" });
    await run();
    expect(await readlink(join(out, "main.js"))).toBe("index.js");
  });

  it("an output folder outside the repo, reached through a symlinked folder → used (only one inside is checked)", async () => {
    // As /tmp is a symlink on some systems: the operator's own path, not the repository's.
    await files(work, { "real/keep": "", "repo/df/Dockerfile": "FROM x\n" });
    await symlink("real", join(work, "link"));
    await shrinkwrap({
      repoDir: repo,
      templatesDir: TEMPLATES,
      fn: fn({ lang: "dockerfile", handler: "df" }),
      copy: [],
      outDir: join(work, "link", "fn"),
    });
    expect(await readdir(join(work, "real", "fn"))).toEqual(["Dockerfile"]);
  });

  it("a template whose handler folder is a symlink → 400, nothing written through it", async () => {
    const { run, templates } = await withTemplate("t", { "template.yml": "language: t\n", "sub/keep": "" });
    await symlink("sub", join(templates, "t", "function"));
    await files(join(repo, "h"), { "a.js": "a" });
    await expect(run()).rejects.toMatchObject({
      status: 400,
      message: 'template "t": handler_folder would be written through "function", not a folder',
    });
    expect(await readdir(join(out, "sub"))).toEqual(["keep"]);
  });

  it("a template whose handler_folder leaves the build context → 400", async () => {
    const { run } = await withTemplate("t", { "template.yml": "language: t\nhandler_folder: ../escape\n" });
    await files(join(repo, "h"), { "a.js": "a" });
    await expect(run()).rejects.toMatchObject({
      status: 400,
      message: 'template "t": handler_folder leaves the build context',
    });
  });

  it("a template symlink that leaves the template → 400 saying it leaves the template, not the repository", async () => {
    const { run, templates } = await withTemplate("t", { "template.yml": "language: t\n" });
    await symlink("../../repo", join(templates, "t", "out"));
    await files(join(repo, "h"), { "a.js": "a" });
    await expect(run()).rejects.toMatchObject({
      status: 400,
      message: 'function "fn": out is a symlink that leaves the template',
    });
  });

  it("file and folder modes → kept (0755, 0644, 0750), not widened", async () => {
    await files(join(repo, "df"), { Dockerfile: "FROM x\n", "run.sh": "#!/bin/sh\n", "dir/a": "" });
    await chmod(join(repo, "df", "run.sh"), 0o755);
    await chmod(join(repo, "df", "Dockerfile"), 0o644);
    await chmod(join(repo, "df", "dir"), 0o750);
    await wrap(fn({ lang: "dockerfile", handler: "df" }));
    const mode = async (path: string) => ((await lstat(join(out, path))).mode & 0o777).toString(8);
    expect([await mode("run.sh"), await mode("Dockerfile"), await mode("dir")]).toEqual(["755", "644", "750"]);
  });
});

describe("shrinkwrap: symlinks, special files and caps", () => {
  it("a symlink to a symlink that leaves the repo → 400, though its own target is inside", async () => {
    await files(repo, { "api/handler.js": "//\n" });
    await symlink("/etc", join(repo, "out"));
    await symlink("../out", join(repo, "api", "a"));
    await expect(wrap(fn({ lang: "node20", handler: "api" }))).rejects.toMatchObject({
      status: 400,
      message: 'function "fn": api/a is a symlink that leaves the repository',
    });
  });

  it("a dangling symlink inside the repo → copied as it is", async () => {
    await files(repo, { "api/handler.js": "//\n" });
    await symlink("../missing.js", join(repo, "api", "gone.js"));
    await wrap(fn({ lang: "node20", handler: "api" }));
    expect(await readlink(join(out, "function", "gone.js"))).toBe("../missing.js");
  });

  it("a socket in the handler → 400 naming it", async () => {
    await files(repo, { "api/handler.js": "//\n" });
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(join(repo, "api", "sock"), resolve));
    try {
      await expect(wrap(fn({ lang: "node20", handler: "api" }))).rejects.toMatchObject({
        status: 400,
        message: 'function "fn": api/sock is not a regular file, folder or symlink',
      });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("configuration.copy of the whole repo (.) → copied once, never into the output folder itself", async () => {
    await files(repo, { "api/Dockerfile": "FROM x\n" });
    await wrap(fn({ lang: "dockerfile", handler: "api" }), ["."]);
    const got = Object.keys(await tree(out));
    expect(got).toEqual(["Dockerfile", "api", "api/Dockerfile", "build"]);
    expect(got.filter((k) => k.startsWith("build/fn"))).toEqual([]);
  });

  it("exactly maxFiles entries and maxBytes bytes → copied (folders count as entries, a followed link as its target)", async () => {
    await files(join(repo, "api"), { Dockerfile: "x".repeat(40), "dir/b": "y".repeat(10) });
    await symlink("Dockerfile", join(repo, "api", "link"));
    await symlink("../gone", join(repo, "api", "z"));
    await wrap(fn({ lang: "dockerfile", handler: "api" }), [], { maxFiles: 5, maxBytes: 90 });
    expect(Object.keys(await tree(out))).toEqual(["Dockerfile", "dir", "dir/b", "link", "z"]);
    await expect(wrap(fn({ lang: "dockerfile", handler: "api" }), [], { maxFiles: 4 })).rejects.toThrow("over 4 files");
    await expect(wrap(fn({ lang: "dockerfile", handler: "api" }), [], { maxBytes: 89 })).rejects.toThrow(
      "over 89 bytes",
    );
  });

  // Issue #17: faas-cli's copy follows every link (os.Stat); git-tar follows those that stay in the checkout, keeps
  // refusing those that leave it (faas-cli would copy the build machine's files), and refuses loops (faas-cli's
  // copy recurses until the path is too long).
  it("a symlink to a folder elsewhere in the repo → a real folder with its files, their own links resolved from there", async () => {
    await files(repo, { "api/handler.js": "//\n", "lib/a.js": "a", "lib/deep/b.js": "b", "vendor/v.js": "v" });
    await symlink("../../vendor/v.js", join(repo, "lib", "deep", "v.js"));
    await symlink("../lib", join(repo, "api", "lib"));
    await wrap(fn({ lang: "node20", handler: "api" }));
    expect(await treeUnder(join(out, "function", "lib"), "lib")).toEqual({
      "lib/a.js": `file ${sha("a")}`,
      "lib/deep": "dir",
      "lib/deep/b.js": `file ${sha("b")}`,
      "lib/deep/v.js": `file ${sha("v")}`,
    });
  });

  it("configuration.copy of a symlinked folder → its target's content under the link's name", async () => {
    await files(repo, { "api/handler.js": "//\n", "shared/s.js": "s" });
    await symlink("shared", join(repo, "common"));
    await wrap(fn({ lang: "node20", handler: "api" }), ["common"]);
    expect(await treeUnder(join(out, "function", "common"), "common")).toEqual({ "common/s.js": `file ${sha("s")}` });
  });

  it("a symlink inside the repo to a link that leaves it → 400, nothing of the target copied", async () => {
    await files(repo, { "api/handler.js": "//\n" });
    await symlink("/etc", join(repo, "etc"));
    await symlink("../etc/hostname", join(repo, "api", "host"));
    await expect(wrap(fn({ lang: "node20", handler: "api" }))).rejects.toMatchObject({
      status: 400,
      message: 'function "fn": api/host is a symlink that leaves the repository',
    });
    expect(await lstat(join(out, "function", "host")).catch(() => undefined)).toBeUndefined();
  });

  it.each<[string, Record<string, string>, string]>([
    ["to its own folder", { "api/self": "." }, "api/self"],
    ["to the repository root", { "api/up": ".." }, "api/up"],
    ["to a folder above, through a folder link", { "api/lib": "../lib", "lib/back": "../api" }, "lib/back"],
    ["to the folder holding it, below the handler", { "api/sub/loop": "." }, "api/sub/loop"],
  ])("a symlink loop %s → 400 naming the link, never copied forever", async (_, links, named) => {
    await files(repo, { "api/handler.js": "//\n", "api/sub/s.js": "s", "lib/l.js": "l" });
    for (const [path, target] of Object.entries(links)) await symlink(target, join(repo, path));
    await expect(wrap(fn({ lang: "node20", handler: "api" }))).rejects.toMatchObject({
      status: 400,
      message: `function "fn": ${named} is a symlink loop: it points at a folder holding it`,
    });
  });

  it("configuration.copy of a folder with a link to the handler → the handler's files copied there, not a loop", async () => {
    await files(repo, { "api/handler.js": "//\n", "shared/s.js": "s" });
    await symlink("../api", join(repo, "shared", "api"));
    await wrap(fn({ lang: "node20", handler: "api" }), ["shared"]);
    expect(await readdir(join(out, "function", "shared", "api"))).toEqual(["handler.js"]);
  });

  it("two links to the same folder, side by side → copied twice, not a loop", async () => {
    await files(repo, { "api/handler.js": "//\n", "lib/l.js": "l" });
    await symlink("../lib", join(repo, "api", "a"));
    await symlink("../lib", join(repo, "api", "b"));
    await wrap(fn({ lang: "node20", handler: "api" }));
    expect(await readdir(join(out, "function", "a"))).toEqual(["l.js"]);
    expect(await readdir(join(out, "function", "b"))).toEqual(["l.js"]);
  });

  it("no caps given → 100 MB: a 100 MB + 1 (sparse) file → 400", async () => {
    await files(join(repo, "api"), { Dockerfile: "" });
    const big = await open(join(repo, "api", "big"), "w");
    await big.truncate(100 * 1024 * 1024 + 1);
    await big.close();
    await expect(wrap(fn({ lang: "dockerfile", handler: "api" }))).rejects.toMatchObject({
      status: 400,
      message: 'function "fn": the build context is over 104857600 bytes',
    });
  });
});
