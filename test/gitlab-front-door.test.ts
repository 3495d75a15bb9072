import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { verifyHop } from "../shared/hmac.js";
import { parseBuildRequest } from "../shared/push.js";
import type { QueuedRequest } from "../local/gateway.js";
import {
  startGitlabStandin,
  type GitlabProject,
  type GitlabStandin,
  type ProjectEventKind,
} from "../local/gitlab-standin/server.js";
import { GITLAB_WEBHOOK_SECRET, PAYLOAD_SECRET, startGitlabFrontDoor, type Hook } from "./support/gitlab-front-door.js";

// Issue #19 (contract §6, §7): GitLab's front door end to end without Docker. GitLab's documented hook payloads
// (test/fixtures/gitlab/, filled for stand-in projects) go to the real gitlab-event under the local gateway, which asks
// the strict GitLab stand-in about the project and forwards a signed hop to the real gitlab-push, which posts the
// stack-deploy status to the stand-in and queues git-tar. What is asserted is what leaves the chain: the stand-in's
// record of API calls and statuses, and the gateway queue's requests.
const API_TOKEN = "glpat-front-door-api-token";
const TOPIC = "openfaas-cloud";
const FIXTURES = new URL("./fixtures/gitlab/", import.meta.url);
// Namespace ids set here, so an owner id can only be right if it came from the stand-in's API answer.
const NS = { group: 310, sub: 320, acme: 330, intruder: 340, other: 350 };

/** The owner key contract §1 specifies, computed here independently of shared/naming.ts. */
function ownerKey(fullPath: string): string {
  const lower = fullPath.toLowerCase();
  const slug = lower
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 20)
    .replace(/-+$/, "");
  const h8 = createHash("sha256").update(lower).digest("hex").slice(0, 8);
  return slug ? `${slug}-${h8}--gl` : `${h8}--gl`;
}

const fixture = (file: string) => JSON.parse(readFileSync(new URL(file, FIXTURES), "utf8")) as Record<string, unknown>;

let gl: GitlabStandin;
let door: Awaited<ReturnType<typeof startGitlabFrontDoor>>;
/** Opted in, in a customer's subgroup: the one every fixture push builds. */
let fns: { project: GitlabProject; sha: string };
/** Opted in, in a namespace not on the customers list. */
let intruder: { project: GitlabProject; sha: string };
let outsider: { project: GitlabProject; sha: string };
/** A customer's project without the opt-in topic. */
let plain: { project: GitlabProject; sha: string };
/** Opted in, in a namespace whose path starts with a customer's. */
let groupie: { project: GitlabProject; sha: string };

async function project(fullPath: string, namespaceId: number, topics = [TOPIC]) {
  const { project, repo } = await gl.createProject({ fullPath, namespaceId, topics });
  const sha = await repo.commit({ "stack.yml": "version: 1.0\nfunctions: {}\n" }, `first commit of ${fullPath}`);
  await repo.push();
  return { project, sha };
}

/** A project only project events name: no commits needed. */
const eventProject = async (fullPath: string, namespaceId: number) =>
  (await gl.createProject({ fullPath, namespaceId, topics: [TOPIC] })).project;

beforeAll(async () => {
  gl = await startGitlabStandin({ token: API_TOKEN });
  gl.createNamespace({ fullPath: "group", id: NS.group });
  gl.createNamespace({ fullPath: "acme", id: NS.acme });
  const started = startGitlabFrontDoor({
    standin: gl,
    apiToken: API_TOKEN,
    customers: "gitlab:group\ngitlab:acme\nsomeone-on-github\n",
  });
  [fns, intruder, outsider, plain, groupie] = await Promise.all([
    project("group/sub/fns", NS.sub),
    project("intruder/app", NS.intruder),
    project("other/app", NS.other),
    project("group/plain", NS.group, []),
    project("groupie/app", 360),
  ]);
  door = await started;
});
afterAll(async () => {
  await door.close();
  await gl.close();
});
beforeEach(() => {
  gl.reset();
  door.queued.length = 0;
});

