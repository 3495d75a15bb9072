import { createPrivateKey } from "node:crypto";
import { createAppAuth } from "@octokit/auth-app";
import { Octokit } from "@octokit/rest";
import { SignJWT, type JWTPayload } from "jose";
import { createTestApp, type TestApp } from "./app-keys.js";
import { startGithubStandin, type GithubStandin } from "./server.js";

// A fixed clock (STYLE §16): JWT windows and token expiry are asserted against it, never against sleeps.
const NOW = Date.UTC(2025, 0, 15, 12, 0, 0);
const NOW_S = NOW / 1000;
const SHA = "a".repeat(40);
const INSTALLATIONS = [
  { id: 11, account: "alice" },
  { id: 22, account: "bob" },
];

type Reply = {
  status: number;
  body: {
    message?: string;
    errors?: Array<{ field: string; code: string }>;
    token?: string;
    expires_at?: string;
    [key: string]: unknown;
  };
};

let app: TestApp;
let otherApp: TestApp;
let standin: GithubStandin;
let clock = NOW;

beforeAll(async () => {
  app = createTestApp();
  otherApp = createTestApp();
  standin = await startGithubStandin({ ...app, installations: INSTALLATIONS, now: () => clock });
});
afterAll(() => standin.close());
beforeEach(() => {
  clock = NOW;
  standin.reset();
});

async function call(method: string, path: string, opts: { auth?: string; body?: unknown; raw?: string } = {}) {
  const res = await fetch(standin.url + path, {
    method,
    headers: { "content-type": "application/json", ...(opts.auth && { authorization: opts.auth }) },
    body: opts.raw ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body)),
  });
  return { status: res.status, body: (await res.json()) as Reply["body"] };
}

type JwtOptions = { claims?: Record<string, unknown>; signer?: () => TestApp; alg?: "RS256" | "HS256" };

// Defaults mirror what @octokit/auth-app signs: iat 30 s in the past, exp 10 minutes after iat.
function appJwt({ claims = {}, signer = () => app, alg = "RS256" }: JwtOptions = {}): Promise<string> {
  const payload = { iat: NOW_S - 30, exp: NOW_S + 570, iss: app.appId, ...claims };
  // HS256 keyed with the public PEM is the classic algorithm-confusion forgery.
  const key = alg === "HS256" ? new TextEncoder().encode(app.publicKeyPem) : createPrivateKey(signer().privateKeyPem);
  // A numeric iss is what auth-app sends (GitHub takes both); jose's JWTPayload type only allows a string.
  return new SignJWT(payload as unknown as JWTPayload).setProtectedHeader({ alg }).sign(key);
}

async function mintToken(installationId = 11): Promise<string> {
  const { status, body } = await call("POST", `/app/installations/${installationId}/access_tokens`, {
    auth: `Bearer ${await appJwt()}`,
  });
  expect(status).toBe(201);
  return body.token as string;
}

