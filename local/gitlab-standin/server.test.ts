import { execFile } from "node:child_process";
import * as fs from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import git from "isomorphic-git";
import http from "isomorphic-git/http/node";
import type { GitRepo } from "../git-server/git-server.js";
import { startGitlabStandin, type GitlabProject, type GitlabStandin } from "./server.js";

const execFileAsync = promisify(execFile);
const TOKEN = "glpat-right-token";
const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);
const HOUR = 60 * 60 * 1000;
const GIT_ENV = { PATH: process.env.PATH, HOME: tmpdir(), GIT_CONFIG_NOSYSTEM: "1", GIT_TERMINAL_PROMPT: "0" };
const FIXTURES = new URL("../../test/fixtures/gitlab/", import.meta.url);
const UNKNOWN_SHA = "f".repeat(40);

type Body = Record<string, unknown> & { message?: unknown; error?: unknown };

let standin: GitlabStandin;
let clock = NOW;
let nested: { project: GitlabProject; repo: GitRepo };
let other: { project: GitlabProject; repo: GitRepo };
let open: { project: GitlabProject; repo: GitRepo };
let sha: string;
let releaseSha: string;
let scratch: string;

beforeAll(async () => {
  standin = await startGitlabStandin({ token: TOKEN, now: () => clock });
  nested = await standin.createProject({ fullPath: "group/sub/project", topics: ["openfaas-cloud"] });
  sha = await nested.repo.commit({ "stack.yml": "version: 1.0\n" }, "first\n\nbody line");
  await nested.repo.push();
  releaseSha = await nested.repo.commit({ "b.txt": "b\n" }, "on release");
  await nested.repo.push({ branch: "release/1.x" });
  other = await standin.createProject({ fullPath: "group/other" });
  await other.repo.commit({ "o.txt": "o\n" });
  await other.repo.push();
  open = await standin.createProject({ fullPath: "alice/hello", namespaceKind: "user", visibility: "public" });
  await open.repo.commit({ "README.md": "hello\n" });
  await open.repo.push();
});
afterAll(() => standin.close());
beforeEach(async () => {
  clock = NOW;
  standin.reset();
  scratch = await mkdtemp(join(tmpdir(), "gitlab-standin-test-"));
});
afterEach(() => rm(scratch, { recursive: true, force: true }));

async function api(
  method: string,
  path: string,
  opts: { headers?: Record<string, string>; body?: unknown; form?: string } = {},
): Promise<{ status: number; body: Body }> {
  const headers: Record<string, string> = opts.headers ?? { "PRIVATE-TOKEN": TOKEN };
  if (opts.body !== undefined) headers["Content-Type"] = "application/json";
  if (opts.form !== undefined) headers["Content-Type"] = "application/x-www-form-urlencoded";
  const res = await fetch(`${standin.url}/api/v4${path}`, {
    method,
    headers,
    body: opts.form ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body)),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Body) : {} };
}

const post = (state: string, extra: Record<string, unknown> = {}, commit = sha, id = nested.project.id) =>
  api("POST", `/projects/${id}/statuses/${commit}`, { body: { state, ...extra } });

const createToken = async (projectId: number, body: Record<string, unknown> = {}) => {
  const res = await api("POST", `/projects/${projectId}/deploy_tokens`, {
    body: { name: "clone", scopes: ["read_repository"], expires_at: new Date(NOW + HOUR).toISOString(), ...body },
  });
  expect(res.status).toBe(201);
  return res.body as { id: number; username: string; token: string };
};

function infoRefs(fullPath: string, auth?: string): Promise<Response> {
  const headers: Record<string, string> = auth
    ? { Authorization: `Basic ${Buffer.from(auth).toString("base64")}` }
    : {};
  return fetch(`${standin.url}/${fullPath}.git/info/refs?service=git-upload-pack`, { headers });
}

