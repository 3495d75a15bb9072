import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import type { HttpClient } from "isomorphic-git";
import nodeHttp from "isomorphic-git/http/node";
import { promisify } from "node:util";
import { pino } from "pino";
import { startGitServer, type GitServer } from "../../local/git-server/git-server.js";
import { createTemplateStore, parseTemplateUrls } from "./templates.js";

const REFRESH = 60_000;
let server: GitServer;
let cacheDir: string;
let clock: number;
let requests: number;
/** isomorphic-git's node client, counting the requests it makes. */
const http: HttpClient = {
  request: (request) => {
    requests += 1;
    return nodeHttp.request(request);
  },
};

beforeEach(async () => {
  server = await startGitServer();
  cacheDir = await mkdtemp(join(tmpdir(), "templates-"));
  clock = 0;
  requests = 0;
});
afterEach(async () => {
  await server.close();
  await rm(cacheDir, { recursive: true, force: true });
});

const store = () =>
  createTemplateStore({ cacheDir, refreshMs: REFRESH, now: () => clock, http, log: pino({ level: "silent" }) });

/** A template repo on the git server, its `template/<lang>/template.yml` saying `note`. */
async function templateRepo(name: string, langs: Record<string, string>) {
  const repo = await server.createRepo("openfaas", name);
  const files = Object.fromEntries(
    Object.entries(langs).map(([lang, note]) => [`template/${lang}/template.yml`, `language: ${lang}\n# ${note}\n`]),
  );
  await repo.commit({ ...files, "README.md": "templates\n" });
  await repo.push();
  return { repo, url: `${server.url}/openfaas/${name}.git` };
}

const note = async (dir: string, lang: string) =>
  (await readFile(join(dir, lang, "template.yml"), "utf8")).split("# ")[1];

describe("createTemplateStore", () => {
  it("two pulls within refreshMs → one fetch, the same folder, no network the second time", async () => {
    const { url } = await templateRepo("templates", { node20: "v1", python3: "v1" });
    const templates = store();
    const first = await templates.pull([url]);
    expect((await readdir(first)).sort()).toEqual(["node20", "python3"]);
    const afterFirst = requests;
    expect(afterFirst).toBeGreaterThan(0);
    clock += REFRESH - 1;
    expect(await templates.pull([url])).toBe(first);
    expect(requests).toBe(afterFirst);
  });

  it("a pull after refreshMs with a new commit → the new templates; the old folder is left as it was", async () => {
    const { repo, url } = await templateRepo("templates", { node20: "v1" });
    const templates = store();
    const first = await templates.pull([url]);
    await repo.commit({ "template/node20/template.yml": "language: node20\n# v2\n" });
    await repo.push();
    clock += REFRESH;
    const second = await templates.pull([url]);
    expect(second).not.toBe(first);
    expect(await note(second, "node20")).toBe("v2\n");
    expect(await note(first, "node20")).toBe("v1\n");
  });

  it("a pull after refreshMs with HEAD unchanged → one request for the refs, the same folder", async () => {
    const { url } = await templateRepo("templates", { node20: "v1" });
    const templates = store();
    const first = await templates.pull([url]);
    const afterFirst = requests;
    clock += REFRESH;
    expect(await templates.pull([url])).toBe(first);
    expect(requests).toBe(afterFirst + 1);
  });

  it("concurrent pulls of one URL → one fetch", async () => {
    const { url } = await templateRepo("templates", { node20: "v1" });
    await store().pull([url]);
    const single = requests;
    await rm(cacheDir, { recursive: true, force: true });
    requests = 0;
    const templates = store();
    const [a, b] = await Promise.all([templates.pull([url]), templates.pull([url])]);
    expect(a).toBe(b);
    expect(requests).toBe(single);
  });

  it("two repos → later URLs override earlier ones, lang by lang", async () => {
    const base = await templateRepo("templates", { node20: "official", python3: "official" });
    const custom = await templateRepo("custom", { python3: "custom", golang: "custom" });
    const templates = store();
    const merged = await templates.pull([base.url, custom.url]);
    expect((await readdir(merged)).sort()).toEqual(["golang", "node20", "python3"]);
    expect(await note(merged, "python3")).toBe("custom\n");
    expect(await note(merged, "node20")).toBe("official\n");
    expect(await note(await templates.pull([custom.url, base.url]), "python3")).toBe("official\n");
  });

  it("the test fixtures pushed as a repo → node20, node24, python3 and dockerfile, byte for byte", async () => {
    const fixtures = join(dirname(fileURLToPath(import.meta.url)), "../../local/templates");
    const paths = (await readdir(fixtures, { recursive: true, withFileTypes: true })).filter((e) => e.isFile());
    const files: Record<string, Buffer> = {};
    for (const entry of paths) {
      const path = join(entry.parentPath, entry.name);
      files[relative(fixtures, path)] = await readFile(path);
    }
    const repo = await server.createRepo("openfaas", "templates");
    await repo.commit(files);
    await repo.push();
    const dir = await store().pull([`${server.url}/openfaas/templates.git`]);
    expect((await readdir(dir)).sort()).toEqual(["dockerfile", "node20", "node24", "python3"]);
    for (const [path, content] of Object.entries(files)) {
      expect(await readFile(join(dir, relative("template", path)))).toEqual(content);
    }
  });

  it("an unreachable repo → an error naming it", async () => {
    const missing = `${server.url}/openfaas/missing.git`;
    await expect(store().pull([missing])).rejects.toThrow(new RegExp(`^${missing}, `));
  });

  it("a refresh that fails → the cached commit is still used", async () => {
    const { url } = await templateRepo("templates", { node20: "v1" });
    const templates = store();
    const first = await templates.pull([url]);
    await server.close();
    clock += REFRESH;
    expect(await templates.pull([url])).toBe(first);
    server = await startGitServer();
  });
});