describe("POST /app/installations/:id/access_tokens", () => {
  it.each<{ name: string; jwt: JwtOptions; status: number; message?: RegExp }>([
    { name: "JWT as auth-app signs it", jwt: {}, status: 201 },
    { name: "signed with another App's key", jwt: { signer: () => otherApp }, status: 401, message: /signature/ },
    { name: "iss of another App", jwt: { claims: { iss: 1 } }, status: 401, message: /'Issuer' claim \('iss'\)/ },
    { name: "no iss", jwt: { claims: { iss: undefined } }, status: 401, message: /"iss"/ },
    {
      name: "exp 11 minutes after iat",
      jwt: { claims: { iat: NOW_S - 60, exp: NOW_S + 600 } },
      status: 401,
      message: /'Expiration time' claim \('exp'\) is too far in the future/,
    },
    {
      name: "exp 10.5 minutes from now",
      jwt: { claims: { iat: NOW_S + 30, exp: NOW_S + 630 } },
      status: 401,
      message: /too far in the future/,
    },
    {
      name: "expired",
      jwt: { claims: { iat: NOW_S - 700, exp: NOW_S - 100 } },
      status: 401,
      message: /must be a numeric value representing the future time/,
    },
    { name: "no exp", jwt: { claims: { exp: undefined } }, status: 401, message: /"exp"/ },
    {
      name: "iat 61 s in the future",
      jwt: { claims: { iat: NOW_S + 61, exp: NOW_S + 500 } },
      status: 401,
      message: /'Issued at' claim \('iat'\)/,
    },
    { name: "iat 60 s in the future", jwt: { claims: { iat: NOW_S + 60, exp: NOW_S + 600 } }, status: 201 },
    { name: "HS256 keyed with the public key", jwt: { alg: "HS256" }, status: 401, message: /RS256/ },
  ])("$name → $status", async ({ jwt, status, message }) => {
    const res = await call("POST", "/app/installations/11/access_tokens", { auth: `Bearer ${await appJwt(jwt)}` });
    expect(res.status).toBe(status);
    if (message) expect(res.body.message).toMatch(message);
  });

  it("iss as the App id's string form → 201", async () => {
    const jwt = await appJwt({ claims: { iss: String(app.appId) } });
    expect((await call("POST", "/app/installations/11/access_tokens", { auth: `Bearer ${jwt}` })).status).toBe(201);
  });

  it("no Authorization header → 401 naming the Bearer scheme", async () => {
    const res = await call("POST", "/app/installations/11/access_tokens");
    expect(res).toMatchObject({ status: 401, body: { message: expect.stringMatching(/Bearer/) as unknown } });
  });

  it("unknown installation → 404 Not Found", async () => {
    const res = await call("POST", "/app/installations/99/access_tokens", { auth: `Bearer ${await appJwt()}` });
    expect(res).toEqual({ status: 404, body: { message: "Not Found" } });
  });

  it("valid JWT → 201 ghs_ token expiring in 1 h, counted", async () => {
    const res = await call("POST", "/app/installations/11/access_tokens", { auth: `Bearer ${await appJwt()}` });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      token: expect.stringMatching(/^ghs_[A-Za-z0-9]{36}$/) as unknown,
      expires_at: new Date(NOW + 3600_000).toISOString(),
      permissions: { statuses: "write", checks: "write", contents: "read" },
      repository_selection: "all",
    });
    expect(standin.tokensIssued).toBe(1);
  });
});

describe("GET /app and /app/installations", () => {
  it("valid JWT → the App and its installations", async () => {
    const auth = `Bearer ${await appJwt()}`;
    expect(await call("GET", "/app", { auth })).toEqual({
      status: 200,
      body: { id: app.appId, slug: "ofc-test", name: "ofc-test" },
    });
    const list = await call("GET", "/app/installations", { auth });
    expect(list.body).toEqual([expect.objectContaining({ id: 11, account: { login: "alice" } }), expect.anything()]);
  });

  it("installation token instead of a JWT → 401", async () => {
    expect((await call("GET", "/app", { auth: `token ${await mintToken()}` })).status).toBe(401);
  });
});