describe("API token", () => {
  const routes = () => [
    ["GET", `/projects/${nested.project.id}`],
    ["GET", `/namespaces/${nested.project.namespace.id}`],
    ["POST", `/projects/${nested.project.id}/statuses/${sha}?state=pending`],
    ["GET", `/projects/${nested.project.id}/repository/commits/${sha}/statuses`],
    ["GET", `/projects/${nested.project.id}/repository/branches/master`],
    ["POST", `/projects/${nested.project.id}/deploy_tokens?name=x&scopes=read_repository`],
    ["DELETE", `/projects/${nested.project.id}/deploy_tokens/1`],
  ];

  it.each<{ name: string; headers: Record<string, string> }>([
    { name: "no token", headers: {} },
    { name: "a wrong PRIVATE-TOKEN", headers: { "PRIVATE-TOKEN": "glpat-wrong" } },
    { name: "a wrong Bearer token", headers: { Authorization: "Bearer glpat-wrong" } },
    { name: "the right token under another scheme", headers: { Authorization: `token ${TOKEN}` } },
  ])("$name → 401 on every route family, nothing recorded", async ({ headers }) => {
    for (const [method = "", path = ""] of routes()) {
      const res = await api(method, path, { headers });
      expect([path, res]).toEqual([path, { status: 401, body: { message: "401 Unauthorized" } }]);
    }
    expect(standin.statuses()).toEqual([]);
    expect(standin.deployTokens(nested.project.id)).toEqual([]);
  });

  it("Authorization: Bearer with the right token → 200", async () => {
    const res = await api("GET", `/projects/${nested.project.id}`, { headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
  });

  it("an unknown API route → Grape's 404; a path outside the API and git → 404", async () => {
    expect(await api("GET", "/projects/1/hooks")).toEqual({ status: 404, body: { error: "404 Not Found" } });
    expect((await fetch(`${standin.url}/group/sub/project`)).status).toBe(404);
  });
});

describe("GET /projects/:id and /namespaces/:id", () => {
  it.each([
    ["the numeric id", () => String(nested.project.id)],
    ["the URL-encoded full path", () => encodeURIComponent("group/sub/project")],
    ["the full path in another case", () => encodeURIComponent("Group/SUB/project")],
  ])("by %s → GitLab's project fields", async (_, id) => {
    const { status, body } = await api("GET", `/projects/${id()}`);
    expect(status).toBe(200);
    expect(body).toMatchObject({
      id: nested.project.id,
      name: "project",
      path: "project",
      path_with_namespace: "group/sub/project",
      topics: ["openfaas-cloud"],
      tag_list: ["openfaas-cloud"],
      visibility: "private",
      default_branch: "master",
      web_url: `${standin.url}/group/sub/project`,
      http_url_to_repo: `${standin.url}/group/sub/project.git`,
      namespace: {
        id: nested.project.namespace.id,
        name: "sub",
        path: "sub",
        kind: "group",
        full_path: "group/sub",
        parent_id: standin.project("group/other")?.namespace.id,
      },
    });
  });

  it("setTopics → the next answer carries the new topics under both names", async () => {
    standin.setTopics(other.project.id, ["OpenFaaS-Cloud", "x"]);
    try {
      const { body } = await api("GET", `/projects/${other.project.id}`);
      expect(body).toMatchObject({ topics: ["OpenFaaS-Cloud", "x"], tag_list: ["OpenFaaS-Cloud", "x"] });
    } finally {
      standin.setTopics(other.project.id, []);
    }
  });

  it.each([
    ["an unknown id", "999999"],
    ["a namespace id", "101"],
    ["an unknown path", encodeURIComponent("group/sub/nope")],
  ])("%s → 404 Project Not Found", async (_, id) => {
    expect(await api("GET", `/projects/${id}`)).toEqual({ status: 404, body: { message: "404 Project Not Found" } });
  });

  it("an unencoded full path → the route does not match (GitLab needs %2F)", async () => {
    expect((await api("GET", "/projects/group/sub/project")).status).toBe(404);
  });

  it.each([
    ["id", () => String(nested.project.namespace.id)],
    ["URL-encoded full path", () => encodeURIComponent("group/sub")],
  ])("namespace by %s → kind, full_path, parent_id", async (_, id) => {
    const { status, body } = await api("GET", `/namespaces/${id()}`);
    expect(status).toBe(200);
    const parent = await api("GET", `/namespaces/group`);
    expect(body).toMatchObject({ id: nested.project.namespace.id, kind: "group", full_path: "group/sub", path: "sub" });
    expect(body.parent_id).toBe(parent.body.id);
  });

  it("a user's namespace → kind user, no parent; an unknown one → 404 Namespace Not Found", async () => {
    expect((await api("GET", "/namespaces/alice")).body).toMatchObject({ kind: "user", parent_id: null });
    expect(await api("GET", `/namespaces/${encodeURIComponent("group/nope")}`)).toEqual({
      status: 404,
      body: { message: "404 Namespace Not Found" },
    });
  });
});

describe("POST /projects/:id/statuses/:sha (GitLab's state machine)", () => {
  const refusal = (event: string, from: string) =>
    `Cannot transition status via :${event} from :${from} (Reason(s): Status cannot transition via "${event}")`;

  it("pending → running → success on one name → 201 each, one status moved through three states", async () => {
    const replies = [];
    for (const state of ["pending", "running", "success"])
      replies.push(await post(state, { name: "stack-deploy", target_url: "http://127.0.0.1/x", description: "d" }));
    expect(replies.map((r) => [r.status, r.body.status])).toEqual([
      [201, "pending"],
      [201, "running"],
      [201, "success"],
    ]);
    const recorded = standin.statuses({ projectId: nested.project.id, sha, name: "stack-deploy" });
    expect(recorded.map((s) => s.state)).toEqual(["pending", "running", "success"]);
    expect(new Set(recorded.map((s) => s.id)).size).toBe(1);
    expect(recorded[0]).toMatchObject({ ref: "master", target_url: "http://127.0.0.1/x", description: "d" });
  });

  it("pending twice → 400 with GitLab's text, and the second is not recorded", async () => {
    expect((await post("pending", { name: "fn" })).status).toBe(201);
    expect(await post("pending", { name: "fn", description: "changed" })).toEqual({
      status: 400,
      body: { message: refusal("enqueue", "pending") },
    });
    expect(standin.statuses({ name: "fn" }).map((s) => s.state)).toEqual(["pending"]);
    const listed = await api("GET", `/projects/${nested.project.id}/repository/commits/${sha}/statuses`);
    expect(listed.body).toEqual([expect.objectContaining({ name: "fn", status: "pending", description: null })]);
  });

  it("running twice → 400 :run from :running", async () => {
    expect((await post("running", { name: "fn" })).status).toBe(201);
    expect((await post("running", { name: "fn" })).body).toEqual({ message: refusal("run", "running") });
  });

  it("running on a fresh name → 201 running (GitLab enqueues then runs)", async () => {
    const res = await post("running", { name: "fresh" });
    expect(res).toMatchObject({ status: 201, body: { status: "running", name: "fresh", ref: "master" } });
    expect(standin.statuses({ name: "fresh" }).map((s) => s.state)).toEqual(["running"]);
  });

  it("success after success → a new status (new id), both listed with all=true, the latest alone by default", async () => {
    const first = await post("success", { name: "fn" });
    const second = await post("success", { name: "fn" });
    expect([first.status, second.status]).toEqual([201, 201]);
    expect(second.body.id).not.toBe(first.body.id);
    const base = `/projects/${nested.project.id}/repository/commits/${sha}/statuses`;
    expect(((await api("GET", base)).body as unknown as Body[]).map((s) => s.id)).toEqual([second.body.id]);
    const all = (await api("GET", `${base}?all=true`)).body as unknown as Body[];
    expect(all.map((s) => s.id)).toEqual([second.body.id, first.body.id]);
  });

  it("a list longer than a page → GitLab's 20 per page by default, per_page and page to walk it", async () => {
    for (let i = 0; i < 23; i++) await post("pending", { name: `fn-${String(i).padStart(2, "0")}` });
    const base = `${standin.url}/api/v4/projects/${nested.project.id}/repository/commits/${sha}/statuses`;
    const get = (query: string) => fetch(`${base}${query}`, { headers: { "PRIVATE-TOKEN": TOKEN } });
    const first = await get("");
    expect(((await first.json()) as unknown[]).length).toBe(20);
    expect([first.headers.get("x-total"), first.headers.get("x-next-page")]).toEqual(["23", "2"]);
    const second = (await (await get("?per_page=20&page=2")).json()) as Body[];
    expect(second.map((s) => s.name)).toEqual(["fn-02", "fn-01", "fn-00"]);
    expect(((await (await get("?per_page=100")).json()) as unknown[]).length).toBe(23);
  });

  it.each([
    ["failed", "pending", "failed"],
    ["canceled", "running", "canceled"],
    ["success", "running", "success"],
  ])("%s after %s → 201 %s", async (state, before, after) => {
    await post(before, { name: "fn" });
    expect((await post(state, { name: "fn" })).body.status).toBe(after);
  });

  it("pending after success → a new pending status, not a refusal", async () => {
    await post("success", { name: "fn" });
    expect(await post("pending", { name: "fn" })).toMatchObject({ status: 201, body: { status: "pending" } });
  });

  it("no name or context → the name 'default'; context names it otherwise", async () => {
    expect((await post("pending")).body.name).toBe("default");
    expect((await post("pending", { context: "ctx" })).body.name).toBe("ctx");
  });

  it("a ref sent → a status of that ref; the same name on another ref is another status", async () => {
    await post("pending", { name: "fn" });
    expect(await post("pending", { name: "fn", ref: "release/1.x" })).toMatchObject({
      status: 201,
      body: { ref: "release/1.x" },
    });
  });

  it("params as a form body and as a query string → accepted like JSON", async () => {
    const form = await api("POST", `/projects/${nested.project.id}/statuses/${sha}`, {
      form: "state=pending&name=form&description=via+form",
    });
    expect(form).toMatchObject({ status: 201, body: { name: "form", description: "via form" } });
    const query = await api("POST", `/projects/${nested.project.id}/statuses/${sha}?state=running&name=form`);
    expect(query).toMatchObject({ status: 201, body: { status: "running" } });
  });

  it("a commit only on release/1.x and no ref → that branch is the ref", async () => {
    expect((await post("pending", {}, releaseSha)).body.ref).toBe("release/1.x");
  });

  it.each([
    ["an unknown sha", UNKNOWN_SHA],
    ["an option-like sha", "--all"],
    ["a sha of another project", "OTHER"],
  ])("%s → 404 Commit Not Found", async (_, commit) => {
    const otherSha = (await execFileAsync("git", ["rev-parse", "HEAD"], { cwd: other.repo.dir, env: GIT_ENV })).stdout;
    const target = commit === "OTHER" ? otherSha.trim() : commit;
    expect(await post("pending", {}, target)).toEqual({ status: 404, body: { message: "404 Commit Not Found" } });
    expect(standin.statuses()).toEqual([]);
  });

  it.each([
    [{}, "state is missing"],
    [{ state: "error" }, "state does not have a valid value"],
    [{ state: "failure" }, "state does not have a valid value"],
  ])("%j → 400 %s", async (body, error) => {
    const res = await api("POST", `/projects/${nested.project.id}/statuses/${sha}`, { body });
    expect(res).toEqual({ status: 400, body: { error } });
  });

  it("an unknown project → 404 Project Not Found", async () => {
    expect((await post("pending", {}, sha, 424242)).body).toEqual({ message: "404 Project Not Found" });
  });

  it("recordFile → a restarted stand-in keeps the record and the states (pending again → 400)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gitlab-record-"));
    const recordFile = join(dir, "statuses.jsonl");
    const first = await startGitlabStandin({ token: TOKEN, recordFile, root: join(dir, "repos") });
    const { project, repo } = await first.createProject({ fullPath: "g/p", id: 7 });
    const head = await repo.commit({ "a.txt": "a\n" });
    await repo.push();
    const send = (url: string, state: string) =>
      fetch(`${url}/api/v4/projects/7/statuses/${head}?state=${state}&name=n`, {
        method: "POST",
        headers: { "PRIVATE-TOKEN": TOKEN },
      });
    expect((await send(first.url, "pending")).status).toBe(201);
    await first.close();
    const second = await startGitlabStandin({ token: TOKEN, recordFile, root: join(dir, "repos") });
    try {
      await second.createProject({ fullPath: project.pathWithNamespace, id: 7 }).catch(() => undefined);
      expect(second.statuses().map((s) => s.state)).toEqual(["pending"]);
      expect((await send(second.url, "pending")).status).toBe(400);
      expect((await send(second.url, "running")).status).toBe(201);
      expect(fs.readFileSync(recordFile, "utf8").trim().split("\n")).toHaveLength(2);
    } finally {
      await second.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("GET /projects/:id/repository/branches/:branch", () => {
  it.each([
    ["master", () => sha],
    [encodeURIComponent("release/1.x"), () => releaseSha],
  ])("%s → its tip in commit.id", async (branch, tip) => {
    const { status, body } = await api("GET", `/projects/${nested.project.id}/repository/branches/${branch}`);
    expect(status).toBe(200);
    expect(body).toMatchObject({ name: decodeURIComponent(branch), commit: { id: tip() } });
  });

  it("an unknown branch → 404 Branch Not Found", async () => {
    expect(await api("GET", `/projects/${nested.project.id}/repository/branches/nope`)).toEqual({
      status: 404,
      body: { message: "404 Branch Not Found" },
    });
  });
});

describe("deploy tokens", () => {
  it("create → 201 with GitLab's fields; the default username names the token id", async () => {
    const res = await api("POST", `/projects/${nested.project.id}/deploy_tokens`, {
      body: { name: "openfaas-cloud-abc1234", scopes: ["read_repository"], expires_at: "2026-01-15T13:00:00Z" },
    });
    expect(res.status).toBe(201);
    const id = res.body.id as number;
    expect(res.body).toEqual({
      id,
      name: "openfaas-cloud-abc1234",
      username: `gitlab+deploy-token-${id}`,
      expires_at: "2026-01-15T13:00:00.000Z",
      token: expect.stringMatching(/^gldt-[A-Za-z0-9_-]{20}$/) as unknown,
      revoked: false,
      expired: false,
      scopes: ["read_repository"],
    });
    expect(standin.deployTokens(nested.project.id)).toEqual([
      expect.objectContaining({ id, token: res.body.token, deleted: false }),
    ]);
  });

  it.each([
    [{ scopes: ["read_repository"] }, "name is missing"],
    [{ name: "n" }, "scopes is missing"],
    [{ name: "n", scopes: ["read_repository", "write_repository"] }, "scopes does not have a valid value"],
    [{ name: "n", scopes: ["api"] }, "scopes does not have a valid value"],
    [{ name: "n", scopes: ["read_repository"], expires_at: "tomorrow" }, "expires_at is invalid"],
  ])("%j → 400 %s", async (body, error) => {
    const res = await api("POST", `/projects/${nested.project.id}/deploy_tokens`, { body });
    expect(res).toEqual({ status: 400, body: { error } });
  });

  it("DELETE → 204, then 404 for the same id and for another project's token", async () => {
    const token = await createToken(nested.project.id);
    const otherToken = await createToken(other.project.id);
    const path = (id: number) => `/projects/${nested.project.id}/deploy_tokens/${id}`;
    expect((await api("DELETE", path(token.id))).status).toBe(204);
    expect(await api("DELETE", path(token.id))).toEqual({ status: 404, body: { message: "404 Not found" } });
    expect((await api("DELETE", path(otherToken.id))).status).toBe(404);
    expect(standin.deployTokens(nested.project.id).find((t) => t.id === token.id)?.deleted).toBe(true);
  });
});

describe("git over HTTP", () => {
  const cloneCli = (url: string) => execFileAsync("git", ["clone", "-q", url, join(scratch, "c")], { env: GIT_ENV });
  const withAuth = (user: string, password: string, path: string) =>
    `${standin.url.replace("http://", `http://${encodeURIComponent(user)}:${password}@`)}/${path}.git`;

  it("private nested-group project + its deploy token → the git CLI clones it", async () => {
    const token = await createToken(nested.project.id);
    await cloneCli(withAuth(token.username, token.token, "group/sub/project"));
    expect(await readFile(join(scratch, "c", "stack.yml"), "utf8")).toBe("version: 1.0\n");
  });

  it("private nested-group project + its deploy token → isomorphic-git clones it", async () => {
    const token = await createToken(nested.project.id);
    const onAuth = () => ({ username: token.username, password: token.token });
    await git.clone({
      fs,
      http,
      dir: scratch,
      url: `${standin.url}/group/sub/project.git`,
      onAuth,
      singleBranch: true,
    });
    expect(await git.resolveRef({ fs, dir: scratch, ref: "HEAD" })).toBe(sha);
  });

  it.each([
    { name: "no credentials", make: () => undefined },
    { name: "a deploy token of another project", make: async () => createToken(other.project.id) },
    {
      name: "the right token under another username",
      make: async () => ({ ...(await createToken(nested.project.id)), username: "gitlab+deploy-token-999" }),
    },
    {
      name: "a token without read_repository",
      make: async () => createToken(nested.project.id, { scopes: ["read_registry"] }),
    },
    {
      name: "a revoked token",
      make: async () => {
        const token = await createToken(nested.project.id);
        standin.revokeDeployToken(token.id);
        return token;
      },
    },
    {
      name: "a deleted token",
      make: async () => {
        const token = await createToken(nested.project.id);
        await api("DELETE", `/projects/${nested.project.id}/deploy_tokens/${token.id}`);
        return token;
      },
    },
    {
      name: "an expired token",
      make: async () => {
        const token = await createToken(nested.project.id);
        clock = NOW + HOUR;
        return token;
      },
    },
  ])("private project with $name → 401 with GitLab's challenge", async ({ make }) => {
    const token = await make();
    const res = await infoRefs("group/sub/project", token && `${token.username}:${token.token}`);
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe('Basic realm="GitLab"');
  });

  it("an expired token → the git CLI clone fails", async () => {
    const token = await createToken(nested.project.id);
    clock = NOW + HOUR + 1;
    await expect(cloneCli(withAuth(token.username, token.token, "group/sub/project"))).rejects.toThrow(
      /Authentication failed|could not read/,
    );
  });

  it("a live token a minute before expiry → 200", async () => {
    const token = await createToken(nested.project.id);
    clock = NOW + HOUR - 60_000;
    expect((await infoRefs("group/sub/project", `${token.username}:${token.token}`)).status).toBe(200);
  });

  it("public project → cloned anonymously with the git CLI", async () => {
    await cloneCli(`${standin.url}/alice/hello.git`);
    expect(await readFile(join(scratch, "c", "README.md"), "utf8")).toBe("hello\n");
  });

  it("an internal project → needs a token like a private one", async () => {
    standin.setVisibility(other.project.id, "internal");
    try {
      expect((await infoRefs("group/other")).status).toBe(401);
    } finally {
      standin.setVisibility(other.project.id, "private");
    }
  });

  it.each([
    ["an unknown project", "group/sub/nope"],
    ["a group path", "group/sub"],
  ])("%s → 401 (GitLab does not say whether it exists)", async (_, path) => {
    expect((await infoRefs(path)).status).toBe(401);
  });

  it.each([
    ["a dot-named group", "/.hidden/project.git/info/refs?service=git-upload-pack"],
    ["a group segment ending in .git", "/group/sub.git/project.git/info/refs?service=git-upload-pack"],
    ["a climb out of the root", "/group/../../etc.git/info/refs?service=git-upload-pack"],
  ])("%s → refused (401 or 404), never served", async (_, path) => {
    expect([401, 404]).toContain((await fetch(`${standin.url}${path}`)).status);
  });

  it("push (receive-pack) → 403 even with a live token; the tip is unchanged", async () => {
    const token = await createToken(nested.project.id);
    const res = await fetch(`${standin.url}/group/sub/project.git/info/refs?service=git-receive-pack`, {
      headers: { Authorization: `Basic ${Buffer.from(`${token.username}:${token.token}`).toString("base64")}` },
    });
    expect(res.status).toBe(403);
    const tip = await api("GET", `/projects/${nested.project.id}/repository/branches/master`);
    expect(tip.body).toMatchObject({ commit: { id: sha } });
  });

  it("a deleted project → its repo is no longer served, its API answer 404", async () => {
    const gone = await standin.createProject({ fullPath: "group/gone", visibility: "public" });
    await gone.repo.commit({ "a.txt": "a\n" });
    await gone.repo.push();
    expect((await infoRefs("group/gone")).status).toBe(200);
    standin.deleteProject(gone.project.id);
    expect((await infoRefs("group/gone")).status).toBe(401);
    expect((await api("GET", `/projects/${gone.project.id}`)).status).toBe(404);
  });
});

describe("payload builders", () => {
  const fixture = async (name: string) =>
    JSON.parse(await readFile(new URL(name, FIXTURES), "utf8")) as Record<string, unknown>;
  const keys = (value: unknown) => Object.keys(value as object).sort();

  it.each([
    { hook: "system" as const, file: "system-push.json", event: "System Hook" },
    { hook: "project" as const, file: "project-push.json", event: "Push Hook" },
  ])("pushEvent $hook → the fixture's keys, filled for the stand-in project, with GitLab's headers", async (c) => {
    const example = await fixture(c.file);
    const { headers, body } = await standin.pushEvent(nested.project, {
      before: "0".repeat(40),
      after: sha,
      hook: c.hook,
    });
    expect(keys(body)).toEqual(keys(example));
    // project.id is added to the system hook's example, which omits it (see payloads.ts).
    expect(keys(body.project)).toEqual([...new Set([...keys(example.project), "id"])].sort());
    expect(keys(body.repository)).toEqual(keys(example.repository));
    expect(body).toMatchObject({
      before: "0".repeat(40),
      after: sha,
      ref: "refs/heads/master",
      checkout_sha: sha,
      project_id: nested.project.id,
      total_commits_count: 1,
      project: {
        id: nested.project.id,
        path_with_namespace: "group/sub/project",
        namespace: "sub",
        web_url: `${standin.url}/group/sub/project`,
        git_http_url: `${standin.url}/group/sub/project.git`,
        visibility_level: 0,
        default_branch: "master",
      },
      repository: { git_http_url: `${standin.url}/group/sub/project.git`, visibility_level: 0 },
    });
    const commits = body.commits as Array<Record<string, unknown>>;
    expect(commits.map((x) => x.id)).toEqual([sha]);
    expect(keys(commits[0])).toEqual(keys((example.commits as unknown[])[0]));
    if (c.hook === "project") expect(commits[0]).toMatchObject({ title: "first", added: ["stack.yml"] });
    expect(headers).toMatchObject({
      "Content-Type": "application/json",
      "X-Gitlab-Event": c.event,
      "X-Gitlab-Instance": standin.url,
      "User-Agent": expect.stringMatching(/^GitLab\/\d+\.\d+\.\d+$/) as unknown,
      "X-Gitlab-Event-UUID": expect.stringMatching(/^[0-9a-f-]{36}$/) as unknown,
    });
    expect(Object.keys(headers).map((h) => h.toLowerCase())).not.toContain("x-gitlab-token");
  });

  it("pushEvent of a second push → only the new commits, oldest first", async () => {
    const { body } = await standin.pushEvent(nested.project.id, {
      before: sha,
      after: releaseSha,
      ref: "refs/heads/release/1.x",
      hook: "project",
    });
    expect(body).toMatchObject({ ref: "refs/heads/release/1.x", total_commits_count: 1 });
    expect((body.commits as Array<{ id: string }>).map((x) => x.id)).toEqual([releaseSha]);
  });

  it("pushEvent of a branch deletion → no commits, checkout_sha null; each delivery has its own UUID", async () => {
    const a = await standin.pushEvent(nested.project, { before: sha, after: "0".repeat(40) });
    const b = await standin.pushEvent(nested.project, { before: sha, after: "0".repeat(40) });
    expect(a.body).toMatchObject({ checkout_sha: null, commits: [], total_commits_count: 0 });
    expect(a.headers["X-Gitlab-Event-UUID"]).not.toBe(b.headers["X-Gitlab-Event-UUID"]);
  });

  it.each([
    ["project_update", "system-project-update.json", {}],
    ["project_destroy", "system-project-destroy.json", {}],
    ["project_rename", "system-project-rename.json", { oldPathWithNamespace: "group/sub/old" }],
    ["project_transfer", "system-project-transfer.json", { oldPathWithNamespace: "elsewhere/project" }],
  ] as const)("projectEvent %s → the fixture's keys, filled", async (kind, file, extra) => {
    const example = await fixture(file);
    const { headers, body } = standin.projectEvent(kind, nested.project, extra);
    expect(keys(body)).toEqual(keys(example));
    expect(body).toMatchObject({
      event_name: kind,
      project_id: nested.project.id,
      path: "project",
      path_with_namespace: "group/sub/project",
      project_visibility: "private",
      ...("oldPathWithNamespace" in extra && { old_path_with_namespace: extra.oldPathWithNamespace }),
    });
    expect(headers["X-Gitlab-Event"]).toBe("System Hook");
  });

  it("projectEvent project_rename without the old path → TypeError", () => {
    expect(() => standin.projectEvent("project_rename", nested.project)).toThrow(/oldPathWithNamespace/);
  });
});