const push = (p: { project: GitlabProject; sha: string }, hook: "system" | "project" = "system") =>
  gl.pushEvent(p.project, { before: "0".repeat(40), after: p.sha, hook });

/** The queued requests for one function, each checked to be signed for it, with their JSON bodies. */
function queuedFor(fn: string): Array<{ request: QueuedRequest; body: Record<string, unknown> }> {
  return door.queued
    .filter((q) => q.function === fn)
    .map((request) => {
      expect(verifyHop(PAYLOAD_SECRET, fn, request.body, request.headers["x-cloud-signature-256"])).toBe(true);
      return { request, body: JSON.parse(request.body.toString()) as Record<string, unknown> };
    });
}

/** A refused hook: nothing queued, no status posted. */
function expectNothingHappened() {
  expect(door.queued).toEqual([]);
  expect(gl.statuses()).toEqual([]);
}

describe("gitlab-event → gitlab-push: GitLab's documented pushes of an opted-in project", () => {
  const pushFixtures: Array<[file: string, hook: "system" | "project", header: string]> = [
    ["system-push.json", "system", "System Hook"],
    ["project-push.json", "project", "Push Hook"],
  ];
  const projectFixtures: ProjectEventKind[] = [
    "project_update",
    "project_destroy",
    "project_rename",
    "project_transfer",
  ];

  // The pushes are sent below, the project events in the last describe block.
  it("every fixture in test/fixtures/gitlab/ is one this file sends", () => {
    const sent = [
      ...pushFixtures.map(([file]) => file),
      ...projectFixtures.map((k) => `system-${k.replace("_", "-")}.json`),
    ];
    expect(
      readdirSync(FIXTURES)
        .filter((f) => f.endsWith(".json"))
        .sort(),
    ).toEqual(sent.sort());
  });

  it.each(pushFixtures)(
    "%s → 202, one git-tar build owned by the API's namespace, stack-deploy pending",
    async (file, kind, header) => {
      const hook = await push(fns, kind);
      // As GitLab sends it: the documented example's keys, filled for the stand-in project.
      expect(hook.headers["X-Gitlab-Event"]).toBe(header);
      expect(Object.keys(hook.body).sort()).toEqual(Object.keys(fixture(file)).sort());
      const uuid = hook.headers["X-Gitlab-Event-UUID"]!;
      const webUrl = `${gl.url}/group/sub/fns`;

      const res = await door.sendHook(hook);

      expect([res.status, res.data]).toEqual([
        202,
        `[gitlab-push]: 202, Push: group/sub/fns@refs/heads/master [${webUrl}], git-tar: 202`,
      ]);
      const builds = queuedFor("git-tar");
      expect(door.queued).toHaveLength(1);
      expect(builds[0]!.body).toEqual({
        scm: "gitlab",
        owner: ownerKey("group/sub"),
        ownerId: `gitlab-${NS.sub}`,
        repo: "fns",
        fullName: "group/sub/fns",
        repoUrl: webUrl,
        private: true,
        sha: fns.sha,
        ref: "refs/heads/master",
        branch: "master",
        installationId: fns.project.id,
        deliveryId: uuid,
      });
      // git-tar would take it, and the queue-worker reports back to gitlab-push, which serves the build-result path.
      expect(() => parseBuildRequest(builds[0]!.request.body)).not.toThrow();
      expect(builds[0]!.request.callbackUrl).toMatch(new RegExp(`^${door.gatewayUrl}function/gitlab-push/`));

      expect(
        gl.statuses().map(({ projectId, sha, ref, name, state, description }) => ({
          projectId,
          sha,
          ref,
          name,
          state,
          description,
        })),
      ).toEqual([
        {
          projectId: fns.project.id,
          sha: fns.sha,
          ref: "master",
          name: "stack-deploy",
          state: "pending",
          description: `${ownerKey("group/sub")}-fns stack deploy is in progress`,
        },
      ]);
      // gitlab-event read the project, gitlab-push posted the status: both with the API token, both accepted.
      expect(gl.calls.map((c) => [c.method, c.path, c.status, c.headers["private-token"]])).toEqual([
        ["GET", `/projects/${fns.project.id}`, 200, API_TOKEN],
        ["POST", `/projects/${fns.project.id}/statuses/${fns.sha}`, 201, API_TOKEN],
      ]);
    },
  );

  it("a redelivery (same X-Gitlab-Event-UUID) builds once, and so does the same push through both hooks", async () => {
    const hook = await push(fns);
    expect((await door.sendHook(hook)).status).toBe(202);
    const again = await door.sendHook(hook);
    const uuid = hook.headers["X-Gitlab-Event-UUID"]!;
    expect([again.status, again.data]).toEqual([200, `delivery ${uuid} was already received: ignored`]);
    // GitLab gives a push that reaches a system hook and a project hook the same UUID.
    const projectHook = await push(fns, "project");
    projectHook.headers["X-Gitlab-Event-UUID"] = uuid;
    expect((await door.sendHook(projectHook)).status).toBe(200);

    expect(queuedFor("git-tar")).toHaveLength(1);
    expect(door.queued).toHaveLength(1);
    expect(gl.statuses().map((s) => [s.name, s.state])).toEqual([["stack-deploy", "pending"]]);
  });
});