describe("POST /repos/:owner/:repo/statuses/:sha", () => {
  const path = `/repos/alice/fn/statuses/${SHA}`;
  const body = { state: "success" };

  it.each<{ name: string; auth: () => Promise<string | undefined>; status: number }>([
    { name: "no token", auth: () => Promise.resolve(undefined), status: 401 },
    { name: "unminted token", auth: () => Promise.resolve("token ghs_" + "x".repeat(36)), status: 401 },
    { name: "App JWT", auth: async () => `Bearer ${await appJwt()}`, status: 401 },
    { name: "token for another account", auth: async () => `token ${await mintToken(22)}`, status: 404 },
    { name: "token scheme", auth: async () => `token ${await mintToken()}`, status: 201 },
    { name: "Bearer scheme", auth: async () => `Bearer ${await mintToken()}`, status: 201 },
  ])("$name → $status", async ({ auth, status }) => {
    expect((await call("POST", path, { auth: await auth(), body })).status).toBe(status);
  });

  it("token past its expires_at → 401 Bad credentials", async () => {
    const auth = `token ${await mintToken()}`;
    clock = NOW + 3600_000;
    expect(await call("POST", path, { auth, body })).toEqual({ status: 401, body: { message: "Bad credentials" } });
  });

  it("owner in another case → 201, as GitHub logins are case-insensitive", async () => {
    const res = await call("POST", `/repos/ALICE/fn/statuses/${SHA}`, { auth: `token ${await mintToken()}`, body });
    expect(res.status).toBe(201);
  });

  it.each<{ name: string; sha?: string; body: unknown; status: number; field?: string; code?: string }>([
    { name: "state done", body: { state: "done" }, status: 422, field: "state", code: "invalid" },
    { name: "no state", body: { context: "x" }, status: 422, field: "state", code: "missing_field" },
    { name: "no body", body: undefined, status: 422, field: "state", code: "missing_field" },
    {
      name: "description of 141 chars",
      body: { state: "failure", description: "d".repeat(141) },
      status: 422,
      field: "description",
      code: "custom",
    },
    { name: "description of 140 chars", body: { state: "failure", description: "d".repeat(140) }, status: 201 },
    { name: "140 emoji (one char each)", body: { state: "error", description: "🚀".repeat(140) }, status: 201 },
    { name: "short sha", sha: "abc1234", body, status: 422, field: "sha", code: "invalid" },
    { name: "non-hex sha", sha: "g".repeat(40), body, status: 422, field: "sha", code: "invalid" },
    { name: "target_url ftp", body: { ...body, target_url: "ftp://x/y" }, status: 422, field: "target_url" },
    { name: "target_url empty", body: { ...body, target_url: "" }, status: 201 },
    { name: "target_url https", body: { ...body, target_url: "https://ofc.example/logs" }, status: 201 },
    { name: "context a number", body: { ...body, context: 5 }, status: 422, field: "context", code: "invalid" },
  ])("$name → $status", async ({ sha = SHA, body, status, field, code }) => {
    const res = await call("POST", `/repos/alice/fn/statuses/${sha}`, { auth: `token ${await mintToken()}`, body });
    expect(res.status).toBe(status);
    if (field) {
      expect(res.body.message).toBe("Validation Failed");
      expect(res.body.errors).toContainEqual(expect.objectContaining({ field, ...(code && { code }) }));
    }
  });

  it("malformed JSON → 400 Problems parsing JSON, raw body recorded", async () => {
    const res = await call("POST", path, { auth: `token ${await mintToken()}`, raw: "{state:" });
    expect(res).toEqual({ status: 400, body: { message: "Problems parsing JSON" } });
    expect(standin.calls.at(-1)).toMatchObject({ body: "{state:", status: 400 });
  });

  it("accepted statuses → recorded, listed newest first with context defaulting to 'default'", async () => {
    const auth = `token ${await mintToken()}`;
    await call("POST", path, { auth, body: { state: "pending" } });
    await call("POST", path, { auth, body: { state: "success", context: "ofc/fn", description: "deployed" } });
    expect(standin.statuses({ sha: SHA }).map((s) => [s.state, s.context])).toEqual([
      ["pending", "default"],
      ["success", "ofc/fn"],
    ]);
    expect(standin.statuses({ context: "ofc/fn" })).toHaveLength(1);
    const list = await call("GET", `/repos/alice/fn/commits/${SHA}/statuses`, { auth });
    expect((list.body as unknown as Array<{ state: string }>).map((s) => s.state)).toEqual(["success", "pending"]);
  });

  it.each([
    ["nothing posted", [], "pending"],
    [
      "a context still pending",
      [
        ["a", "success"],
        ["b", "pending"],
      ],
      "pending",
    ],
    [
      "a context pending then error",
      [
        ["a", "pending"],
        ["a", "error"],
        ["b", "success"],
      ],
      "failure",
    ],
    [
      "every context's latest success",
      [
        ["a", "failure"],
        ["a", "success"],
        ["b", "success"],
      ],
      "success",
    ],
  ])("combined status, %s → each context once, state %s", async (_, posted, state) => {
    const auth = `token ${await mintToken()}`;
    for (const [context, s] of posted as Array<[string, string]>)
      await call("POST", path, { auth, body: { state: s, context } });
    const res = await call("GET", `/repos/alice/fn/commits/${SHA}/status`, { auth });
    const body = res.body as unknown as { state: string; statuses: Array<{ context: string }>; total_count: number };
    const contexts = new Set((posted as Array<[string, string]>).map(([c]) => c));
    expect([res.status, body.state, body.total_count]).toEqual([200, state, contexts.size]);
    expect(body.statuses.map((s) => s.context).sort()).toEqual([...contexts].sort());
  });
});