// Issue #17: a stack's configuration.templates, pulled through the same store (faas-cli's `template pull <source>
// --name`): only the named template of the source, under that name, over the operator's of that name.
describe("createTemplateStore: a stack's templates", () => {
  const run = promisify(execFile);

  it("a source at its HEAD → only the named template of it, over the operator's; the operator's others kept", async () => {
    const base = await templateRepo("templates", { node20: "official", python3: "official" });
    const mine = await templateRepo("mine", { node20: "mine", golang: "mine" });
    const merged = await store().pull([base.url], [{ name: "node20", url: mine.url }]);
    expect((await readdir(merged)).sort()).toEqual(["node20", "python3"]);
    expect(await note(merged, "node20")).toBe("mine\n");
    expect(await note(merged, "python3")).toBe("official\n");
  });

  it("#<branch> and #<annotated tag> → the template as of that ref, not HEAD's", async () => {
    const base = await templateRepo("templates", { node20: "official" });
    const mine = await templateRepo("mine", { golang: "v1" });
    await mine.repo.push({ branch: "stable" });
    await run("git", ["-C", mine.repo.dir, "tag", "-a", "1.0", "-m", "1.0"]);
    await run("git", ["-C", mine.repo.dir, "push", "-q", "origin", "1.0"]);
    await mine.repo.commit({ "template/golang/template.yml": "language: golang\n# head\n" });
    await mine.repo.push();
    const templates = store();
    const at = async (ref?: string) =>
      note(await templates.pull([base.url], [{ name: "golang", url: mine.url, ...(ref ? { ref } : {}) }]), "golang");
    expect([await at("stable"), await at("1.0"), await at()]).toEqual(["v1\n", "v1\n", "head\n"]);
  });

  it("the operator's set alone → the same folder as before a stack's template was pulled beside it", async () => {
    const base = await templateRepo("templates", { node20: "official" });
    const mine = await templateRepo("mine", { node20: "mine" });
    const templates = store();
    const plain = await templates.pull([base.url]);
    const withMine = await templates.pull([base.url], [{ name: "node20", url: mine.url }]);
    expect(withMine).not.toBe(plain);
    expect(await templates.pull([base.url])).toBe(plain);
    expect(await note(plain, "node20")).toBe("official\n");
  });

  it("a source without the template it is named for → 400 naming the template and the source", async () => {
    const base = await templateRepo("templates", { node20: "official" });
    const mine = await templateRepo("mine", { golang: "mine" });
    await expect(store().pull([base.url], [{ name: "rust", url: mine.url }])).rejects.toMatchObject({
      status: 400,
      message: `configuration.templates "rust": ${mine.url} has no template/rust`,
    });
  });

  it("a branch or tag the source does not have → 400 naming the template, the source and the ref", async () => {
    const base = await templateRepo("templates", { node20: "official" });
    const mine = await templateRepo("mine", { golang: "mine" });
    await expect(store().pull([base.url], [{ name: "golang", url: mine.url, ref: "nope" }])).rejects.toMatchObject({
      status: 400,
      message: `configuration.templates "golang": ${mine.url} has no branch or tag nope`,
    });
  });
});

describe("parseTemplateUrls", () => {
  const OFFICIAL = "https://github.com/openfaas/templates";
  it.each<[string, string[], string]>([
    ["no custom templates", [OFFICIAL], ""],
    [
      "two, with spaces",
      [OFFICIAL, "https://a.example/t.git", "http://b.example/t"],
      " https://a.example/t.git , http://b.example/t ",
    ],
    ["a trailing comma", [OFFICIAL, "https://a.example/t.git"], "https://a.example/t.git,"],
  ])("%s → %j", (_, expected, custom) => {
    expect(parseTemplateUrls(OFFICIAL, custom)).toEqual(expected);
  });

  it.each(["ftp://a.example/t.git", "git@github.com:o/t.git", "not a url", "file:///etc"])(
    "%s → 400 with the original's text",
    (bad) => {
      expect(() => parseTemplateUrls(OFFICIAL, `https://ok.example/t,${bad}`)).toThrow(
        `Non-valid template URL is configured in custom_templates: ${bad}`,
      );
    },
  );
});
