import { randomBytes } from "node:crypto";
import { lstat, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { unpackBuildContext } from "../../shared/build-tar.js";
import type { PendingBuild } from "../../shared/pending-builds.js";
import { startGitTar } from "../../test/support/git-tar-harness.js";

let h: Awaited<ReturnType<typeof startGitTar>>;

/** A TCP listener on 127.0.0.1 that counts the connections it gets (standing for a host no request may reach). */
async function startListener() {
  let connections = 0;
  const server = createServer((socket) => {
    connections++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    connections: () => connections,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
afterEach(() => h.close());

const nodeFn = { "api/handler.js": "module.exports = async () => 'hi';\n", "api/package.json": '{"name":"api"}\n' };
const pyFn = {
  "worker/handler.py": "def handle(event, context):\n    return {'statusCode': 200}\n",
  "worker/requirements.txt": "",
};
const stack = (functions: string, extra = "") =>
  `version: 1.0\nprovider:\n  name: openfaas\n${extra}functions:\n${functions}`;
const twoFunctions = stack(
  `  api:\n    lang: node20\n    handler: ./api\n    image: api:latest\n    environment:\n      MODE: prod\n    secrets: [db-password]\n    labels:\n      team: web\n    annotations:\n      topic: orders\n` +
    `  worker:\n    lang: python3\n    handler: ./worker\n    image: worker:latest\n    build_options: [dev]\n`,
);

async function pushRepo(
  owner: string,
  repo: string,
  files: Parameters<Awaited<ReturnType<typeof h.git.createRepo>>["commit"]>[0],
  options: { private?: boolean } = {},
) {
  const r = await h.git.createRepo(owner, repo, options);
  const sha = await r.commit(files);
  await r.push();
  return { r, sha };
}

describe("git-tar: a stack that builds", () => {
  it("two functions → pending per function, both tars to buildshiprun, garbage-collect, stack success, workspace removed", async () => {
    h = await startGitTar();
    const { sha } = await pushRepo("alice", "fns", { "stack.yml": twoFunctions, ...nodeFn, ...pyFn });
    const res = await h.build("alice", "fns", sha);
    expect(res.status).toBe(200);
    // The queue's callback to github-push reads this: the commit already has its terminal status.
    expect(res.headers["x-ofc-status-posted"]).toBe("true");
    expect(res.data).toMatch(
      /^Deployed: api @ 127\.0\.0\.1:5000\/alice\/fns--api:latest-[0-9a-f]{7}, worker @ .*, time taken: [\d.]+s$/,
    );
    const sha7 = sha.slice(0, 7);
    expect(h.statuses()).toEqual([
      {
        context: "api",
        state: "pending",
        description: `api function build started, image: 127.0.0.1:5000/alice/fns--api:latest-${sha7}`,
      },
      {
        context: "worker",
        state: "pending",
        description: `worker function build started, image: 127.0.0.1:5000/alice/fns--worker:latest-${sha7}`,
      },
      { context: "stack-deploy", state: "success", description: "stack is successfully deployed" },
    ]);
    const api = h.received.find((r) => r.deploy.function === "api")!;
    expect(api.ref).toBe(`127.0.0.1:5000/alice/fns--api:latest-${sha7}`);
    expect(api.deploy).toMatchObject({
      owner: "alice",
      service: "alice--api",
      environment: { MODE: "prod" },
      secrets: ["alice--db-password"],
      labels: { team: "web" },
      annotations: { topic: "orders" },
      sha,
    });
    const worker = h.received.find((r) => r.deploy.function === "worker")!;
    expect(worker.buildArgs).toEqual({ ADDITIONAL_PACKAGE: "make gcc" });
    expect(h.collected).toEqual([
      { functions: ["alice--api", "alice--worker"], repo: "fns", owner: "alice", ownerId: 1001 },
    ]);
    expect(await readdir(h.workRoot)).toEqual([]);

    // The tar is what of-builder unpacks: the node template with the handler under function/.
    const dir = await mkdtemp(join(tmpdir(), "unpacked-"));
    try {
      const tarFile = join(dir, "api.tar");
      await import("node:fs/promises").then((fs) => fs.writeFile(tarFile, api.tar));
      const { contextDir } = await unpackBuildContext(tarFile, join(dir, "out"));
      expect((await readdir(contextDir)).sort()).toEqual([
        "Dockerfile",
        "function",
        "index.js",
        "package.json",
        "template.yml",
      ]);
      expect(await readFile(join(contextDir, "function", "handler.js"), "utf8")).toBe(nodeFn["api/handler.js"]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("a 4 MB folder no function uses (issue #16) → the stack builds from the paths it names", async () => {
    h = await startGitTar();
    const unused = { "assets/a.bin": randomBytes(2 * 1024 * 1024), "assets/b.bin": randomBytes(2 * 1024 * 1024) };
    const { sha } = await pushRepo("alice", "fns", { "stack.yml": twoFunctions, ...nodeFn, ...pyFn, ...unused });
    const res = await h.build("alice", "fns", sha);
    expect(res.status).toBe(200);
    expect(h.statuses().at(-1)).toMatchObject({ context: "stack-deploy", state: "success" });
    expect(h.received.map((r) => r.deploy.function).sort()).toEqual(["api", "worker"]);
  });

  it("private repo → cloned with the installation token, builds", async () => {
    h = await startGitTar();
    const { sha } = await pushRepo(
      "alice",
      "secret-fns",
      { "stack.yml": stack(`  api:\n    lang: node20\n    handler: ./api\n    image: api\n`), ...nodeFn },
      { private: true },
    );
    const res = await h.build("alice", "secret-fns", sha, { private: true });
    expect(res.status).toBe(200);
    expect(h.received).toHaveLength(1);
    expect(h.standin.tokensIssued).toBeGreaterThan(0);
  });

  it("a private repo the request calls public (no token sent) → failure naming the refusal, nothing built", async () => {
    h = await startGitTar();
    const { sha } = await pushRepo(
      "alice",
      "secret-fns",
      { "stack.yml": twoFunctions, ...nodeFn, ...pyFn },
      { private: true },
    );
    const res = await h.build("alice", "secret-fns", sha, { private: false });
    expect(res.status).toBe(422);
    expect(h.received).toHaveLength(0);
    expect(h.statuses()).toEqual([
      {
        context: "stack-deploy",
        state: "failure",
        description: expect.stringMatching(/^unable to clone .*: authentication refused$/),
      },
    ]);
  });

  // Issue #10: the installation token goes to github_url only, whatever a payload says.
  it("a payload naming a foreign clone URL → cloned from github_url; the foreign host gets no connection", async () => {
    h = await startGitTar();
    const foreign = await startListener();
    try {
      const { sha } = await pushRepo(
        "alice",
        "secret-fns",
        { "stack.yml": twoFunctions, ...nodeFn, ...pyFn },
        {
          private: true,
        },
      );
      const elsewhere = `${foreign.url}/alice/secret-fns.git`;
      const res = await h.build("alice", "secret-fns", sha, {
        private: true,
        cloneUrl: elsewhere,
        clone_url: elsewhere,
        url: elsewhere,
      });
      // A private repo built: the token went to the configured host, which let the clone through.
      expect(res.status).toBe(200);
      expect(h.received).toHaveLength(2);
      expect(foreign.connections()).toBe(0);
    } finally {
      await foreign.close();
    }
  });

  it("a push that is no longer the branch tip → superseded (error status), nothing built", async () => {
    h = await startGitTar();
    const { r, sha } = await pushRepo("alice", "fns", { "stack.yml": twoFunctions, ...nodeFn, ...pyFn });
    const newer = await r.commit({ "README.md": "newer\n" });
    await r.push();
    const res = await h.build("alice", "fns", sha);
    expect(res.status).toBe(200);
    expect(h.statuses()).toEqual([
      { context: "stack-deploy", state: "error", description: `superseded by a newer push: ${newer.slice(0, 7)}` },
    ]);
    expect(h.received).toHaveLength(0);
  });

  it("dockerfile function with enable_dockerfile_lang → handler copied straight into the context", async () => {
    h = await startGitTar({ enableDockerfileLang: true });
    const { sha } = await pushRepo("alice", "fns", {
      "stack.yml": stack(`  box:\n    lang: dockerfile\n    handler: ./box\n    image: box\n`),
      "box/Dockerfile": "FROM scratch\n",
    });
    expect((await h.build("alice", "fns", sha)).status).toBe(200);
    expect(h.received[0]!.deploy.service).toBe("alice--box");
  });

  it("buildshiprun reports one function failed → stack failure naming it, no garbage collection", async () => {
    h = await startGitTar({ failFunctions: ["worker"] });
    const { sha } = await pushRepo("alice", "fns", { "stack.yml": twoFunctions, ...nodeFn, ...pyFn });
    const res = await h.build("alice", "fns", sha);
    expect(res.status).toBe(422);
    expect(h.statuses().at(-1)).toEqual({
      context: "stack-deploy",
      state: "failure",
      description: "deploy failed: worker failed to be deployed via buildshiprun",
    });
    expect(h.collected).toHaveLength(0);
  });

  it("buildshiprun could not post a function's status (GitHub refused every retry) → git-tar posts it, then the stack's", async () => {
    h = await startGitTar({ unpostedFunctions: ["worker"] });
    const { sha } = await pushRepo("alice", "fns", { "stack.yml": twoFunctions, ...nodeFn, ...pyFn });
    expect((await h.build("alice", "fns", sha)).status).toBe(200);
    // The stand-in posts nothing itself: "api" has only its pending status, "worker" the one git-tar posted for it.
    expect(h.statuses().filter((s) => s.state !== "pending")).toEqual([
      { context: "worker", state: "success", description: "deployed: alice--worker" },
      { context: "stack-deploy", state: "success", description: "stack is successfully deployed" },
    ]);
  });

  it("system_public_url set → stack-deploy links the owner's dashboard, each pending function its build page", async () => {
    h = await startGitTar({ systemPublicUrl: "https://system.example.com" });
    const { sha } = await pushRepo("alice", "fns", { "stack.yml": twoFunctions, ...nodeFn, ...pyFn });
    expect((await h.build("alice", "fns", sha)).status).toBe(200);
    const build = (fn: string) => `https://system.example.com/dashboard/alice/builds/fns/${sha}/${fn}`;
    expect(h.standin.statuses().map((s) => [s.context, s.state, s.target_url])).toEqual([
      ["api", "pending", build("api")],
      ["worker", "pending", build("worker")],
      ["stack-deploy", "success", "https://system.example.com/dashboard/alice"],
    ]);
    // The page the pending status links has a record from the start (buildshiprun, a stand-in here, replaces it).
    expect(await h.history.get({ owner: "alice", repo: "fns", sha, function: "api" })).toMatchObject({
      state: "running",
      branch: "master",
    });
  });

  it("buildshiprun answers 500 for a function → its failure links its build page, whose record says why", async () => {
    h = await startGitTar({ systemPublicUrl: "https://system.example.com", brokenFunctions: ["worker"] });
    const { sha } = await pushRepo("alice", "fns", { "stack.yml": twoFunctions, ...nodeFn, ...pyFn });
    expect((await h.build("alice", "fns", sha)).status).toBe(422);
    const worker = h.standin.statuses().find((s) => s.context === "worker" && s.state === "failure");
    expect(worker?.target_url).toBe(`https://system.example.com/dashboard/alice/builds/fns/${sha}/worker`);
    expect(await h.history.get({ owner: "alice", repo: "fns", sha, function: "worker" })).toMatchObject({
      state: "failure",
      branch: "master",
      reason: "buildshiprun answered 500: internal error",
    });
    expect(h.standin.statuses().at(-1)).toMatchObject({
      context: "stack-deploy",
      state: "failure",
      target_url: "https://system.example.com/dashboard/alice",
    });
  });

  it("system_public_url unset → no links on git-tar's statuses (as before the dashboard)", async () => {
    h = await startGitTar({ brokenFunctions: ["worker"] });
    const { sha } = await pushRepo("alice", "fns", { "stack.yml": twoFunctions, ...nodeFn, ...pyFn });
    await h.build("alice", "fns", sha);
    expect(h.standin.statuses().map((s) => s.target_url)).toEqual([null, null, null, null]);
  });

  it("bad signature → 401, no status", async () => {
    h = await startGitTar();
    const res = await h.build("alice", "fns", "a".repeat(40), {}, "sha256=00");
    expect(res.status).toBe(401);
    expect(h.statuses()).toEqual([]);
    // Nothing was reported, so github-push's /build-result posts the error when the queue calls back.
    expect(res.headers["x-ofc-status-posted"]).toBeUndefined();
  });

  it("GitHub down when the final status is due → the answer does not claim it was posted", async () => {
    h = await startGitTar();
    const { sha } = await pushRepo("alice", "fns", { "stack.yml": twoFunctions, ...nodeFn, ...pyFn });
    h.standin.failNext("statuses", 500, 1000);
    const res = await h.build("alice", "fns", sha);
    expect(res.status).toBe(200);
    expect(res.headers["x-ofc-status-posted"]).toBeUndefined();
  });
});

// Issue #17: a stack's configuration.templates from an allowed source, and a symlink out of the handler folder.
describe("git-tar: faas-cli's stack templates and symlinks", () => {
  const api = `  api:\n    lang: node20\n    handler: ./api\n    image: api\n`;
  const templates = (source: string) => `configuration:\n  templates:\n    - name: node20\n      source: ${source}\n`;

  async function contextOf(tar: Buffer, read: (contextDir: string) => Promise<unknown>) {
    const dir = await mkdtemp(join(tmpdir(), "unpacked-"));
    try {
      await writeFile(join(dir, "api.tar"), tar);
      return await read((await unpackBuildContext(join(dir, "api.tar"), join(dir, "out"))).contextDir);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  it("an allowed source at a branch → built on its template; a link to a file beside the handler → that file", async () => {
    h = await startGitTar();
    const tpl = await h.git.createRepo("acme", "tpl");
    await tpl.commit({
      "template/node20/template.yml": "language: node20\n",
      "template/node20/Dockerfile": "FROM scratch\n",
      "template/node20/MARK": "acme\n",
    });
    await tpl.push({ branch: "stable" });
    // HEAD has moved on: the branch named is what builds.
    await tpl.commit({ "template/node20/MARK": "head\n" });
    await tpl.push();
    h.deps.templateSourcesAllowed = [`${h.git.url}/acme/`];
    const { sha } = await pushRepo("alice", "fns", {
      "stack.yml": stack(api, templates(`${h.git.url}/acme/tpl.git#stable`)),
      ...nodeFn,
      "shared/util.js": "util\n",
      "api/util.js": { symlink: "../shared/util.js" },
    });
    const res = await h.build("alice", "fns", sha);
    expect([res.status, h.statuses().at(-1)]).toEqual([200, expect.objectContaining({ state: "success" })]);
    const seen = await contextOf(h.received[0]!.tar, async (dir) => [
      (await readdir(dir)).sort(),
      await readFile(join(dir, "MARK"), "utf8"),
      (await lstat(join(dir, "function", "util.js"))).isFile(),
      await readFile(join(dir, "function", "util.js"), "utf8"),
    ]);
    expect(seen).toEqual([["Dockerfile", "MARK", "function", "template.yml"], "acme\n", true, "util\n"]);
  });

  it("an allowed source without the branch named → failure naming the source and the ref, nothing built", async () => {
    h = await startGitTar();
    const source = `${h.git.url}/openfaas/templates.git`;
    const { sha } = await pushRepo("alice", "fns", { "stack.yml": stack(api, templates(`${source}#nope`)), ...nodeFn });
    const res = await h.build("alice", "fns", sha);
    expect(res.status).toBe(422);
    expect(h.statuses()).toEqual([
      {
        context: "stack-deploy",
        state: "failure",
        description: `configuration.templates "node20": ${source} has no branch or tag nope`,
      },
    ]);
    expect(h.received).toHaveLength(0);
  });
});

describe("git-tar: refused repositories → failure status on stack-deploy, nothing built, workspace removed", () => {
  const fn = (name: string, handler: string, lang = "node20") =>
    `  ${name}:\n    lang: ${lang}\n    handler: ${handler}\n    image: ${name}\n`;
  const cases: Array<[string, Record<string, string | Buffer | { symlink: string }>, RegExp]> = [
    ["no stack.yml", { "README.md": "hi\n" }, /^unable to find stack\.yml$/],
    ["handler ../../etc", { "stack.yml": stack(fn("api", "../../etc")) }, /handler.*leaves the repository/],
    [
      "absolute handler",
      { "stack.yml": stack(fn("api", "/etc")) },
      /handler.*must be a path relative to the repository/,
    ],
    [
      "symlink to /etc/passwd inside the handler",
      { "stack.yml": stack(fn("api", "./api")), ...nodeFn, "api/passwd": { symlink: "/etc/passwd" } },
      /symlink that leaves the repository/,
    ],
    [
      "configuration.copy escaping the repo",
      { "stack.yml": stack(fn("api", "./api"), "configuration:\n  copy:\n    - ../../\n"), ...nodeFn },
      /leaves the repository/,
    ],
    [
      "50 functions",
      { "stack.yml": stack(Array.from({ length: 50 }, (_, i) => fn(`f${i}`, "./api")).join("")), ...nodeFn },
      /^too many functions in stack\.yml: 50, the limit is 5$/,
    ],
    [
      "a template/ folder",
      { "stack.yml": stack(fn("api", "./api")), ...nodeFn, "template/x/template.yml": "language: x\n" },
      /^unsupported custom "templates" folder$/,
    ],
    [
      "dockerfile lang while disabled",
      { "stack.yml": stack(fn("box", "./box", "dockerfile")), "box/Dockerfile": "FROM scratch\n" },
      /^detected a dockerfile function but feature is not enabled$/,
    ],
    // Issue #17: configuration.templates is honoured only from template_sources_allowed (default: the operator's).
    [
      "configuration.templates from a source off template_sources_allowed",
      {
        "stack.yml": stack(
          fn("api", "./api"),
          "configuration:\n  templates:\n    - name: node20\n      source: https://evil.example/t.git#main\n",
        ),
        ...nodeFn,
      },
      /^configuration\.templates "node20": source not in template_sources_allowed: https:\/\/evil\.example\/t\.git$/,
    ],
    [
      "an unknown lang",
      { "stack.yml": stack(fn("api", "./api", "smalltalk")), ...nodeFn },
      /^missing language template: Not supported language: `smalltalk` for function: `api`/,
    ],
    [
      "provider faas",
      { "stack.yml": "provider:\n  name: faas\nfunctions:\n" + fn("api", "./api") },
      /is the only valid "provider.name"/,
    ],
    [
      "a function name that is not DNS-1123",
      { "stack.yml": stack(fn("My_Fn", "./api")), ...nodeFn },
      /must be a DNS-1123 label/,
    ],
    // Issue #10: alice's "bob-api" deploys as alice--bob-api; "bob--api" could only be asking for bob's name.
    [
      'a function name with "--"',
      { "stack.yml": stack(fn("api", "./api") + fn("bob--api", "./api")), ...nodeFn },
      /^function name "bob--api" must not contain "--": it separates the owner from the name/,
    ],
    [
      'a secret name with "--"',
      { "stack.yml": stack(fn("api", "./api") + "    secrets: [bob--db]\n"), ...nodeFn },
      /^secret name "bob--db" must not contain "--"/,
    ],
    [
      "two functions whose names differ only in case",
      { "stack.yml": stack(fn("api", "./api") + fn("API", "./api")), ...nodeFn },
      /^functions "api" and "API" both deploy as alice--api$/,
    ],
    [
      "owner and function name together over 63 characters",
      { "stack.yml": stack(fn("f".repeat(58), "./api")), ...nodeFn },
      /^function name "alice--f{58}" must be a DNS-1123 label/,
    ],
  ];

  it.each(cases)("%s → failure", async (_, files, message) => {
    h = await startGitTar();
    const { sha } = await pushRepo("alice", "hostile", files);
    const res = await h.build("alice", "hostile", sha);
    expect(res.status).toBe(422);
    expect(res.headers["x-ofc-status-posted"]).toBe("true");
    expect(h.statuses()).toEqual([
      { context: "stack-deploy", state: "failure", description: expect.stringMatching(message) },
    ]);
    expect(h.received).toHaveLength(0);
    expect(await readdir(h.workRoot)).toEqual([]);
  });

  it("a 200 MB file (over the 100 MB cap) → failure naming the limit, nothing built, workspace removed", async () => {
    h = await startGitTar();
    const { sha } = await pushRepo("alice", "big", {
      "stack.yml": stack(fn("api", "./api")),
      ...nodeFn,
      "api/blob.bin": Buffer.alloc(200 * 1024 * 1024),
    });
    const res = await h.build("alice", "big", sha);
    expect(res.status).toBe(422);
    expect(h.statuses()).toEqual([
      { context: "stack-deploy", state: "failure", description: "repository is larger than the 100 MB limit" },
    ]);
    expect(await readdir(h.workRoot)).toEqual([]);
  }, 120_000);

  it("a force-pushed branch whose SHA is gone → failure naming the commit", async () => {
    h = await startGitTar();
    const { r, sha: first } = await pushRepo("alice", "fns", { "stack.yml": twoFunctions, ...nodeFn, ...pyFn });
    const second = await r.commit({ "README.md": "soon gone\n" });
    await r.push();
    await r.resetHard(first);
    await r.commit({ "README.md": "rewritten\n" });
    await r.push({ force: true });
    const res = await h.build("alice", "fns", second);
    expect(res.status).toBe(422);
    expect(h.statuses().at(-1)?.description).toMatch(
      new RegExp(`commit ${second.slice(0, 7)} is not on branch master`),
    );
  });
});

describe("git-tar: the pending-build record build-reaper reads (issue #11)", () => {
  const ref = (sha: string) => ({ owner: "alice", repo: "fns", sha });
  const accepted = "2026-01-01T00:00:00.000Z";
  const seed = (sha: string) => h.pending.put({ ...ref(sha), ownerId: 1001, installationId: 1, acceptedAt: accepted });

  it("while buildshiprun builds → heartbeats naming the pending functions, acceptedAt kept; removed after success", async () => {
    const seen: PendingBuild[] = [];
    let sha = "";
    const beats = () => new Set(seen.map((r) => r.heartbeatAt)).size;
    h = await startGitTar({
      heartbeatMs: 50,
      // git-tar waits on buildshiprun here: watch the record until it has been rewritten a few times.
      whileBuilding: async () => {
        for (const end = Date.now() + 10_000; beats() < 3 && Date.now() < end;) {
          const record = await h.pending.get(ref(sha));
          if (record) seen.push(record);
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      },
    });
    ({ sha } = await pushRepo("alice", "fns", { "stack.yml": twoFunctions, ...nodeFn, ...pyFn }));
    await seed(sha);
    const started = Date.now();
    expect((await h.build("alice", "fns", sha)).status).toBe(200);
    expect(h.statuses().at(-1)).toMatchObject({ context: "stack-deploy", state: "success" });
    expect(beats()).toBeGreaterThanOrEqual(3);
    // Before any function is handed to buildshiprun, the record names the contexts git-tar marked pending.
    expect([...seen[0]!.functions!].sort()).toEqual(["api", "worker"]);
    for (const record of seen) {
      expect(record.acceptedAt).toBe(accepted);
      expect(Date.parse(record.heartbeatAt!)).toBeGreaterThanOrEqual(started - 1000);
    }
    expect(await h.pending.get(ref(sha))).toBeUndefined();
  });

  it("a build refused (failure) → its terminal status posted, the record removed", async () => {
    h = await startGitTar();
    const { sha } = await pushRepo("alice", "fns", {
      "stack.yml": stack(`  x:\n    lang: dockerfile\n    handler: ./x\n    image: x\n`),
    });
    await seed(sha);
    const res = await h.build("alice", "fns", sha);
    expect([res.status, res.headers["x-ofc-status-posted"]]).toEqual([422, "true"]);
    expect(await h.pending.get(ref(sha))).toBeUndefined();
  });

  it("a build superseded (error) → its terminal status posted, the record removed", async () => {
    h = await startGitTar();
    const { r, sha } = await pushRepo("alice", "fns", { "stack.yml": twoFunctions, ...nodeFn, ...pyFn });
    await r.commit({ "README.md": "newer\n" });
    await r.push();
    await seed(sha);
    const res = await h.build("alice", "fns", sha);
    expect(res.headers["x-ofc-status-posted"]).toBe("true");
    expect(h.statuses().at(-1)).toMatchObject({ context: "stack-deploy", state: "error" });
    expect(await h.pending.get(ref(sha))).toBeUndefined();
  });

  it("no record from github-push (S3 hiccup then) → the heartbeat writes one; removed at the end", async () => {
    h = await startGitTar({
      heartbeatMs: 50,
      whileBuilding: () => new Promise((resolve) => setTimeout(resolve, 300)),
    });
    const { sha } = await pushRepo("alice", "fns", { "stack.yml": twoFunctions, ...nodeFn, ...pyFn });
    const building = h.build("alice", "fns", sha);
    let seen;
    while (!seen) seen = await h.pending.get(ref(sha));
    expect(seen).toMatchObject({ ...ref(sha), ownerId: 1001, installationId: 1, heartbeatAt: expect.any(String) });
    expect((await building).status).toBe(200);
    expect(await h.pending.get(ref(sha))).toBeUndefined();
  });

  it("GitHub refuses the terminal status → the record stays, with its heartbeat, for build-reaper", async () => {
    h = await startGitTar();
    const { sha } = await pushRepo("alice", "fns", { "stack.yml": twoFunctions, ...nodeFn, ...pyFn });
    await seed(sha);
    h.standin.failNext("statuses", 500, 1000);
    expect((await h.build("alice", "fns", sha)).status).toBe(200);
    expect(await h.pending.get(ref(sha))).toMatchObject({ acceptedAt: accepted, heartbeatAt: expect.any(String) });
  });

  it("S3 down → the build still deploys and ends in success", async () => {
    h = await startGitTar();
    const { sha } = await pushRepo("alice", "fns", { "stack.yml": twoFunctions, ...nodeFn, ...pyFn });
    await h.s3.close();
    expect((await h.build("alice", "fns", sha)).status).toBe(200);
    expect(h.statuses().at(-1)).toMatchObject({ context: "stack-deploy", state: "success" });
  });
});

// Issue #17: git-tar's check runs end with the push, whatever the end, and stay beside the statuses.
describe("git-tar: check runs with use_checks", () => {
  const runs = () => h.standin.checkRuns().map((r) => [r.name, r.status, r.conclusion, r.output?.title]);

  it("no run id handed over, a custom templates folder → stack-deploy found-or-created, completed failure; no function runs", async () => {
    h = await startGitTar({ useChecks: true });
    const { sha } = await pushRepo("alice", "fns", { "stack.yml": twoFunctions, ...nodeFn, "template/x/y": "z\n" });
    expect((await h.build("alice", "fns", sha)).status).toBe(422);
    expect(runs()).toEqual([["stack-deploy", "completed", "failure", 'unsupported custom "templates" folder']]);
    expect(h.standin.checkRuns()[0]!.updates.map((u) => u.status)).toEqual(["queued", "in_progress", "completed"]);
  });

  it("a push that is no longer the branch tip → stack-deploy cancelled, not failed", async () => {
    h = await startGitTar({ useChecks: true });
    const { r, sha } = await pushRepo("alice", "fns", { "stack.yml": twoFunctions, ...nodeFn, ...pyFn });
    await r.commit({ "README.md": "newer\n" });
    await r.push();
    await h.build("alice", "fns", sha);
    expect(runs()).toEqual([["stack-deploy", "completed", "cancelled", expect.stringMatching(/^superseded by/)]]);
  });

  it("buildshiprun answering 500 for worker → worker's run completed failure by git-tar; api's left to buildshiprun", async () => {
    h = await startGitTar({ useChecks: true, brokenFunctions: ["worker"] });
    const { sha } = await pushRepo("alice", "fns", { "stack.yml": twoFunctions, ...nodeFn, ...pyFn });
    await h.build("alice", "fns", sha);
    const byName = new Map(h.standin.checkRuns().map((r) => [r.name, r]));
    // The ids went to buildshiprun in the signed spec, with the handler folder for its annotations.
    expect(h.received.map((x) => [x.deploy.function, x.deploy.checkRunId, x.deploy.handler]).sort()).toEqual([
      ["api", byName.get("api")!.id, "./api"],
      ["worker", byName.get("worker")!.id, "./worker"],
    ]);
    expect(byName.get("worker")).toMatchObject({ status: "completed", conclusion: "failure" });
    // The recorder plays buildshiprun and reports nothing: api's run is still queued, buildshiprun's to complete.
    expect(byName.get("api")).toMatchObject({ status: "queued" });
    expect(byName.get("stack-deploy")).toMatchObject({ status: "completed", conclusion: "failure" });
    expect(byName.get("stack-deploy")!.output?.summary).toMatch(/\| worker \| failure: buildshiprun answered 500/);
  });
});
