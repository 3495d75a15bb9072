import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { pino } from "pino";
import { createCustomers } from "../../shared/customers.js";
import { createDeliveries } from "../../shared/deliveries.js";
import type { FunctionEvent } from "../../shared/function-handler.js";
import type { Gateway, Invocation } from "../../shared/gateway.js";
import { parseGitlabPush } from "../../shared/gitlab-push.js";
import { HttpError } from "../../shared/http-error.js";
import { gitlabOwner, gitlabOwnerId } from "../../shared/naming.js";
import { createGitlabApi } from "./gitlab-api.js";
import { createEventRouter, type GitlabEventDeps } from "./route-event.js";

// The router with the real delivery store, the real GitLab API client against a tiny GitLab API on 127.0.0.1, and a
// gateway that records what gitlab-event sends on. Self-contained: it runs inside gitlab-event's image build
// (test/ has the same rules over the GitLab stand-in and the fixtures).
const SECRET = "gitlab-hook-secret";
const API_TOKEN = "glpat-api-token";
const SHA = "da1560886d4f094c3e6c9ef40349f7d38b5d27d7";
const BEFORE = "95790bf891e76fee5e1747ab589903a6a1f80f22";

// GitLab's documented payloads, cut to the fields around those read; values as the docs show them.
// System hook push: https://docs.gitlab.com/administration/system_hooks/#push-events
const systemPush = (projectId = 15, pathWithNamespace = "mike/diaspora") => ({
  event_name: "push",
  before: BEFORE,
  after: SHA,
  ref: "refs/heads/master",
  checkout_sha: SHA,
  user_id: 4,
  user_name: "John Smith",
  user_email: "john@example.com",
  project_id: projectId,
  project: {
    name: "Diaspora",
    description: "",
    web_url: `http://example.com/${pathWithNamespace}`,
    git_http_url: `http://example.com/${pathWithNamespace}.git`,
    namespace: "Mike",
    visibility_level: 0,
    path_with_namespace: pathWithNamespace,
    default_branch: "master",
  },
  commits: [{ id: SHA, message: "fixed readme", timestamp: "2012-01-03T23:36:29+02:00" }],
  total_commits_count: 1,
});
// Project hook push: https://docs.gitlab.com/user/project/integrations/webhook_events/#push-events
const projectPush = () => ({ object_kind: "push", ...systemPush() });
// project_update / project_destroy / project_rename / project_transfer:
// https://docs.gitlab.com/administration/system_hooks/#hooks-request-example
const projectEvent = (name: string, extra: Record<string, unknown> = {}) => ({
  created_at: "2012-07-21T07:30:54Z",
  updated_at: "2012-07-21T07:38:22Z",
  event_name: name,
  name: "StoreCloud",
  owner_email: "johnsmith@example.com",
  owner_name: "John Smith",
  owners: [{ name: "John", email: "user1@example.com" }],
  path: "storecloud",
  path_with_namespace: "jsmith/storecloud",
  project_id: 74,
  project_namespace_id: 23,
  project_visibility: "private",
  ...extra,
});

/** GET /api/v4/projects/:id's answer (https://docs.gitlab.com/api/projects/#get-a-single-project), cut down. */
const apiProject = (
  id: number,
  fullPath: string,
  namespaceId: number,
  options: { topics?: string[]; tag_list?: string[]; visibility?: string } = {},
) => ({
  id,
  name: fullPath.split("/").at(-1),
  path: fullPath.split("/").at(-1),
  path_with_namespace: fullPath,
  web_url: `http://gitlab.example.com/${fullPath}`,
  visibility: options.visibility ?? "private",
  default_branch: "master",
  topics: options.topics ?? ["openfaas-cloud"],
  ...(options.tag_list ? { tag_list: options.tag_list } : {}),
  namespace: {
    id: namespaceId,
    name: fullPath.split("/").at(-2),
    path: fullPath.split("/").at(-2),
    kind: "group",
    full_path: fullPath.split("/").slice(0, -1).join("/"),
  },
});

