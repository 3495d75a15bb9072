import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { generateKeyPairSync } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as buildReaper from "../functions/build-reaper/handler.js";
import * as buildshiprun from "../functions/buildshiprun/handler.js";
import * as dashboardApi from "../functions/dashboard-api/handler.js";
import * as edgeAuth from "../functions/edge-auth/handler.js";
import * as garbageCollect from "../functions/garbage-collect/handler.js";
import * as gitTar from "../functions/git-tar/handler.js";
import * as githubEvent from "../functions/github-event/handler.js";
import * as githubPush from "../functions/github-push/handler.js";
import * as pipelineLog from "../functions/pipeline-log/handler.js";
import type { FunctionContext, FunctionEvent, PrecheckedHandler } from "../shared/function-handler.js";
import { signHop, signPayload } from "../shared/hmac.js";
import { SESSION_COOKIE, signSession } from "../shared/session.js";

// Each function's composition root, fed what a deployment gives it: environment plus secret files, every security
// setting left at its default. Issue #12: a switch wired the wrong way round (validate_hmac, validate_customers,
// readonly_root_filesystem, the secret a stage verifies with) is caught here, not only by the end-to-end suites.
const roots = {
  buildshiprun,
  "garbage-collect": garbageCollect,
  "git-tar": gitTar,
  "github-event": githubEvent,
  "github-push": githubPush,
  "pipeline-log": pipelineLog,
  "build-reaper": buildReaper,
};
type Name = keyof typeof roots;
const STAGES = ["buildshiprun", "garbage-collect", "git-tar", "github-push", "pipeline-log"] as const;
const SECRETS = [
  "github-webhook-secret",
  "payload-secret",
  "basic-auth-user",
  "basic-auth-password",
  "s3-access-key",
  "s3-secret-key",
];
const secretValue = (name: string) => `${name}-value`;
/** The session key pair edge-auth signs with and dashboard-api checks with (issue #13). */
const session = generateKeyPairSync("ec", { namedCurve: "P-256" });

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "secrets-"));
  for (const name of SECRETS) await writeFile(join(dir, name), `${secretValue(name)}\n`);
  await writeFile(join(dir, "customers"), "# who may build\nAlice\n");
  const { privateKey } = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    privateKeyEncoding: { type: "pkcs1", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  });
  await writeFile(join(dir, "private-key"), privateKey);
  await writeFile(join(dir, "oauth-client-secret"), secretValue("oauth-client-secret"));
  await writeFile(join(dir, "jwt-private-key"), session.privateKey.export({ type: "pkcs8", format: "pem" }));
  await writeFile(join(dir, "jwt-public-key"), session.publicKey.export({ type: "spki", format: "pem" }));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** What a deployment sets; nothing about security, so every switch is at its default. */
const env = (overrides: Record<string, string> = {}) => ({
  secret_mount_path: dir,
  // Nothing listens there: a request that got past the checks under test would fail, not pass.
  gateway_url: "http://127.0.0.1:9/",
  gateway_public_url: "https://cloud.example.com/",
  github_app_id: "12345",
  repository_url: "registry.example.com/",
  push_repository_url: "registry.example.com/",
  s3_url: "127.0.0.1:9",
  log_level: "silent",
  ...overrides,
});

/** Runs a handler as the function server does (precheck first) and returns its answer. */
async function call(
  handler: PrecheckedHandler,
  request: { method?: string; path?: string; body?: string; headers?: Record<string, string>; query?: object },
): Promise<{ status: number; body: string }> {
  const event: FunctionEvent = {
    method: request.method ?? "POST",
    path: request.path ?? "/",
    body: Buffer.from(request.body ?? ""),
    headers: request.headers ?? {},
    query: (request.query ?? {}) as FunctionEvent["query"],
  };
  const refused = handler.precheck?.(event);
  if (refused) return { status: refused.status, body: refused.message };
  let status = 200;
  let body: unknown;
  const context = {
    status: (code?: number) => (code === undefined ? status : ((status = code), context)),
    headers: () => context,
    succeed: (value: unknown) => void (body = value),
    fail: (error: unknown) => void (body = error),
  } as unknown as FunctionContext;
  await handler(event, context);
  return { status, body: typeof body === "string" ? body : JSON.stringify(body) };
}

const build = (name: Name, overrides: Record<string, string> = {}): PrecheckedHandler => {
  const root = roots[name];
  return root.createHandler(root.depsFromEnv(env(overrides)) as never);
};

