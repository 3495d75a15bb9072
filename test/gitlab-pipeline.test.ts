import axios from "axios";
import { pino } from "pino";
import { scmRouter } from "../shared/clients.js";
import { serveFunction } from "../shared/function-server.js";
import type { Github } from "../shared/github.js";
import { createGitlab } from "../shared/gitlab.js";
import { signHop } from "../shared/hmac.js";
import { gitlabOwner, gitlabOwnerId } from "../shared/naming.js";
import type { BuildRequest } from "../shared/push.js";
import { createHandler as gitTar } from "../functions/git-tar/handler.js";
import { startGitlabStandin, type GitlabStandin } from "../local/gitlab-standin/server.js";
import { PAYLOAD_SECRET, startGitTar } from "./support/git-tar-harness.js";

// Issue #19 (contract §3, §4, §8): git-tar builds a GitLab build request as it builds a GitHub one, cloning the
// project from the configured GitLab with a deploy token of that project (revoked after the clone), and its statuses
// go to GitLab in GitLab's order: stack-deploy pending → running → success, each function pending on the way. The
// GitLab stand-in refuses what GitLab refuses (a state posted twice in a row, a clone without a live token).
const TOKEN = "glpat-pipeline-test-token";
const log = pino({ level: "silent" });
const files = {
  "stack.yml":
    "version: 1.0\nprovider:\n  name: openfaas\nfunctions:\n" +
    "  api:\n    lang: node20\n    handler: ./api\n    image: api:latest\n" +
    "  web:\n    lang: node20\n    handler: ./web\n    image: web:latest\n",
  "api/handler.js": "module.exports = async () => 'api';\n",
  "api/package.json": '{"name":"api"}\n',
  "web/handler.js": "module.exports = async () => 'web';\n",
  "web/package.json": '{"name":"web"}\n',
};

let h: Awaited<ReturnType<typeof startGitTar>>;
let gl: GitlabStandin;
let served: { url: string; close: () => Promise<void> } | undefined;
let router: Github;
beforeEach(async () => {
  h = await startGitTar();
  gl = await startGitlabStandin({ token: TOKEN });
  router = scmRouter(h.github, createGitlab({ url: gl.url, token: TOKEN, log, backoffMs: 1 }));
});
afterEach(async () => {
  await served?.close();
  served = undefined;
  await gl.close();
  await h.close();
});

async function serveGitTar(gitlabUrl: string | null = gl.url) {
  served = await serveFunction(gitTar({ ...h.deps, github: router, ...(gitlabUrl ? { gitlabUrl } : {}) }));
  return served.url;
}

function post(url: string, request: BuildRequest) {
  const body = JSON.stringify(request);
  return axios.post<string>(`${url}/`, body, {
    headers: { "content-type": "application/json", "x-cloud-signature-256": signHop(PAYLOAD_SECRET, "git-tar", body) },
    responseType: "text",
    validateStatus: () => true,
  });
}

/** A private subgroup project with a two-function stack, and the build request gitlab-push would queue for it. */
async function gitlabPush() {
  const { project, repo } = await gl.createProject({
    fullPath: "Group/Sub/project",
    namespaceId: 7,
    visibility: "private",
    topics: ["openfaas-cloud"],
    defaultBranch: "master",
  });
  const sha = await repo.commit(files);
  await repo.push();
  const request: BuildRequest = {
    scm: "gitlab",
    owner: gitlabOwner("Group/Sub"),
    ownerId: gitlabOwnerId(7),
    repo: project.path,
    fullName: project.pathWithNamespace,
    repoUrl: `${gl.url}/${project.pathWithNamespace}`,
    private: true,
    sha,
    ref: "refs/heads/master",
    branch: "master",
    installationId: project.id,
    deliveryId: "0b3a6e0e-9c0f-4c3e-9a51-1f3f5b4f6d01",
  };
  // gitlab-push's part (contract §7): stack-deploy pending before the build is queued.
  await router.setStatus({
    scm: "gitlab",
    installationId: project.id,
    owner: request.owner,
    repo: request.repo,
    sha,
    state: "pending",
    context: "stack-deploy",
    description: "Build queued",
  });
  return { project, sha, request, repo };
}