describe("check runs", () => {
  const path = "/repos/alice/fn/check-runs";
  const base = { name: "ofc", head_sha: SHA };
  const output = (fields: Record<string, unknown>) => ({ ...base, output: { title: "t", summary: "s", ...fields } });

  it.each<{ name: string; body: unknown; status: number; field?: string }>([
    {
      name: "output.text of 65536 chars",
      body: output({ text: "x".repeat(65536) }),
      status: 422,
      field: "output.text",
    },
    { name: "output.text of 65535 chars", body: output({ text: "x".repeat(65535) }), status: 201 },
    {
      name: "output.summary of 65536",
      body: output({ summary: "x".repeat(65536) }),
      status: 422,
      field: "output.summary",
    },
    { name: "output without title", body: output({ title: undefined }), status: 422, field: "output.title" },
    { name: "output without summary", body: output({ summary: undefined }), status: 422, field: "output.summary" },
    { name: "completed without conclusion", body: { ...base, status: "completed" }, status: 422, field: "conclusion" },
    { name: "completed with conclusion", body: { ...base, status: "completed", conclusion: "success" }, status: 201 },
    { name: "status done", body: { ...base, status: "done" }, status: 422, field: "status" },
    { name: "conclusion passed", body: { ...base, conclusion: "passed" }, status: 422, field: "conclusion" },
    { name: "no name", body: { head_sha: SHA }, status: 422, field: "name" },
    { name: "no head_sha", body: { name: "ofc" }, status: 422, field: "head_sha" },
  ])("$name → $status", async ({ body, status, field }) => {
    const res = await call("POST", path, { auth: `token ${await mintToken()}`, body });
    expect(res.status).toBe(status);
    if (field) expect(res.body.errors).toContainEqual(expect.objectContaining({ field }));
  });

  it("create in_progress, then PATCH a conclusion → merged run, completed", async () => {
    const auth = `token ${await mintToken()}`;
    const created = await call("POST", path, { auth, body: { ...base, status: "in_progress" } });
    expect(created.body).toMatchObject({ status: "in_progress", conclusion: null, output: null, details_url: null });
    const id = created.body.id as number;
    const patched = await call("PATCH", `${path}/${id}`, { auth, body: { conclusion: "failure", ...output({}) } });
    expect(patched).toMatchObject({
      status: 200,
      body: { id, name: "ofc", status: "completed", conclusion: "failure" },
    });
    expect(standin.checkRuns()).toEqual([
      expect.objectContaining({ id, owner: "alice", output: { title: "t", summary: "s", text: null } }),
    ]);
  });

  it("PATCH of an unknown run → 404", async () => {
    const res = await call("PATCH", `${path}/12345`, {
      auth: `token ${await mintToken()}`,
      body: { status: "queued" },
    });
    expect(res.status).toBe(404);
  });
});