describe("composition roots with default settings: internal stages verify hops with the payload-secret file", () => {
  it.each(STAGES)("%s: an unsigned POST → 401", async (name) => {
    const res = await call(build(name), { body: "{}" });
    expect(res).toEqual({ status: 401, body: `invalid, stale or missing X-Cloud-Signature-256 for ${name}` });
  });

  it.each(STAGES)("%s: a hop signed with the webhook secret → 401", async (name) => {
    const headers = { "x-cloud-signature-256": signHop(secretValue("github-webhook-secret"), name, "{}") };
    const res = await call(build(name), { body: "{}", headers });
    expect(res.status).toBe(401);
  });

  it.each(STAGES)("%s: a hop signed for another stage with the payload secret → 401", async (name) => {
    const other = name === "git-tar" ? "buildshiprun" : "git-tar";
    const headers = { "x-cloud-signature-256": signHop(secretValue("payload-secret"), other, "{}") };
    const res = await call(build(name), { body: "{}", headers });
    expect(res.status).toBe(401);
  });

  it.each(STAGES)("%s: a hop signed with the payload secret → past the signature check (400 on `{}`)", async (name) => {
    const headers = { "x-cloud-signature-256": signHop(secretValue("payload-secret"), name, "{}") };
    const res = await call(build(name), { body: "{}", headers });
    expect(res.status).toBe(400);
  });
});

describe("github-event's composition root", () => {
  const push = (login: string) =>
    JSON.stringify({
      ref: "refs/heads/main",
      after: "04b8e44aaaabbbbccccddddeeeeffff000011112",
      repository: {
        name: "fns",
        full_name: `${login}/fns`,
        clone_url: `https://github.com/${login}/fns.git`,
        html_url: `https://github.com/${login}/fns`,
        private: false,
        default_branch: "main",
        owner: { login, id: 1 },
      },
      installation: { id: 7 },
    });
  const installation = (login: string) =>
    JSON.stringify({ action: "created", installation: { id: 7, account: { login, id: 1001 } } });
  let deliveries = 0;
  const webhook = (event: string, body: string, signed = true) => ({
    body,
    headers: {
      "x-github-event": event,
      "x-github-delivery": `delivery-${++deliveries}`,
      ...(signed ? { "x-hub-signature-256": signPayload(secretValue("github-webhook-secret"), body) } : {}),
    },
  });

  it("default settings → validate_hmac on: an unsigned webhook → 401", async () => {
    const res = await call(build("github-event"), webhook("installation", installation("alice"), false));
    expect(res).toEqual({ status: 401, body: "invalid or missing X-Hub-Signature-256" });
  });

  it("default settings → signed with the github-webhook-secret file's value → accepted", async () => {
    const res = await call(build("github-event"), webhook("installation", installation("alice")));
    expect(res).toEqual({ status: 200, body: "Message received with event: installation" });
  });

  it("default settings → signed with the payload secret → 401 (each secret has one use)", async () => {
    const body = installation("alice");
    const headers = { ...webhook("installation", body).headers };
    headers["x-hub-signature-256"] = signPayload(secretValue("payload-secret"), body);
    expect((await call(build("github-event"), { body, headers })).status).toBe(401);
  });

  it("default settings → validate_customers on: a signed push from an owner not on the list → 403", async () => {
    const res = await call(build("github-event"), webhook("push", push("mallory")));
    expect(res).toEqual({ status: 403, body: 'Customer: "mallory" not found in customers ACL' });
  });

  it("default settings → a redelivered webhook (same X-GitHub-Delivery) → ignored", async () => {
    const handler = build("github-event");
    const first = webhook("installation", installation("alice"));
    expect((await call(handler, first)).status).toBe(200);
    expect(await call(handler, first)).toEqual({
      status: 200,
      body: `delivery ${first.headers["x-github-delivery"]} was already received: ignored`,
    });
  });

  it("validate_hmac=false → an unsigned webhook gets past the signature check (to the customers check: 403)", async () => {
    const handler = build("github-event", { validate_hmac: "false" });
    expect((await call(handler, webhook("push", push("mallory"), false))).status).toBe(403);
  });

  it("validate_customers=false → an owner not on the list gets past the customers check", async () => {
    const handler = build("github-event", { validate_customers: "false" });
    // Onwards to github-push through the gateway, where nothing listens here.
    expect((await call(handler, webhook("push", push("mallory")))).status).not.toBe(403);
    expect(githubEvent.depsFromEnv(env({ validate_customers: "false" })).customers).toBeUndefined();
  });
});

describe("the other composition roots' security settings at their defaults", () => {
  it("buildshiprun → read-only root filesystem on, payload secret from its file", () => {
    const deps = buildshiprun.depsFromEnv(env());
    expect(deps.policy.readonlyRootFilesystem).toBe(true);
    expect(deps.payloadSecret).toBe(secretValue("payload-secret"));
    expect(buildshiprun.depsFromEnv(env({ readonly_root_filesystem: "false" })).policy.readonlyRootFilesystem).toBe(
      false,
    );
  });

  it("git-tar → dockerfile lang off, 5 functions per repo, 100 MiB clones from github.com only", () => {
    expect(gitTar.depsFromEnv(env())).toMatchObject({
      payloadSecret: secretValue("payload-secret"),
      enableDockerfileLang: false,
      functionsPerRepoLimit: 5,
      maxRepoBytes: 100 * 1024 * 1024,
      githubUrl: "https://github.com",
    });
  });

  it("github-push → the repository's default branch builds (no build_branch), callbacks to itself", () => {
    expect(githubPush.depsFromEnv(env())).toMatchObject({
      payloadSecret: secretValue("payload-secret"),
      buildBranch: undefined,
      selfUrl: "http://127.0.0.1:9/function/github-push",
    });
  });

  it("pipeline-log → a build-log link with a wrong signature → 404, the same answer as a missing log", async () => {
    const query = { owner: "alice", repo: "fns", sha: "04b8e44aaaabbbbccccddddeeeeffff000011112", function: "api" };
    const res = await call(build("pipeline-log"), { method: "GET", query: { ...query, sig: "0".repeat(64) } });
    expect(res).toEqual({ status: 404, body: "no build log for alice/fns@04b8e44 api" });
  });
});