describe("gitlab-event: hostile hooks", () => {
  const wrongSameLength = GITLAB_WEBHOOK_SECRET.slice(0, -1) + (GITLAB_WEBHOOK_SECRET.endsWith("x") ? "y" : "x");
  it.each([
    ["missing X-Gitlab-Token", null],
    ["a wrong token", "not-the-secret"],
    ["a token of the right length but wrong", wrongSameLength],
    ["the secret with a suffix", `${GITLAB_WEBHOOK_SECRET}x`],
  ])("%s → 401, no GitLab API call, nothing queued", async (_, token) => {
    expect(wrongSameLength).toHaveLength(GITLAB_WEBHOOK_SECRET.length);
    const res = await door.sendHook(await push(fns), { token });
    expect([res.status, res.data]).toEqual([401, "invalid or missing X-Gitlab-Token"]);
    expect(gl.calls).toEqual([]);
    expectNothingHappened();
  });

  it("a project hook with a wrong token → 401 as well, project events too", async () => {
    expect((await door.sendHook(await push(fns, "project"), { token: "x" })).status).toBe(401);
    expect((await door.sendHook(gl.projectEvent("project_destroy", fns.project), { token: null })).status).toBe(401);
    expect(gl.calls).toEqual([]);
    expectNothingHappened();
  });

  it("a namespace not on the customers list → 403 before any API call, nothing queued, no status", async () => {
    const res = await door.sendHook(await push(outsider));
    expect([res.status, res.data]).toEqual([403, 'Customer: "gitlab:other" not found in customers ACL']);
    expect(gl.calls).toEqual([]);
    expectNothingHappened();
  });

  it("`gitlab:group` admits its subgroups but not a namespace that merely starts with it", async () => {
    const res = await door.sendHook(await push(groupie));
    expect([res.status, res.data]).toEqual([403, 'Customer: "gitlab:groupie" not found in customers ACL']);
    expectNothingHappened();
  });

  const systemHook = (body: unknown): Hook => ({
    headers: { "Content-Type": "application/json", "X-Gitlab-Event": "System Hook" },
    body,
  });
  const pushBody = async (change: (body: Record<string, unknown>) => void) => {
    const { body } = await push(fns);
    change(body);
    return body;
  };
  it.each([
    ["malformed JSON", () => systemHook('{"event_name": "push",'), /^system hook: body is not valid JSON$/],
    ["a JSON array", () => systemHook("[]"), /^system hook: body: .*expected object, received array/],
    [
      "a push missing the project id",
      async () =>
        systemHook(
          await pushBody((b) => {
            delete b.project_id;
            delete (b.project as Record<string, unknown>).id;
          }),
        ),
      /^push event: project_id: .*expected number/,
    ],
    [
      "a ref that is not a string",
      async () => systemHook(await pushBody((b) => (b.ref = ["refs/heads/master"]))),
      /^push event: ref: .*expected string/,
    ],
    [
      "a project hook push that is not JSON",
      () => ({ headers: { "Content-Type": "application/json", "X-Gitlab-Event": "Push Hook" }, body: "push" }),
      /^push hook: body is not valid JSON$/,
    ],
  ])("%s → 400 naming the problem, no API call, nothing queued", async (_, hook, message) => {
    const res = await door.sendHook(await hook());
    expect(res.status).toBe(400);
    expect(res.data).toMatch(message);
    expect(gl.calls).toEqual([]);
    expectNothingHappened();
  });

  it("a payload claiming namespace acme for a customer's project → built as the API's namespace, never acme", async () => {
    const hook = await push(fns);
    Object.assign(hook.body.project as Record<string, unknown>, {
      path_with_namespace: "acme/fns",
      namespace: "acme",
      web_url: "https://evil.example.com/acme/fns",
    });
    expect((await door.sendHook(hook)).status).toBe(202);
    const builds = queuedFor("git-tar");
    expect(builds).toHaveLength(1);
    expect(builds[0]!.body).toMatchObject({
      owner: ownerKey("group/sub"),
      ownerId: `gitlab-${NS.sub}`,
      fullName: "group/sub/fns",
      repoUrl: `${gl.url}/group/sub/fns`,
    });
    expect(door.queued[0]!.body.toString()).not.toMatch(/acme|evil/);
  });

  it("a payload claiming namespace acme for a project the API puts in a non-customer namespace → 403", async () => {
    const hook = await push(intruder);
    (hook.body.project as Record<string, unknown>).path_with_namespace = "acme/app";
    const res = await door.sendHook(hook);
    expect([res.status, res.data]).toEqual([403, 'Customer: "gitlab:intruder" not found in customers ACL']);
    // It got as far as asking GitLab, and no further.
    expect(gl.calls.map((c) => [c.method, c.path, c.status])).toEqual([
      ["GET", `/projects/${intruder.project.id}`, 200],
    ]);
    expectNothingHappened();
  });
});

