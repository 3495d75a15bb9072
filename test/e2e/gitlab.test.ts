import { jest } from "@jest/globals";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import axios from "axios";
import { pino } from "pino";
import { localhostAgent } from "../../local/localhost-lookup.js";
import { loadPorts } from "../../local/ports.js";
import { startLocalCloud, type LocalCloud } from "../../local/runtime.js";
import { gitlabOwner } from "../../shared/naming.js";

// Issue #19 end to end on the local runtime: GitLab's system hook → gitlab-event → gitlab-push → git-tar (a clone
// with a one-project deploy token from the GitLab stand-in) → buildshiprun → the function behind the edge router,
// with GitLab's commit statuses, on the same real components as the GitHub path (dockerd + BuildKit, registry, NATS
// JetStream, S3, of-builder). The stand-in enforces GitLab's token and status state machine.
jest.setTimeout(600_000);

let dir: string;
let cloud: LocalCloud;
const agent = localhostAgent();
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "e2e-gitlab-"));
  const { gateway } = await loadPorts(join(dir, "ports.json"));
  cloud = await startLocalCloud({
    dir,
    // A GitHub account named like the GitLab group of (b): same first path segment, never the same names.
    owners: ["group"],
    // `gitlab:group` admits its subgroup group/sub as well.
    gitlabNamespaces: ["acme", "group"],
    log: pino({ level: "silent" }),
    gatewayPort: gateway,
  });
});
afterAll(async () => {
  agent.destroy();
  await cloud?.close();
  await rm(dir, { recursive: true, force: true });
});

const stack = (fns: string[]) =>
  `version: 1.0\nprovider:\n  name: openfaas\nfunctions:\n${fns.map((f) => `  ${f}:\n    lang: node20\n    handler: ./${f}\n    image: ${f}:latest\n`).join("")}`;
const fn = (name: string, reply: string) => ({
  [`${name}/handler.js`]: `module.exports = async () => ${JSON.stringify(reply)};\n`,
  [`${name}/package.json`]: JSON.stringify({ name, version: "1.0.0", private: true, main: "handler.js" }),
});
/** The public URL of `owner`'s function `name`: the edge router's `http://<owner>.localhost:<edge>/<fn>`. */
const urlOf = (owner: string, name: string) => `http://${owner}.localhost:${cloud.edgePort}/${name}`;
const get = (url: string) =>
  axios.get<string>(url, { responseType: "text", validateStatus: () => true, httpAgent: agent });