describe("build-reaper's composition root (issue #11)", () => {
  it("the deadlines at their defaults: 30m in the queue, 3m without a heartbeat", () => {
    expect(buildReaper.depsFromEnv(env()).deadlines).toEqual({
      pendingDeadlineMs: 1_800_000,
      heartbeatTimeoutMs: 180_000,
    });
  });

  it("a call signed with the webhook secret → 401: a signature, when present, must be the payload secret's", async () => {
    const headers = { "x-cloud-signature-256": signHop(secretValue("github-webhook-secret"), "build-reaper", "") };
    expect((await call(build("build-reaper"), { headers })).status).toBe(401);
  });
});

describe("composition roots without their secrets", () => {
  it.each(Object.keys(roots))("%s → an error naming the missing payload-secret", (name) => {
    expect(() => roots[name as Name].depsFromEnv({ ...env(), secret_mount_path: join(dir, "nowhere") })).toThrow(
      /secret payload-secret: unable to read .*nowhere\/payload-secret/,
    );
  });
});

// Issue #13: the login and the dashboard's APIs. A session is checked with the jwt-public-key file, and `operators`
// (one value in gateway_config.yml, read by both) widens what a session may see only for the logins it names.
describe("edge-auth's and dashboard-api's composition roots", () => {
  const sessionEnv = (overrides: Record<string, string> = {}) =>
    env({ client_id: "Iv1.0123456789abcdef", system_public_url: "https://system.example.com", ...overrides });
  const cookie = async (login: string, key = session.privateKey) =>
    `${SESSION_COOKIE}=${await signSession({ userId: 1, login, orgs: [] }, key, { nowMs: Date.now(), ttlMs: 60_000 })}`;
  const dashboard = (overrides?: Record<string, string>) =>
    dashboardApi.createHandler(dashboardApi.depsFromEnv(sessionEnv(overrides)));
  const get = (path: string, query: object, cookieHeader?: string) => ({
    method: "GET",
    path,
    query,
    headers: cookieHeader ? { cookie: cookieHeader } : ({} as Record<string, string>),
  });

  it.each(["/list-functions", "/function-logs", "/system-metrics", "/builds", "/build-log"])(
    "dashboard-api %s, default settings, no session cookie → 401",
    async (path) => {
      expect((await call(dashboard(), get(path, { owner: "alice", function: "api" }))).status).toBe(401);
    },
  );

  it("dashboard-api, a session signed with another key → 401", async () => {
    const other = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
    const res = await call(dashboard(), get("/list-functions", { owner: "alice" }, await cookie("alice", other)));
    expect(res.status).toBe(401);
  });

  it("dashboard-api, default operators (none) → bob may not see alice: 403", async () => {
    const res = await call(dashboard(), get("/function-logs", { owner: "alice" }, await cookie("bob")));
    expect(res).toEqual({ status: 403, body: "not allowed to see alice's functions" });
  });

  it("dashboard-api, operators=Bob → bob gets past the owner check (to the missing ?function=: 400)", async () => {
    const res = await call(
      dashboard({ operators: "Bob" }),
      get("/function-logs", { owner: "alice" }, await cookie("bob")),
    );
    expect(res.status).toBe(400);
  });

  it("edge-auth, default settings, /me without a session cookie → 401; with one from the key pair → who it is", async () => {
    const handler = edgeAuth.createHandler(edgeAuth.depsFromEnv(sessionEnv({ operators: "bob" })));
    expect((await call(handler, get("/me", {}))).status).toBe(401);
    const me = await call(handler, get("/me", {}, await cookie("bob")));
    expect([me.status, JSON.parse(me.body)]).toEqual([200, expect.objectContaining({ login: "bob", operator: true })]);
  });

  it("edge-auth, the callback without this browser's state cookie → 403, nothing asked of GitHub", async () => {
    const handler = edgeAuth.createHandler(edgeAuth.depsFromEnv(sessionEnv()));
    const res = await call(handler, get("/oauth2/authorized", { state: "s", code: "c" }));
    expect(res.status).toBe(403);
  });

  it.each([
    ["edge-auth", "oauth-client-secret", edgeAuth.depsFromEnv],
    ["dashboard-api", "basic-auth-user", dashboardApi.depsFromEnv],
  ] as const)("%s without its secrets → an error naming the first missing one, %s", (_name, secret, depsFromEnv) => {
    expect(() => depsFromEnv({ ...sessionEnv(), secret_mount_path: join(dir, "nowhere") })).toThrow(
      new RegExp(`secret ${secret}: unable to read .*nowhere/${secret}`),
    );
  });
});