describe("gitlab-event: the opt-in topic and project events", () => {
  it("a push of a project without the topic → 200 asking for it, nothing queued, no status; with it → built", async () => {
    const res = await door.sendHook(await push(plain));
    expect([res.status, res.data]).toEqual([200, `To build this project add the topic "${TOPIC}"`]);
    expectNothingHappened();
    expect(gl.calls.filter((c) => c.method !== "GET")).toEqual([]);

    gl.setTopics(plain.project.id, ["Other", TOPIC.toUpperCase()]);
    try {
      expect((await door.sendHook(await push(plain))).status).toBe(202);
      expect(queuedFor("git-tar").map((b) => [b.body.owner, b.body.ownerId, b.body.repo])).toEqual([
        [ownerKey("group"), `gitlab-${NS.group}`, "plain"],
      ]);
    } finally {
      gl.setTopics(plain.project.id, []);
    }
  });

  /** Sends a project event with a forged `project_namespace_id`: the owner id must come from the API instead. */
  async function projectEvent(kind: ProjectEventKind, p: GitlabProject, old?: string) {
    const hook = gl.projectEvent(kind, p, old ? { oldPathWithNamespace: old } : {});
    expect(hook.headers["X-Gitlab-Event"]).toBe("System Hook");
    hook.body.project_namespace_id = 999;
    return door.sendHook(hook);
  }

  it("project_update that drops the topic → garbage-collect of that project, owned by the API's namespace id", async () => {
    const dropped = await eventProject("group/sub/dropped", NS.sub);
    gl.setTopics(dropped.id, ["something-else"]);
    const res = await projectEvent("project_update", dropped);
    expect([res.status, res.data]).toEqual([200, "project_update: garbage collection requested for group/sub/dropped"]);
    expect(queuedFor("garbage-collect").map((q) => q.body)).toEqual([
      { functions: [], repo: "dropped", owner: ownerKey("group/sub"), ownerId: `gitlab-${NS.sub}` },
    ]);
    expect(door.queued).toHaveLength(1);
    expect(gl.calls.map((c) => [c.method, c.path, c.status])).toEqual([["GET", `/projects/${dropped.id}`, 200]]);
    expect(gl.statuses()).toEqual([]);
  });

  it("project_update that keeps the topic → nothing collected", async () => {
    const res = await projectEvent("project_update", fns.project);
    expect([res.status, res.data]).toEqual([200, "project_update: group/sub/fns still carries the topic"]);
    expect(door.queued).toEqual([]);
  });

  it("project_rename → collects the OLD path, in its namespace", async () => {
    const renamed = await eventProject("group/sub/new-name", NS.sub);
    const res = await projectEvent("project_rename", renamed, "group/sub/old-name");
    expect([res.status, res.data]).toEqual([
      200,
      "project_rename: garbage collection requested for group/sub/old-name",
    ]);
    expect(queuedFor("garbage-collect").map((q) => q.body)).toEqual([
      { functions: [], repo: "old-name", owner: ownerKey("group/sub"), ownerId: `gitlab-${NS.sub}` },
    ]);
    expect(door.queued).toHaveLength(1);
    expect(gl.calls.map((c) => [c.method, c.path, c.status])).toEqual([
      ["GET", `/namespaces/${encodeURIComponent("group/sub")}`, 200],
    ]);
  });

  it("project_transfer → collects under the OLD namespace (its owner key and id), not the new one", async () => {
    const moved = await eventProject("acme/moved", NS.acme);
    const res = await projectEvent("project_transfer", moved, "group/sub/moved");
    expect([res.status, res.data]).toEqual([200, "project_transfer: garbage collection requested for group/sub/moved"]);
    expect(queuedFor("garbage-collect").map((q) => q.body)).toEqual([
      { functions: [], repo: "moved", owner: ownerKey("group/sub"), ownerId: `gitlab-${NS.sub}` },
    ]);
    expect(door.queued).toHaveLength(1);
  });

  it("project_transfer from a namespace GitLab no longer has → 200 skipped, nothing collected", async () => {
    const orphan = await eventProject("acme/orphan", NS.acme);
    const res = await projectEvent("project_transfer", orphan, "gone-group/orphan");
    expect([res.status, res.data]).toEqual([
      200,
      "project_transfer: namespace of gone-group/orphan not found in GitLab: nothing to collect",
    ]);
    expect(door.queued).toEqual([]);
  });

  it("project_destroy → collects the project; removals hold even for a namespace not on the customers list", async () => {
    const doomed = await eventProject("group/doomed", NS.group);
    const outside = await eventProject("other/doomed", NS.other);
    for (const p of [doomed, outside]) {
      const hook = gl.projectEvent("project_destroy", p);
      hook.body.project_namespace_id = 999;
      gl.deleteProject(p.id);
      const res = await door.sendHook(hook);
      expect([res.status, res.data]).toEqual([
        200,
        `project_destroy: garbage collection requested for ${p.pathWithNamespace}`,
      ]);
    }
    expect(queuedFor("garbage-collect").map((q) => q.body)).toEqual([
      { functions: [], repo: "doomed", owner: ownerKey("group"), ownerId: `gitlab-${NS.group}` },
      { functions: [], repo: "doomed", owner: ownerKey("other"), ownerId: `gitlab-${NS.other}` },
    ]);
    expect(door.queued).toHaveLength(2);
    expect(gl.statuses()).toEqual([]);
  });
});