/** A GitLab API that knows `projects` and `namespaces` (by full path) and records every call. */
async function startGitlabApi(data: { projects?: object[]; namespaces?: Array<{ id: number; full_path: string }> }) {
  const calls: Array<{ path: string; token: string | undefined }> = [];
  const server: Server = createServer((req, res) => {
    const path = req.url ?? "";
    const token = req.headers["private-token"] as string | undefined;
    calls.push({ path, token });
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    };
    if (token !== API_TOKEN) return send(401, { message: "401 Unauthorized" });
    const project = /^\/api\/v4\/projects\/(\d+)$/.exec(path);
    if (project) {
      const found = (data.projects ?? []).find((p) => (p as { id: number }).id === Number(project[1]));
      return found ? send(200, found) : send(404, { message: "404 Project Not Found" });
    }
    const namespace = /^\/api\/v4\/namespaces\/([^/]+)$/.exec(path);
    if (namespace) {
      const fullPath = decodeURIComponent(namespace[1]!);
      const found = (data.namespaces ?? []).find((n) => n.full_path === fullPath);
      return found ? send(200, { ...found, kind: "group" }) : send(404, { message: "404 Namespace Not Found" });
    }
    send(404, { error: "404 Not Found" });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, calls, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

interface Sent {
  kind: "invoke" | "invokeAsync";
  name: string;
  body: string;
  headers: Record<string, string> | undefined;
}

function recordingGateway(answer: Invocation = { status: 202, body: Buffer.from("queued"), headers: {} }) {
  const sent: Sent[] = [];
  const gateway = {
    invoke: (name: string, body: Buffer | string, headers?: Record<string, string>) => {
      sent.push({ kind: "invoke", name, body: body.toString(), headers });
      return Promise.resolve(answer);
    },
    invokeAsync: (name: string, body: Buffer | string, headers?: Record<string, string>) => {
      sent.push({ kind: "invokeAsync", name, body: body.toString(), headers });
      return Promise.resolve({});
    },
  } as Partial<Gateway> as Gateway;
  return { gateway, sent };
}

let api: Awaited<ReturnType<typeof startGitlabApi>> | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

async function router(
  data: Parameters<typeof startGitlabApi>[0] = {},
  overrides: Partial<GitlabEventDeps> = {},
  apiToken = API_TOKEN,
) {
  api = await startGitlabApi(data);
  const lines: Array<Record<string, unknown>> = [];
  const log = pino(
    { level: "info" },
    { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
  );
  const { gateway, sent } = recordingGateway();
  const deps: GitlabEventDeps = {
    webhookSecret: SECRET,
    api: createGitlabApi({ url: api.url, token: apiToken }),
    installationTag: "openfaas-cloud",
    gateway,
    deliveries: createDeliveries({ now: Date.now }),
    log,
    newId: () => "generated-id",
    ...overrides,
  };
  return { route: createEventRouter(deps), sent, lines, calls: api.calls };
}

let uuid = 0;
function hook(payload: unknown, headers: Record<string, string | undefined> = {}): FunctionEvent {
  const body = Buffer.from(typeof payload === "string" ? payload : JSON.stringify(payload));
  return {
    body,
    headers: {
      "x-gitlab-token": SECRET,
      "x-gitlab-event": "System Hook",
      "x-gitlab-event-uuid": `7b1f4bd6-0000-4000-8000-${String(++uuid).padStart(12, "0")}`,
      ...headers,
    },
    method: "POST",
    query: {},
    path: "/",
  };
}

/** The HttpError a route rejected with, or a failure when it resolved. */
async function refusal(promise: Promise<unknown>): Promise<HttpError> {
  const error = await promise.then(
    () => new Error("expected a refusal"),
    (e: unknown) => e,
  );
  if (!(error instanceof HttpError)) throw error;
  return error;
}

const tagged = apiProject(15, "mike/diaspora", 9);

describe("gitlab-event: the secret token", () => {
  it.each([
    ["missing", undefined],
    ["wrong", "not-the-secret"],
    ["the secret with a trailing byte", `${SECRET}x`],
    ["a prefix of the secret", SECRET.slice(0, 4)],
    ["empty", ""],
  ])("%s X-Gitlab-Token → 401, no API call, nothing forwarded", async (_, token) => {
    const { route, sent, calls } = await router({ projects: [tagged] });
    const error = await refusal(route(hook(systemPush(), { "x-gitlab-token": token })));
    expect([error.status, error.message]).toEqual([401, "invalid or missing X-Gitlab-Token"]);
    expect(calls).toEqual([]);
    expect(sent).toEqual([]);
  });

  it.each([
    ["no gitlab-webhook-secret", { webhookSecret: "" }],
    ["no gitlab_url", { api: undefined }],
  ])("%s → 503 GitLab is not configured, whatever the token", async (_, overrides) => {
    const { route, sent } = await router({ projects: [tagged] }, overrides);
    const error = await refusal(route(hook(systemPush(), { "x-gitlab-token": "" })));
    expect([error.status, error.message]).toEqual([
      503,
      "GitLab is not configured: set gitlab_url and the gitlab-webhook-secret secret",
    ]);
    expect(sent).toEqual([]);
  });

  it("not a POST → 405", async () => {
    const { route } = await router();
    const error = await refusal(route({ ...hook(systemPush()), method: "GET" }));
    expect([error.status, error.message]).toEqual([405, "gitlab-event accepts POST webhooks only"]);
  });
});

describe("gitlab-event: a push", () => {
  it.each([
    ["system hook", "System Hook", systemPush()],
    ["project hook", "Push Hook", projectPush()],
  ])("%s of a tagged project → a signed hop to gitlab-push with the normalised push", async (_, header, payload) => {
    const { route, sent, calls } = await router({ projects: [tagged] });
    const event = hook(payload, { "x-gitlab-event": header });
    expect(await route(event)).toEqual({ status: 202, body: "[gitlab-push]: 202, queued" });
    expect(calls).toEqual([{ path: "/api/v4/projects/15", token: API_TOKEN }]);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({
      kind: "invoke",
      name: "gitlab-push",
      headers: { "content-type": "application/json", "x-gitlab-event-uuid": event.headers["x-gitlab-event-uuid"] },
    });
    expect(parseGitlabPush(Buffer.from(sent[0]!.body))).toEqual({
      project: {
        id: 15,
        path: "diaspora",
        pathWithNamespace: "mike/diaspora",
        webUrl: "http://gitlab.example.com/mike/diaspora",
        visibility: "private",
        defaultBranch: "master",
        namespace: { id: 9, fullPath: "mike" },
      },
      ref: "refs/heads/master",
      before: BEFORE,
      after: SHA,
      deliveryId: event.headers["x-gitlab-event-uuid"],
    });
  });

  it("a payload that lies about the project → the API's project, namespace id and paths are forwarded", async () => {
    const { route, sent } = await router({ projects: [apiProject(15, "group/sub/real", 31)] });
    const lie = { ...systemPush(15, "group/sub/real"), project_namespace_id: 1 };
    (lie.project as Record<string, unknown>).namespace = { id: 1, full_path: "root" };
    lie.project.web_url = "http://evil.example.com/x";
    await route(hook(lie));
    const forwarded = parseGitlabPush(Buffer.from(sent[0]!.body));
    expect(forwarded.project.namespace).toEqual({ id: 31, fullPath: "group/sub" });
    expect(forwarded.project.webUrl).toBe("http://gitlab.example.com/group/sub/real");
  });

  it.each([
    ["no topics", { topics: [] }],
    ["another topic", { topics: ["openfaas"] }],
  ])("an un-tagged project (%s) → 200 asking for the topic, nothing forwarded", async (_, options) => {
    const { route, sent } = await router({ projects: [apiProject(15, "mike/diaspora", 9, options)] });
    expect(await route(hook(systemPush()))).toEqual({
      status: 200,
      body: 'To build this project add the topic "openfaas-cloud"',
    });
    expect(sent).toEqual([]);
  });

  it.each([
    ["topics, another case", { topics: ["go", "OpenFaaS-Cloud"] }],
    ["tag_list (GitLab before 14.0)", { topics: [], tag_list: ["openfaas-cloud"] }],
  ])("a project tagged in %s → forwarded", async (_, options) => {
    const { route, sent } = await router({ projects: [apiProject(15, "mike/diaspora", 9, options)] });
    expect(await route(hook(systemPush()))).toMatchObject({ status: 202 });
    expect(sent.map((s) => s.name)).toEqual(["gitlab-push"]);
  });

  it("installation_tag set → that topic is the opt-in", async () => {
    const projects = [apiProject(15, "mike/diaspora", 9, { topics: ["faas"] })];
    const { route, sent } = await router({ projects }, { installationTag: "faas" });
    expect(await route(hook(systemPush()))).toMatchObject({ status: 202 });
    expect(sent).toHaveLength(1);
  });

  it("a project the API token cannot see (404) → 200 saying so, nothing forwarded", async () => {
    const { route, sent } = await router({ projects: [] });
    expect(await route(hook(systemPush()))).toEqual({
      status: 200,
      body: "project 15 not found with the GitLab API token: nothing built",
    });
    expect(sent).toEqual([]);
  });

  it("the GitLab API refusing the token → 502, and the delivery released so GitLab's retry is handled", async () => {
    const { route, sent } = await router({ projects: [tagged] }, {}, "wrong-token");
    const event = hook(systemPush());
    // Twice: the first failure released the delivery id, so the retry is tried again rather than ignored.
    for (const attempt of [1, 2]) {
      const error = await refusal(route(event));
      expect([attempt, error.status, error.message]).toEqual([
        attempt,
        502,
        "GitLab API: GET /projects/15 answered 401",
      ]);
    }
    expect(sent).toEqual([]);
  });

  it("a redelivered X-Gitlab-Event-UUID → 200 ignored, forwarded once", async () => {
    const { route, sent } = await router({ projects: [tagged] });
    const event = hook(systemPush());
    expect(await route(event)).toMatchObject({ status: 202 });
    expect(await route(event)).toEqual({
      status: 200,
      body: `delivery ${event.headers["x-gitlab-event-uuid"]} was already received: ignored`,
    });
    expect(sent).toHaveLength(1);
  });

  it("the same event from a system hook and a project hook (one UUID) → built once", async () => {
    const { route, sent } = await router({ projects: [tagged] });
    const first = hook(systemPush());
    await route(first);
    await route(
      hook(projectPush(), {
        "x-gitlab-event": "Push Hook",
        "x-gitlab-event-uuid": first.headers["x-gitlab-event-uuid"],
      }),
    );
    expect(sent).toHaveLength(1);
  });

  it("a retry with a new X-Gitlab-Event-UUID but the same Idempotency-Key → built once", async () => {
    const { route, sent } = await router({ projects: [tagged] });
    const first = hook(systemPush(), { "idempotency-key": "retry-key-1" });
    expect(await route(first)).toMatchObject({ status: 202 });
    const retry = hook(systemPush(), { "idempotency-key": "retry-key-1" });
    expect(retry.headers["x-gitlab-event-uuid"]).not.toBe(first.headers["x-gitlab-event-uuid"]);
    expect(await route(retry)).toEqual({ status: 200, body: "delivery retry-key-1 was already received: ignored" });
    expect(sent).toHaveLength(1);
  });

  it("a push that fails releases both ids, so GitLab's retry builds", async () => {
    const { gateway } = recordingGateway({ status: 500, body: Buffer.from("down"), headers: {} });
    const { route } = await router({ projects: [tagged] }, { gateway });
    const event = hook(systemPush(), { "idempotency-key": "retry-key-2" });
    expect((await refusal(route(event))).status).toBe(502);
    // Not "already received": both ids were released, so the same delivery reaches gitlab-push again.
    expect((await refusal(route(event))).status).toBe(502);
  });

  it("no X-Gitlab-Event-UUID → forwarded with a generated delivery id", async () => {
    const { route, sent } = await router({ projects: [tagged] });
    await route(hook(systemPush(), { "x-gitlab-event-uuid": undefined }));
    expect(parseGitlabPush(Buffer.from(sent[0]!.body)).deliveryId).toBe("generated-id");
  });

  it.each([
    [500, 502],
    [401, 401],
  ])("gitlab-push answers %i → %i naming its status and text", async (status, expected) => {
    const { gateway } = recordingGateway({ status, body: Buffer.from(" it said no \n"), headers: {} });
    const { route } = await router({ projects: [tagged] }, { gateway });
    const error = await refusal(route(hook(systemPush())));
    expect([error.status, error.message]).toEqual([expected, `[gitlab-push]: ${status}, it said no`]);
  });
});

describe("gitlab-event: the customers list", () => {
  const customers = (list: string) => createCustomers({ list, http: undefined as never, now: Date.now });

  it.each([
    ["gitlab:group", "group/sub/fns", 202],
    ["gitlab:group", "group/fns", 202],
    ["gitlab:GROUP/Sub", "group/sub/fns", 202],
    ["gitlab:group/sub", "group/sub/deeper/fns", 202],
    ["gitlab:group", "groupie/fns", 403],
    ["gitlab:group/sub", "group/fns", 403],
    ["group", "group/fns", 403],
  ])("list %j, push to %s → %i", async (list, fullPath, expected) => {
    const namespaceId = 31;
    const projects = [apiProject(15, fullPath, namespaceId)];
    const { route, sent } = await router({ projects }, { customers: customers(list) });
    const outcome = await route(hook(systemPush(15, fullPath))).then(
      (reply) => reply.status,
      (error: HttpError) => error,
    );
    if (expected === 403) {
      expect(outcome).toBeInstanceOf(HttpError);
      const namespace = fullPath.slice(0, fullPath.lastIndexOf("/"));
      expect([(outcome as HttpError).status, (outcome as HttpError).message]).toEqual([
        403,
        `Customer: "gitlab:${namespace}" not found in customers ACL`,
      ]);
      expect(sent).toEqual([]);
    } else {
      expect(outcome).toBe(202);
    }
  });

  it("a payload claiming a listed namespace for a project the API places elsewhere → 403", async () => {
    const projects = [apiProject(15, "other/fns", 5)];
    const { route, sent } = await router({ projects }, { customers: customers("gitlab:group") });
    const error = await refusal(route(hook(systemPush(15, "group/fns"))));
    expect([error.status, error.message]).toEqual([403, 'Customer: "gitlab:other" not found in customers ACL']);
    expect(sent).toEqual([]);
  });

  it("a removal for a namespace not on the list → still collected", async () => {
    const namespaces = [{ id: 23, full_path: "jsmith" }];
    const { route, sent } = await router({ namespaces }, { customers: customers("gitlab:someone-else") });
    expect(await route(hook(projectEvent("project_destroy")))).toMatchObject({ status: 200 });
    expect(sent.map((s) => s.name)).toEqual(["garbage-collect"]);
  });
});

describe("gitlab-event: malformed and other hooks", () => {
  it.each([
    ["not JSON", "{", "system hook: body is not valid JSON"],
    ["no event_name", { object_kind: "push" }, "system hook: event_name: "],
    ["a push without its fields", { event_name: "push", project: {} }, "push event: ref: "],
    [
      "a push with a short SHA",
      { ...systemPush(), after: "abc" },
      "push event: after: expected a 40-character hex SHA",
    ],
    ["a project event without its id", { event_name: "project_destroy" }, "project event: project_id: "],
    ["a rename without the old path", projectEvent("project_rename"), "project event: old_path_with_namespace: "],
  ])("%s → 400 naming the fields, nothing forwarded", async (_, payload, message) => {
    const { route, sent, calls } = await router({ projects: [tagged] });
    const error = await refusal(route(hook(payload)));
    expect(error.status).toBe(400);
    expect(error.message.startsWith(message)).toBe(true);
    expect(sent).toEqual([]);
    expect(calls).toEqual([]);
  });

  it("a push without project.path_with_namespace → 400 naming every missing field", async () => {
    const { route } = await router();
    const payload: Partial<ReturnType<typeof systemPush>> = systemPush();
    delete payload.project;
    const error = await refusal(route(hook(payload)));
    expect(error.message).toBe("push event: project: Invalid input: expected object, received undefined");
  });

  it.each([
    ["System Hook", { event_name: "user_create" }, "user_create"],
    ["System Hook", { event_name: "tag_push" }, "tag_push"],
    ["System Hook", { event_name: "repository_update" }, "repository_update"],
    ["Tag Push Hook", { object_kind: "tag_push" }, "Tag Push Hook"],
    ["Merge Request Hook", { object_kind: "merge_request" }, "Merge Request Hook"],
  ])("%s %j → 200 ignored, nothing forwarded", async (header, payload, named) => {
    const { route, sent, calls } = await router({ projects: [tagged] });
    expect(await route(hook(payload, { "x-gitlab-event": header }))).toEqual({
      status: 200,
      body: `gitlab-event cannot handle event: ${named}: ignored`,
    });
    expect(sent).toEqual([]);
    expect(calls).toEqual([]);
  });
});

describe("gitlab-event: project events garbage-collect", () => {
  const garbage = (sent: Sent[]) =>
    sent.map((s) => ({ kind: s.kind, name: s.name, request: JSON.parse(s.body) as unknown }));

  it("project_update without the topic → one garbage-collect request for the project, by the API's namespace", async () => {
    const projects = [apiProject(74, "jsmith/StoreCloud", 23, { topics: ["go"] })];
    const { route, sent } = await router({ projects });
    expect(await route(hook(projectEvent("project_update")))).toEqual({
      status: 200,
      body: "project_update: garbage collection requested for jsmith/StoreCloud",
    });
    expect(garbage(sent)).toEqual([
      {
        kind: "invokeAsync",
        name: "garbage-collect",
        request: { functions: [], owner: gitlabOwner("jsmith"), ownerId: gitlabOwnerId(23), repo: "storecloud" },
      },
    ]);
  });

  it("project_update still tagged → nothing collected", async () => {
    const { route, sent } = await router({ projects: [apiProject(74, "jsmith/storecloud", 23)] });
    expect(await route(hook(projectEvent("project_update")))).toEqual({
      status: 200,
      body: "project_update: jsmith/storecloud still carries the topic",
    });
    expect(sent).toEqual([]);
  });

  it.each([
    ["project_rename", { path_with_namespace: "jsmith/underscore", old_path_with_namespace: "jsmith/overscore" }],
    ["project_transfer", { path_with_namespace: "scores/underscore", old_path_with_namespace: "jsmith/overscore" }],
  ])("%s → the OLD path's functions collected", async (name, paths) => {
    const namespaces = [
      { id: 23, full_path: "jsmith" },
      { id: 24, full_path: "scores" },
    ];
    const { route, sent, calls } = await router({ namespaces });
    expect(await route(hook(projectEvent(name, paths)))).toMatchObject({ status: 200 });
    expect(calls.map((c) => c.path)).toEqual(["/api/v4/namespaces/jsmith"]);
    expect(garbage(sent).map((g) => g.request)).toEqual([
      { functions: [], owner: gitlabOwner("jsmith"), ownerId: "gitlab-23", repo: "overscore" },
    ]);
  });

  it("project_destroy in a subgroup → collected via the namespace lookup (URL-encoded full path)", async () => {
    const namespaces = [{ id: 77, full_path: "group/sub" }];
    const { route, sent, calls } = await router({ namespaces });
    await route(hook(projectEvent("project_destroy", { path_with_namespace: "group/sub/fns" })));
    expect(calls.map((c) => c.path)).toEqual(["/api/v4/namespaces/group%2Fsub"]);
    expect(garbage(sent).map((g) => g.request)).toEqual([
      { functions: [], owner: gitlabOwner("group/sub"), ownerId: "gitlab-77", repo: "fns" },
    ]);
  });

  it("the namespace is gone (404) → logged, 200, nothing collected", async () => {
    const { route, sent, lines } = await router({ namespaces: [] });
    expect(await route(hook(projectEvent("project_destroy")))).toEqual({
      status: 200,
      body: "project_destroy: namespace of jsmith/storecloud not found in GitLab: nothing to collect",
    });
    expect(sent).toEqual([]);
    expect(lines).toContainEqual(
      expect.objectContaining({ msg: "namespace of jsmith/storecloud not found in GitLab: nothing to collect" }),
    );
  });

  it("project_update for a project GitLab no longer has → 200, nothing collected", async () => {
    const { route, sent } = await router({ projects: [] });
    expect(await route(hook(projectEvent("project_update")))).toMatchObject({ status: 200 });
    expect(sent).toEqual([]);
  });
});