// Issue #17: the stand-in checks check-run bodies as GitHub documents them (REST "Create a check run": at most 50
// annotations per request, message and raw_details ≤ 64 KB, title ≤ 255, columns only on one line; `stale` is
// GitHub's own conclusion), and records each run's accepted updates in order.
describe("check runs as strictly as GitHub (issue #17)", () => {
  const path = "/repos/alice/fn/check-runs";
  const note = (fields: Record<string, unknown> = {}) => ({
    path: "api/handler.js",
    start_line: 3,
    end_line: 3,
    annotation_level: "failure",
    message: "boom",
    ...fields,
  });
  const annotated = (...annotations: unknown[]) => ({
    name: "ofc",
    head_sha: SHA,
    output: { title: "t", summary: "s", annotations },
  });

  it.each<{ name: string; body: unknown; status: number; field?: string }>([
    {
      name: "51 annotations",
      body: annotated(...Array.from({ length: 51 }, () => note())),
      status: 422,
      field: "output.annotations",
    },
    { name: "50 annotations", body: annotated(...Array.from({ length: 50 }, () => note())), status: 201 },
    {
      name: "end_line < start_line",
      body: annotated(note({ end_line: 2 })),
      status: 422,
      field: "output.annotations[0].end_line",
    },
    {
      name: "start_line 0",
      body: annotated(note({ start_line: 0 })),
      status: 422,
      field: "output.annotations[0].start_line",
    },
    {
      name: "level error",
      body: annotated(note({ annotation_level: "error" })),
      status: 422,
      field: "output.annotations[0].annotation_level",
    },
    {
      name: "no message",
      body: annotated(note({ message: undefined })),
      status: 422,
      field: "output.annotations[0].message",
    },
    { name: "no path", body: annotated(note({ path: undefined })), status: 422, field: "output.annotations[0].path" },
    {
      name: "columns on lines 3-4",
      body: annotated(note({ end_line: 4, start_column: 1 })),
      status: 422,
      field: "output.annotations[0].start_column",
    },
    { name: "columns on one line", body: annotated(note({ start_column: 2, end_column: 9 })), status: 201 },
    {
      name: "a message over 64 KB",
      body: annotated(note({ message: "é".repeat(32 * 1024 + 1) })),
      status: 422,
      field: "output.annotations[0].message",
    },
    {
      name: "a 256-character title",
      body: annotated(note({ title: "x".repeat(256) })),
      status: 422,
      field: "output.annotations[0].title",
    },
    {
      name: "conclusion stale",
      body: { name: "ofc", head_sha: SHA, conclusion: "stale" },
      status: 422,
      field: "conclusion",
    },
    {
      name: "started_at not ISO 8601",
      body: { name: "ofc", head_sha: SHA, started_at: "yesterday" },
      status: 422,
      field: "started_at",
    },
    {
      name: "completed_at not ISO 8601",
      body: { name: "ofc", head_sha: SHA, conclusion: "success", completed_at: "1/15/2025" },
      status: 422,
      field: "completed_at",
    },
    {
      name: "started_at ISO 8601",
      body: { name: "ofc", head_sha: SHA, started_at: "2025-01-15T12:00:00Z" },
      status: 201,
    },
  ])("$name → $status", async ({ body, status, field }) => {
    const res = await call("POST", path, { auth: `token ${await mintToken()}`, body });
    expect(res.status).toBe(status);
    if (field) expect(res.body.errors).toContainEqual(expect.objectContaining({ field }));
  });

  it.each<{ from: Record<string, unknown>; update: Record<string, unknown>; status: number; after: string | null }>([
    { from: { status: "queued" }, update: { status: "in_progress" }, status: 200, after: "in_progress" },
    {
      from: { status: "in_progress" },
      update: { status: "completed", conclusion: "failure" },
      status: 200,
      after: "completed",
    },
    { from: { status: "queued" }, update: { conclusion: "success" }, status: 200, after: "completed" },
    { from: { status: "in_progress" }, update: { status: "queued" }, status: 422, after: null },
    { from: { conclusion: "success" }, update: { status: "in_progress" }, status: 422, after: null },
    { from: { conclusion: "success" }, update: { status: "queued" }, status: 422, after: null },
  ])("a run created $from, then PATCHed $update → $status", async ({ from, update, status, after }) => {
    const auth = `token ${await mintToken()}`;
    const created = await call("POST", path, { auth, body: { name: "ofc", head_sha: SHA, ...from } });
    const res = await call("PATCH", `${path}/${created.body.id as number}`, { auth, body: update });
    expect(res.status).toBe(status);
    if (after) expect(res.body.status).toBe(after);
    else expect(res.body.errors).toContainEqual(expect.objectContaining({ field: "status" }));
  });

  it("annotations over two updates → accumulated (50 + 30), as GitHub appends them", async () => {
    const auth = `token ${await mintToken()}`;
    const created = await call("POST", path, { auth, body: annotated(...Array.from({ length: 50 }, () => note())) });
    const id = created.body.id as number;
    const more = { output: { title: "t", summary: "s", annotations: Array.from({ length: 30 }, () => note()) } };
    const res = await call("PATCH", `${path}/${id}`, { auth, body: more });
    expect(res.body.output).toMatchObject({ annotations_count: 80 });
    expect(standin.checkRuns()[0]!.annotations).toHaveLength(80);
  });

  it("queued → in_progress → refused back to queued → completed → the accepted updates recorded in order", async () => {
    const auth = `token ${await mintToken()}`;
    const created = await call("POST", path, { auth, body: { name: "ofc", head_sha: SHA, status: "queued" } });
    const run = `${path}/${created.body.id as number}`;
    await call("PATCH", run, { auth, body: { status: "in_progress" } });
    expect((await call("PATCH", run, { auth, body: { status: "queued" } })).status).toBe(422);
    await call("PATCH", run, { auth, body: { conclusion: "failure" } });
    expect(standin.checkRuns()[0]!.updates.map((u) => [u.status, u.conclusion])).toEqual([
      ["queued", null],
      ["in_progress", null],
      ["completed", "failure"],
    ]);
  });

  it("GET commits/:sha/check-runs → check_name and filter=latest|all, this commit and repo only", async () => {
    const auth = `token ${await mintToken()}`;
    const create = async (name: string, sha = SHA) =>
      (await call("POST", path, { auth, body: { name, head_sha: sha } })).body.id as number;
    const older = await create("api");
    const latest = await create("api");
    const stack = await create("stack-deploy");
    await create("api", "b".repeat(40));
    const list = async (query: string) => {
      const res = await call("GET", `/repos/alice/fn/commits/${SHA}/check-runs?${query}`, { auth });
      const body = res.body as { total_count: number; check_runs: Array<{ id: number }> };
      return [res.status, body.total_count, body.check_runs.map((r) => r.id)];
    };
    expect(await list("check_name=api&filter=latest")).toEqual([200, 1, [latest]]);
    expect(await list("check_name=api&filter=all")).toEqual([200, 2, [latest, older]]);
    expect(await list("check_name=api")).toEqual([200, 1, [latest]]);
    expect(await list("")).toEqual([200, 2, [stack, latest]]);
    expect((await call("GET", `/repos/alice/fn/commits/${SHA}/check-runs?filter=newest`, { auth })).status).toBe(422);
  });
});