/** Each status name's states in the order they were posted, and the last one's target_url. */
function sequences(projectId: number, sha: string) {
  const out: Record<string, { states: string[]; target_url: string | null | undefined }> = {};
  for (const s of cloud.gitlab.statuses({ projectId, sha })) {
    const entry = (out[s.name] ??= { states: [], target_url: undefined });
    entry.states.push(s.state);
    entry.target_url = s.target_url;
  }
  return out;
}
/** The system's deployed functions with their ownership labels (the gateway's /system/functions). */
async function deployed(): Promise<Array<{ name: string; labels: Record<string, string> }>> {
  const res = await axios.get<Array<{ name: string; labels: Record<string, string> }>>(
    `${cloud.gatewayUrl}system/functions`,
    { auth: { username: cloud.auth.user, password: cloud.auth.password } },
  );
  return res.data;
}
/** Polls `check` until it returns true or `ms` pass; returns its last answer. */
async function eventually(check: () => Promise<boolean>, ms = 60_000): Promise<boolean> {
  for (const deadline = Date.now() + ms; ;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

let shop: Awaited<ReturnType<LocalCloud["publishGitlab"]>>;
const acme = () => gitlabOwner("acme");
const sub = () => gitlabOwner("group/sub");

describe("GitLab push to live (issue #19)", () => {
  it("(a) a system hook push of a two-function project in acme → stack-deploy and each function pending → running → success, both answer at their URL", async () => {
    const { project, sha } = await cloud.publishGitlab("acme/shop", {
      "stack.yml": stack(["alpha", "beta"]),
      ...fn("alpha", "alpha from acme/shop"),
      ...fn("beta", "beta from acme/shop"),
    });
    shop = { project, sha };
    const sent = await cloud.gitlabPush(project, { after: sha });
    expect(sent.status).toBe(202);
    const done = await cloud.waitForGitlabStatus(project.id, sha, "stack-deploy", 300_000);
    expect([done.state, done.description]).toEqual(["success", expect.stringMatching(/deployed/)]);
    for (const name of ["alpha", "beta"]) await cloud.waitForGitlabStatus(project.id, sha, name, 60_000);
    const seen = sequences(project.id, sha);
    expect(seen["stack-deploy"]?.states).toEqual(["pending", "running", "success"]);
    for (const name of ["alpha", "beta"]) {
      expect([name, seen[name]]).toEqual([
        name,
        { states: ["pending", "running", "success"], target_url: urlOf(acme(), name) },
      ]);
      const answer = await get(urlOf(acme(), name));
      expect([name, answer.status, answer.data]).toEqual([name, 200, `${name} from acme/shop`]);
    }
    // Owned by the GitLab namespace's id (from GitLab's API), marked as GitLab's.
    const alpha = (await deployed()).find((f) => f.name === `${acme()}--alpha`);
    expect(alpha?.labels).toEqual(
      expect.objectContaining({
        "com.openfaas.cloud.git-owner-id": `gitlab-${project.namespace.id}`,
        "com.openfaas.cloud.git-scm": "gitlab",
      }),
    );
    // The private project was cloned with a deploy token of its own, which git-tar deleted after the clone.
    const tokens = cloud.gitlab.deployTokens(project.id);
    expect(tokens.length).toBeGreaterThan(0);
    expect(tokens.filter((t) => !t.deleted && !t.revoked)).toEqual([]);
  });

  it('(b) group/sub/app deploys under gitlabOwner("group/sub"); the GitHub owner group\'s function of the same name is its own', async () => {
    const gl = await cloud.publishGitlab("group/sub/app", {
      "stack.yml": stack(["hello"]),
      ...fn("hello", "GitLab group/sub"),
    });
    const ghSha = await cloud.publish("group", "app", {
      "stack.yml": stack(["hello"]),
      ...fn("hello", "GitHub group"),
    });
    // Both at once: the two builds share nothing but of-builder's two slots.
    const [glSent, ghSent] = await Promise.all([
      cloud.gitlabPush(gl.project, { after: gl.sha }),
      cloud.sendPush("group", "app", ghSha),
    ]);
    expect([glSent.status, ghSent.status]).toEqual([202, 202]);
    const [glDone, ghDone] = await Promise.all([
      cloud.waitForGitlabStatus(gl.project.id, gl.sha, "stack-deploy", 300_000),
      cloud.waitForStatus("group", "app", ghSha, "stack-deploy", 300_000),
    ]);
    expect([glDone.state, ghDone.state]).toEqual(["success", "success"]);

    expect(sub()).toMatch(/^group-sub-[0-9a-f]{8}--gl$/);
    expect(sequences(gl.project.id, gl.sha).hello).toEqual({
      states: ["pending", "running", "success"],
      target_url: urlOf(sub(), "hello"),
    });
    const [glAnswer, ghAnswer] = await Promise.all([get(urlOf(sub(), "hello")), get(urlOf("group", "hello"))]);
    expect([glAnswer.status, glAnswer.data]).toEqual([200, "GitLab group/sub"]);
    expect([ghAnswer.status, ghAnswer.data]).toEqual([200, "GitHub group"]);
    const functions = await deployed();
    const owners = Object.fromEntries(
      functions
        .filter((f) => [`${sub()}--hello`, "group--hello"].includes(f.name))
        .map((f) => [f.name, [f.labels["com.openfaas.cloud.git-owner-id"], f.labels["com.openfaas.cloud.git-scm"]]]),
    );
    expect(owners).toEqual({
      [`${sub()}--hello`]: [`gitlab-${gl.project.namespace.id}`, "gitlab"],
      "group--hello": [expect.stringMatching(/^[1-9][0-9]*$/), "github"],
    });
  });

  it("(c) acme/shop loses the opt-in topic and GitLab sends project_update → its functions are removed; group/sub's stays", async () => {
    cloud.gitlab.setTopics(shop.project.id, []);
    const sent = await cloud.sendGitlabHook(cloud.gitlab.projectEvent("project_update", shop.project, {}));
    expect(sent.status).toBeLessThan(300);
    const gone = await eventually(async () => {
      const answers = await Promise.all(["alpha", "beta"].map((name) => get(urlOf(acme(), name))));
      return answers.every((a) => a.status === 404);
    });
    expect(gone).toBe(true);
    const names = (await deployed()).map((f) => f.name);
    expect(names.filter((n) => n.startsWith(`${acme()}--`))).toEqual([]);
    expect(names).toEqual(expect.arrayContaining([`${sub()}--hello`, "group--hello"]));
    const kept = await get(urlOf(sub(), "hello"));
    expect([kept.status, kept.data]).toEqual([200, "GitLab group/sub"]);
  });

  it("(d) a wrong or missing X-Gitlab-Token → 401: no status, no deployment", async () => {
    const { project, sha } = await cloud.publishGitlab("acme/intruder", {
      "stack.yml": stack(["delta"]),
      ...fn("delta", "should never run"),
    });
    const payload = await cloud.gitlab.pushEvent(project, { before: "0".repeat(40), after: sha, hook: "system" });
    for (const token of ["wrong-token", "", null]) {
      const res = await cloud.sendGitlabHook(payload, { token });
      expect([token, res.status]).toEqual([token, 401]);
    }
    // The hook's public address through the edge router, system.<domain>/gitlab-event, reaches the same check.
    const viaEdge = await axios.post<string>(`http://system.localhost:${cloud.edgePort}/gitlab-event`, payload.body, {
      headers: { ...payload.headers, "X-Gitlab-Token": "wrong-token" },
      responseType: "text",
      validateStatus: () => true,
      httpAgent: agent,
    });
    expect([viaEdge.status, viaEdge.data]).toEqual([401, expect.stringMatching(/X-Gitlab-Token/)]);
    // gitlab-push posts its pending status before gitlab-event answers, so none now means none forwarded; a few
    // seconds more would show a queued build's statuses or deployment.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(cloud.gitlab.statuses({ projectId: project.id, sha })).toEqual([]);
    expect((await deployed()).map((f) => f.name)).not.toContain(`${acme()}--delta`);
    expect((await get(urlOf(acme(), "delta"))).status).toBe(404);
  });

  it("(e) a push from a namespace not on the customers list (outsider, or acme-evil beside acme) → 403: no status", async () => {
    for (const path of ["outsider/tool", "acme-evil/tool"]) {
      const { project, sha } = await cloud.publishGitlab(path, { "stack.yml": stack(["gamma"]), ...fn("gamma", "no") });
      const res = await cloud.gitlabPush(project, { after: sha });
      expect([path, res.status]).toEqual([path, 403]);
      expect(cloud.gitlab.statuses({ projectId: project.id, sha })).toEqual([]);
    }
  });
});