describe("git-tar: a GitLab build request", () => {
  it("a push no longer the branch tip → stack-deploy canceled on GitLab (GitLab's word for superseded), nothing built", async () => {
    const url = await serveGitTar();
    const { project, sha, request, repo } = await gitlabPush();
    const newer = await repo.commit({ "README.md": "newer\n" });
    await repo.push();

    expect((await post(url, request)).status).toBe(200);
    expect(gl.statuses({ projectId: project.id, sha }).map((s) => [s.name, s.state, s.description])).toEqual([
      ["stack-deploy", "pending", "Build queued"],
      ["stack-deploy", "running", expect.any(String)],
      ["stack-deploy", "canceled", `superseded by a newer push: ${newer.slice(0, 7)}`],
    ]);
    expect(h.received).toHaveLength(0);
  });

  it("private subgroup project → cloned with a deploy token of it (revoked after), statuses pending → running → pending per function → success on GitLab, none on GitHub", async () => {
    const url = await serveGitTar();
    const { project, sha, request } = await gitlabPush();

    const res = await post(url, request);
    expect([res.status, res.data]).toEqual([200, expect.stringMatching(/^Deployed: api @ .*, web @ /)]);

    const key = gitlabOwner("Group/Sub");
    expect(key).toMatch(/^group-sub-[0-9a-f]{8}--gl$/);
    // The whole sequence GitLab accepted, in order: no state twice in a row for a name (it would have answered 400).
    expect(gl.statuses({ projectId: project.id, sha }).map((s) => [s.name, s.state])).toEqual([
      ["stack-deploy", "pending"],
      ["stack-deploy", "running"],
      ["api", "pending"],
      ["web", "pending"],
      ["stack-deploy", "success"],
    ]);
    // One deploy token, reading this project only, for an hour at most, deleted once the clone was done.
    const tokens = gl.deployTokens(project.id);
    expect(tokens).toHaveLength(1);
    expect(tokens[0]).toMatchObject({
      name: `openfaas-cloud-${sha.slice(0, 7)}`,
      scopes: ["read_repository"],
      deleted: true,
    });
    expect(Date.parse(tokens[0]!.expires_at!) - Date.now()).toBeLessThanOrEqual(60 * 60_000);
    // The stand-in serves a private project only to a live deploy token of it: the clone used that token (its own
    // username and secret), created before and deleted after.
    const api = gl.calls.map((c) => `${c.method} ${c.path}`);
    const created = api.indexOf(`POST /projects/${project.id}/deploy_tokens`);
    const deleted = api.indexOf(`DELETE /projects/${project.id}/deploy_tokens/${tokens[0]!.id}`);
    expect(created).toBeGreaterThanOrEqual(0);
    expect(deleted).toBeGreaterThan(created);
    // Deleted right after the clone: before any function's status, only stack-deploy's pending and running were.
    const statusPosts = (calls: string[]) =>
      calls.filter((c) => c.startsWith(`POST /projects/${project.id}/statuses/`));
    expect(statusPosts(api.slice(0, deleted))).toHaveLength(2);
    expect(statusPosts(api)).toHaveLength(5);

    // What buildshiprun and garbage-collect get carries the SCM and the GitLab owner's names and id.
    // Two builds at a time (build_concurrency 2): in either order.
    const received = [...h.received].sort((a, b) => a.deploy.function.localeCompare(b.deploy.function));
    expect(received.map((r) => [r.deploy.function, r.deploy.service, r.deploy.scm, r.deploy.ownerId])).toEqual([
      ["api", `${key}--api`, "gitlab", "gitlab-7"],
      ["web", `${key}--web`, "gitlab", "gitlab-7"],
    ]);
    expect(received[0]!.ref).toBe(`127.0.0.1:5000/${key}/project--api:latest-${sha.slice(0, 7)}`);
    expect(h.collected).toEqual([
      { functions: [`${key}--api`, `${key}--web`], repo: "project", owner: key, ownerId: "gitlab-7" },
    ]);
    // Nothing of this build went to GitHub.
    expect(h.standin.calls).toEqual([]);
  });

  it("a GitLab build when gitlab_url is not set → stack-deploy failed on GitLab naming it, nothing cloned, no token", async () => {
    const url = await serveGitTar(null);
    const { project, sha, request } = await gitlabPush();
    const res = await post(url, request);
    expect([res.status, res.data]).toEqual([503, "build error: GitLab is not configured (gitlab_url)"]);
    expect(gl.statuses({ projectId: project.id, sha }).map((s) => [s.name, s.state, s.description])).toEqual([
      ["stack-deploy", "pending", "Build queued"],
      ["stack-deploy", "running", "building the stack"],
      ["stack-deploy", "failed", "build error: GitLab is not configured (gitlab_url)"],
    ]);
    expect(gl.deployTokens(project.id)).toEqual([]);
  });

  it("the same git-tar given a GitHub build → GitHub gets its statuses and never a running one", async () => {
    const url = await serveGitTar();
    const repo = await h.git.createRepo("alice", "fns");
    const sha = await repo.commit(files);
    await repo.push();
    const res = await post(url, JSON.parse(h.buildRequest("alice", "fns", sha)) as BuildRequest);
    expect(res.status).toBe(200);
    const posted = h.standin.calls
      .filter((c) => c.method === "POST" && c.path.includes("/statuses/"))
      .map((c) => [(c.body as { context: string }).context, (c.body as { state: string }).state]);
    expect(posted).toEqual([
      ["api", "pending"],
      ["web", "pending"],
      ["stack-deploy", "success"],
    ]);
    expect(gl.calls).toEqual([]);
  });
});