describe("failNext, recording and unknown routes", () => {
  it("failNext('statuses', 502, 2) → two 502s, then 201; all three recorded", async () => {
    const auth = `token ${await mintToken()}`;
    standin.failNext("statuses", 502, 2);
    const statuses = [];
    for (let i = 0; i < 3; i++)
      statuses.push(
        (await call("POST", `/repos/alice/fn/statuses/${SHA}`, { auth, body: { state: "success" } })).status,
      );
    expect(statuses).toEqual([502, 502, 201]);
    expect(standin.calls.filter((c) => c.path.includes("/statuses/")).map((c) => c.status)).toEqual([502, 502, 201]);
    expect(standin.statuses()).toHaveLength(1);
  });

  it("failNext('access_tokens', 500) → 500 without minting, then 201", async () => {
    standin.failNext("access_tokens", 500);
    const auth = `Bearer ${await appJwt()}`;
    expect((await call("POST", "/app/installations/11/access_tokens", { auth })).status).toBe(500);
    expect(standin.tokensIssued).toBe(0);
    expect((await call("POST", "/app/installations/11/access_tokens", { auth })).status).toBe(201);
  });

  it("rateLimitNext('statuses', 7, 2) → GitHub's secondary rate limit twice (403, Retry-After: 7), then 201", async () => {
    const auth = `token ${await mintToken()}`;
    standin.rateLimitNext("statuses", 7, 2);
    const replies = [];
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${standin.url}/repos/alice/fn/statuses/${SHA}`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: auth },
        body: JSON.stringify({ state: "success" }),
      });
      const body = (await res.json()) as { message?: string; documentation_url?: string };
      replies.push([res.status, res.headers.get("retry-after"), /secondary rate limit/.test(body.message ?? "")]);
    }
    expect(replies).toEqual([
      [403, "7", true],
      [403, "7", true],
      [201, null, false],
    ]);
    expect(standin.statuses()).toHaveLength(1);
  });

  it("failNext('any', 502) → the next call of whichever route gets 502; check runs fail on their own route", async () => {
    const auth = `token ${await mintToken()}`;
    standin.failNext("any", 502);
    standin.failNext("check_runs", 500);
    const run = { name: "fn", head_sha: SHA, status: "completed", conclusion: "success" };
    expect((await call("GET", `/repos/alice/fn/commits/${SHA}/status`, { auth })).status).toBe(502);
    expect((await call("POST", "/repos/alice/fn/check-runs", { auth, body: run })).status).toBe(500);
    expect((await call("POST", "/repos/alice/fn/check-runs", { auth, body: run })).status).toBe(201);
  });

  it("tokensMinted counts each installation's tokens; a refused mint and reset() count none", async () => {
    await mintToken(11);
    await mintToken(11);
    await mintToken(22);
    standin.failNext("access_tokens", 502);
    await call("POST", "/app/installations/22/access_tokens", { auth: `Bearer ${await appJwt()}` });
    expect([standin.tokensMinted(11), standin.tokensMinted(22), standin.tokensMinted(33)]).toEqual([2, 1, 0]);
    standin.rateLimitNext("any", 1, 3);
    standin.reset();
    expect(standin.tokensMinted(11)).toBe(0);
    await mintToken(11); // no rate limit left over from before the reset
  });

  it("tokenLifetimeMs: 60 s → the token is refused once the minute has passed", async () => {
    const short = await startGithubStandin({
      ...app,
      installations: INSTALLATIONS,
      now: () => clock,
      tokenLifetimeMs: 60_000,
    });
    try {
      const minted = await fetch(`${short.url}/app/installations/11/access_tokens`, {
        method: "POST",
        headers: { authorization: `Bearer ${await appJwt()}` },
      });
      const { token, expires_at } = (await minted.json()) as { token: string; expires_at: string };
      expect(expires_at).toBe(new Date(NOW + 60_000).toISOString());
      clock = NOW + 60_000;
      expect(short.checkToken(token, "alice")).toBe(false);
    } finally {
      await short.close();
    }
  });

  it("unknown route → 404, recorded with lowercased headers", async () => {
    const res = await fetch(`${standin.url}/repos/alice/fn/pulls`, { headers: { "X-Custom": "1" } });
    expect(res.status).toBe(404);
    expect(standin.calls).toEqual([
      expect.objectContaining({
        method: "GET",
        path: "/repos/alice/fn/pulls",
        status: 404,
        headers: expect.objectContaining({ "x-custom": "1" }) as unknown,
      }),
    ]);
  });
});

describe("with the real @octokit/rest and @octokit/auth-app", () => {
  it.each([
    { clock: "in step", offsetMs: 0, statuses: [200] },
    { clock: "1 h ahead (auth-app corrects skew from the Date header)", offsetMs: 3600_000, statuses: [401, 200] },
  ])("App JWT with the stand-in's clock $clock → GET /app $statuses", async ({ offsetMs, statuses }) => {
    const live = await startGithubStandin({ ...app, installations: INSTALLATIONS, now: () => Date.now() + offsetMs });
    try {
      const octokit = new Octokit({
        authStrategy: createAppAuth,
        auth: { appId: app.appId, privateKey: app.privateKeyPem },
        baseUrl: live.url,
        log: quiet,
      });
      const { data } = await octokit.rest.apps.getAuthenticated();
      expect(data).toMatchObject({ id: app.appId, slug: "ofc-test" });
      expect(live.calls.map((c) => c.status)).toEqual(statuses);
    } finally {
      await live.close();
    }
  });

  it("createCommitStatus via an installation → 201 and recorded under that token", async () => {
    const live = await startGithubStandin({ ...app, installations: INSTALLATIONS });
    try {
      const octokit = new Octokit({
        authStrategy: createAppAuth,
        auth: { appId: app.appId, privateKey: app.privateKeyPem, installationId: 11 },
        baseUrl: live.url,
        log: quiet,
      });
      const res = await octokit.rest.repos.createCommitStatus({
        owner: "alice",
        repo: "fn",
        sha: SHA,
        state: "success",
        context: "ofc/fn",
        description: "Deployed",
        target_url: "https://ofc.example/alice/fn",
      });
      expect(res.status).toBe(201);
      expect(live.statuses({ owner: "alice", sha: SHA })).toEqual([
        expect.objectContaining({ repo: "fn", state: "success", context: "ofc/fn", description: "Deployed" }),
      ]);
      expect(live.calls.map((c) => `${c.method} ${c.path} ${c.status}`)).toEqual([
        "POST /app/installations/11/access_tokens 201",
        `POST /repos/alice/fn/statuses/${SHA} 201`,
      ]);
      expect(live.calls[1]?.headers.authorization).toMatch(/^token ghs_/);
      expect(live.tokensIssued).toBe(1);
    } finally {
      await live.close();
    }
  });
});

// auth-app warns on the skew it corrects; the test asserts the outcome instead of the log.
const quiet = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

// Issue #17: a re-run of a commit that is no longer its branch's tip is refused, so the stand-in answers "Get a
// branch" as GitHub does, from the tips it is given.
describe("GET /repos/:owner/:repo/branches/:branch", () => {
  const RELEASE = "b".repeat(40);
  const tips = new Map([
    ["alice/fn/main", SHA],
    ["alice/fn/release/1.x", RELEASE],
  ]);
  let branches: GithubStandin;
  beforeAll(async () => {
    branches = await startGithubStandin({
      ...app,
      installations: INSTALLATIONS,
      now: () => clock,
      // Asynchronous, as the local runtime's reads of its git host are.
      branchTip: (owner, repo, branch) => Promise.resolve(tips.get(`${owner}/${repo}/${branch}`)),
    });
  });
  afterAll(() => branches.close());

  async function get(on: GithubStandin, path: string, auth?: string) {
    const res = await fetch(on.url + path, { headers: auth ? { authorization: auth } : {} });
    return { status: res.status, body: (await res.json()) as Reply["body"] };
  }
  async function token(on: GithubStandin, installationId = 11): Promise<string> {
    const res = await fetch(`${on.url}/app/installations/${installationId}/access_tokens`, {
      method: "POST",
      headers: { authorization: `Bearer ${await appJwt()}` },
    });
    return ((await res.json()) as { token: string }).token;
  }

  it("the owner's installation token → 200 with GitHub's shape: name, commit.sha, protected", async () => {
    const res = await get(branches, "/repos/alice/fn/branches/main", `token ${await token(branches)}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      name: "main",
      commit: { sha: SHA, url: `${branches.url}/repos/alice/fn/commits/${SHA}` },
      protected: false,
    });
  });

  it.each([
    ["encoded (%2F, as octokit sends it)", "release%2F1.x"],
    ["bare", "release/1.x"],
  ])("a branch with a slash, %s → its own tip", async (_, segment) => {
    const res = await get(branches, `/repos/alice/fn/branches/${segment}`, `token ${await token(branches)}`);
    expect([res.status, res.body.name, (res.body.commit as { sha: string }).sha]).toEqual([
      200,
      "release/1.x",
      RELEASE,
    ]);
  });

  it("an unknown branch → 404 Branch not found", async () => {
    const res = await get(branches, "/repos/alice/fn/branches/gone", `token ${await token(branches)}`);
    expect([res.status, res.body.message]).toEqual([404, "Branch not found"]);
  });

  it.each([
    ["no token", () => Promise.resolve(undefined), 401, "Bad credentials"],
    ["an App JWT instead of a token", async () => `Bearer ${await appJwt()}`, 401, "Bad credentials"],
    ["another account's installation token", async () => `token ${await token(branches, 22)}`, 404, "Not Found"],
  ])("%s → refused, the tip not revealed", async (_, auth, status, message) => {
    const res = await get(branches, "/repos/alice/fn/branches/main", await auth());
    expect([res.status, res.body.message]).toEqual([status, message]);
  });

  it("a token past its expiry → 401", async () => {
    const auth = `token ${await token(branches)}`;
    clock += 60 * 60 * 1000;
    const res = await get(branches, "/repos/alice/fn/branches/main", auth);
    expect(res.status).toBe(401);
  });

  it("a stand-in started without branch tips → 404 for every branch", async () => {
    const res = await get(standin, "/repos/alice/fn/branches/main", `token ${await mintToken()}`);
    expect([res.status, res.body.message]).toEqual([404, "Branch not found"]);
  });

  it("failNext('branches', 502) → 502 once, recorded, then the tip", async () => {
    const auth = `token ${await token(branches)}`;
    branches.reset();
    branches.failNext("branches", 502);
    expect((await get(branches, "/repos/alice/fn/branches/main", auth)).status).toBe(502);
    expect((await get(branches, "/repos/alice/fn/branches/main", auth)).status).toBe(200);
    expect(branches.calls.filter((c) => c.path.includes("/branches/")).map((c) => c.status)).toEqual([502, 200]);
  });
});
