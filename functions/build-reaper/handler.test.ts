import axios from "axios";
import { Client } from "minio";
import { pino } from "pino";
import { serveFunction, type FunctionServer } from "../../shared/function-server.js";
import { signHop } from "../../shared/hmac.js";
import { createBuildHistory, type BuildHistory, type BuildRecord } from "../../shared/build-history.js";
import { createPendingBuilds, type PendingBuild } from "../../shared/pending-builds.js";
import { startS3Server } from "../../local/services/s3.js";
import { startGithub } from "../../test/support/github.js";
import { createHandler } from "./handler.js";
import type { BuildReaperDeps } from "./reap.js";

// build-reaper over a real S3 (s3rver behind the local front door) and the strict GitHub stand-in; the clock is
// injected, so deadlines and the 10 s window pass without sleeping.
const SECRET = "payload-secret-for-build-reaper";
const SHA = "6113728f27ae82c7b1a177c8d03f9e96e0adf246";
const OTHER = "1f2e3d4c5b6a79880796a5b4c3d2e1f00f1e2d3c";
const MIN = 60_000;
const START = Date.parse("2026-05-01T12:00:00.000Z");
const LOST_DESCRIPTION =
  "build lost: git-tar never started it within 30m; re-run: push again (git commit --allow-empty -m rebuild && git push)";
const log = pino({ level: "silent" });

let s3: Awaited<ReturnType<typeof startS3Server>>;
let world: Awaited<ReturnType<typeof startGithub>>;
let fn: FunctionServer;
let clock = START;
let pending: ReturnType<typeof createPendingBuilds>;

async function start(options: Partial<BuildReaperDeps> = {}) {
  clock = START;
  s3 = await startS3Server();
  world = await startGithub({ installations: [{ id: 1, account: "alice" }], log });
  pending = createPendingBuilds({ ...s3, useSSL: false, region: "us-east-1", bucket: "pipeline", log });
  const deps: BuildReaperDeps = {
    payloadSecret: SECRET,
    pending,
    github: world.github,
    deadlines: { pendingDeadlineMs: 30 * MIN, heartbeatTimeoutMs: 3 * MIN },
    log,
    now: () => clock,
    ...options,
  };
  fn = await serveFunction(createHandler(deps), { maxBodyBytes: 1024 });
}
afterEach(async () => {
  await fn.close(0);
  await world.close();
  await s3.close();
});

const record = (changes: Partial<PendingBuild> = {}): PendingBuild => ({
  owner: "alice",
  ownerId: 1001,
  repo: "fns",
  sha: SHA,
  installationId: 1,
  acceptedAt: new Date(clock - MIN).toISOString(),
  ...changes,
});
const ago = (ms: number) => new Date(clock - ms).toISOString();

/** A call as cron-connector makes it (unsigned POST, empty body), or signed, or with another body or method. */
async function call(options: { signed?: boolean; signature?: string; body?: string; method?: string } = {}) {
  const body = options.body ?? "";
  const signature = options.signature ?? (options.signed ? signHop(SECRET, "build-reaper", body) : undefined);
  const res = await axios.request<Record<string, unknown> | string>({
    url: fn.url,
    method: options.method ?? "POST",
    data: body,
    headers: signature ? { "x-cloud-signature-256": signature } : {},
    validateStatus: () => true,
  });
  return { status: res.status, body: res.data };
}

/** What the commit shows on GitHub, oldest first. */
const statuses = (sha = SHA) =>
  world.standin.statuses({ sha }).map((s) => ({ context: s.context, state: s.state, description: s.description }));
const posts = () => world.standin.calls.filter((c) => c.method === "POST" && c.path.includes("/statuses/"));
/** Posts a status as the pipeline would have, before the reaper looks. */
const posted = (context: string, state: "pending" | "success" | "error" | "failure", sha = SHA) =>
  world.github.setStatus({ installationId: 1, owner: "alice", repo: "fns", sha, state, context, description: "x" });

describe("build-reaper: one sweep over the pending builds", () => {
  it("no records (no bucket yet) → 200 with zero counts, nothing asked of GitHub", async () => {
    await start();
    const res = await call();
    expect(res).toEqual({
      status: 200,
      body: {
        sweptAt: "2026-05-01T12:00:00.000Z",
        fresh: true,
        examined: 0,
        reaped: 0,
        closed: 0,
        kept: 0,
        failed: 0,
        discarded: 0,
      },
    });
    expect(world.standin.calls).toEqual([]);
  });

  it("accepted 31 min ago, never started → error on stack-deploy saying lost and how to re-run; record removed", async () => {
    await start();
    await posted("stack-deploy", "pending");
    await pending.put(record({ acceptedAt: ago(31 * MIN) }));
    const res = await call();
    expect(res.body).toMatchObject({ examined: 1, reaped: 1 });
    expect(statuses().at(-1)).toEqual({ context: "stack-deploy", state: "error", description: LOST_DESCRIPTION });
    expect(await pending.get(record())).toBeUndefined();
  });

  it("heartbeat 4 min old → error on stack-deploy and on the functions still pending; finished ones and other integrations' contexts untouched", async () => {
    await start();
    for (const [context, state] of [
      ["stack-deploy", "pending"],
      ["api", "pending"],
      ["worker", "pending"],
      ["worker", "success"],
      ["ci/other", "pending"],
    ] as const)
      await posted(context, state);
    await pending.put(record({ acceptedAt: ago(5 * MIN), heartbeatAt: ago(4 * MIN), functions: ["api", "worker"] }));
    await call();
    const description =
      "build lost: git-tar stopped working on it (no heartbeat for 3m); re-run: push again (git commit --allow-empty -m rebuild && git push)";
    expect(statuses().slice(5)).toEqual([
      { context: "api", state: "error", description },
      { context: "stack-deploy", state: "error", description },
    ]);
    expect(await pending.get(record())).toBeUndefined();
  });

  it("use_checks, heartbeat 4 min old → the open runs (stack-deploy queued, api in progress) timed_out; a completed one untouched", async () => {
    await start({ useChecks: true });
    const commit = { installationId: 1, owner: "alice", repo: "fns", sha: SHA };
    await posted("stack-deploy", "pending");
    await world.github.createCheckRun(commit, { name: "stack-deploy", status: "queued" });
    await world.github.createCheckRun(commit, { name: "api", status: "in_progress" });
    const worker = await world.github.createCheckRun(commit, { name: "worker", status: "in_progress" });
    await world.github.updateCheckRun(commit, worker!, { conclusion: "success" });
    await pending.put(record({ acceptedAt: ago(5 * MIN), heartbeatAt: ago(4 * MIN), functions: ["api", "worker"] }));
    await call();
    expect(world.standin.checkRuns().map((r) => [r.name, r.status, r.conclusion])).toEqual([
      ["stack-deploy", "completed", "timed_out"],
      ["api", "completed", "timed_out"],
      ["worker", "completed", "success"],
    ]);
    expect(world.standin.checkRuns()[1]!.output?.summary).toMatch(/^build lost: git-tar stopped working on it/);
  });

  it("a lost function's running build record → error with the status's description; a finished one untouched", async () => {
    // The store over the S3 server start() makes: the reaper gets it through a forwarder made before.
    const late: { store?: BuildHistory } = {};
    await start({
      history: { put: (r) => late.store!.put(r), get: (id) => late.store!.get(id), list: (q) => late.store!.list(q) },
    });
    const history = (late.store = createBuildHistory({
      ...s3,
      useSSL: false,
      region: "us-east-1",
      bucket: "pipeline",
      log,
    }));
    const build = (fn: string, state: BuildRecord["state"]): BuildRecord => ({
      owner: "alice",
      repo: "fns",
      branch: "main",
      sha: SHA,
      function: fn,
      state,
      startedAt: ago(5 * MIN),
    });
    await history.put(build("api", "running"));
    await history.put({ ...build("worker", "success"), finishedAt: ago(4 * MIN), durationMs: MIN });
    await posted("stack-deploy", "pending");
    await posted("api", "pending");
    await pending.put(record({ acceptedAt: ago(5 * MIN), heartbeatAt: ago(4 * MIN), functions: ["api", "worker"] }));
    expect((await call()).body).toMatchObject({ reaped: 1 });
    const id = { owner: "alice", repo: "fns", sha: SHA };
    expect(await history.get({ ...id, function: "api" })).toEqual({
      ...build("api", "error"),
      finishedAt: new Date(clock).toISOString(),
      durationMs: 5 * MIN,
      reason: expect.stringContaining("build lost: git-tar stopped working on it"),
    });
    expect((await history.get({ ...id, function: "worker" }))?.state).toBe("success");
  });

  it("system_public_url set → each error status links the owner's dashboard", async () => {
    await start({ systemPublicUrl: "https://system.example.com" });
    await posted("stack-deploy", "pending");
    await posted("api", "pending");
    await pending.put(record({ acceptedAt: ago(5 * MIN), heartbeatAt: ago(4 * MIN), functions: ["api"] }));
    await call();
    expect(
      world.standin
        .statuses({ sha: SHA })
        .slice(2)
        .map((s) => [s.context, s.state, s.target_url]),
    ).toEqual([
      ["api", "error", "https://system.example.com/dashboard/alice"],
      ["stack-deploy", "error", "https://system.example.com/dashboard/alice"],
    ]);
  });

  it("system_public_url unset → the error statuses carry no link", async () => {
    await start();
    await posted("stack-deploy", "pending");
    await pending.put(record({ acceptedAt: ago(31 * MIN) }));
    await call();
    expect(world.standin.statuses({ sha: SHA }).at(-1)).toMatchObject({ state: "error", target_url: null });
  });

  it("a stale record whose stack-deploy is already success → record removed, nothing posted", async () => {
    await start();
    await posted("stack-deploy", "pending");
    await posted("stack-deploy", "success");
    await pending.put(record({ acceptedAt: ago(60 * MIN), heartbeatAt: ago(50 * MIN) }));
    const before = posts().length;
    expect((await call()).body).toMatchObject({ examined: 1, closed: 1, reaped: 0 });
    expect(posts()).toHaveLength(before);
    expect(await pending.get(record())).toBeUndefined();
  });

  it.each([
    ["waiting in the queue 29 min", { acceptedAt: ago(29 * MIN) }],
    ["running 2 h, heartbeat 10 s ago", { acceptedAt: ago(120 * MIN), heartbeatAt: ago(10_000) }],
  ])("%s → kept: nothing asked of GitHub, the record stays", async (_, times) => {
    await start();
    await pending.put(record(times));
    expect((await call()).body).toMatchObject({ examined: 1, kept: 1 });
    expect(world.standin.calls).toEqual([]);
    expect(await pending.get(record())).toMatchObject(times);
  });

  it("GitHub refuses the error status → record kept for the next sweep, which ends the build", async () => {
    await start();
    await posted("stack-deploy", "pending");
    await pending.put(record({ acceptedAt: ago(31 * MIN) }));
    // Four 502s: the first attempt and the client's three retries (issue #16); one 502 alone is retried away.
    world.standin.failNext("statuses", 502, 4);
    expect((await call()).body).toMatchObject({ failed: 1, reaped: 0 });
    expect(await pending.get(record())).toBeDefined();
    clock += 11_000;
    expect((await call()).body).toMatchObject({ reaped: 1 });
    expect(statuses().at(-1)).toMatchObject({ context: "stack-deploy", state: "error" });
    expect(await pending.get(record())).toBeUndefined();
  });

  it("an installation GitHub no longer has → record removed, nothing posted", async () => {
    await start();
    await pending.put(record({ acceptedAt: ago(31 * MIN), installationId: 99 }));
    expect((await call()).body).toMatchObject({ closed: 1 });
    expect(posts()).toEqual([]);
    expect(await pending.get(record())).toBeUndefined();
  });

  it("more lost builds than a page → each sweep takes a page, the next goes on after it", async () => {
    await start({ pageSize: 2 });
    for (const repo of ["a", "b", "c"]) await pending.put(record({ repo, acceptedAt: ago(31 * MIN) }));
    const first = await call();
    clock += 11_000;
    const second = await call();
    expect([first.body, second.body]).toMatchObject([
      { examined: 2, reaped: 2 },
      { examined: 1, reaped: 1 },
    ]);
    expect(world.standin.statuses().map((s) => s.repo)).toEqual(["a", "b", "c"]);
  });

  it("an object under the prefix that is not a record → removed once it stayed so past heartbeat_timeout", async () => {
    await start();
    const [host, port] = s3.endpoint.split(":");
    const raw = new Client({ endPoint: host!, port: Number(port), useSSL: false, region: "us-east-1", ...s3 });
    // S3 stamps objects with the real time.
    clock = Date.now();
    await pending.put(record({ heartbeatAt: ago(0) }));
    await raw.putObject("pipeline", "_pending/alice/fns/junk.json", "{not json");
    expect((await call()).body).toMatchObject({ examined: 2, kept: 2, discarded: 0 });
    clock += 3 * MIN + 10_000;
    await pending.put(record({ heartbeatAt: ago(0) }));
    expect((await call()).body).toMatchObject({ examined: 2, kept: 1, discarded: 1 });
    expect((await pending.list({ limit: 10 })).entries.map((e) => e.key)).toEqual([`_pending/alice/fns/${SHA}.json`]);
  });
});

describe("build-reaper: who may call, and how often", () => {
  it("unsigned calls within 10 s → the last sweep's answer, no new sweep; after 10 s, a new one", async () => {
    await start();
    await call();
    await pending.put(record({ sha: OTHER, acceptedAt: ago(31 * MIN) }));
    clock += 9_999;
    expect((await call()).body).toMatchObject({ sweptAt: "2026-05-01T12:00:00.000Z", fresh: false, reaped: 0 });
    expect(statuses(OTHER)).toEqual([]);
    clock += 1;
    expect((await call()).body).toMatchObject({ sweptAt: "2026-05-01T12:00:10.000Z", fresh: true, reaped: 1 });
  });

  it("a signed call within the window → sweeps at once", async () => {
    await start();
    await call();
    await pending.put(record({ sha: OTHER, acceptedAt: ago(31 * MIN) }));
    expect((await call({ signed: true })).body).toMatchObject({ fresh: true, reaped: 1 });
  });

  it.each([
    ["a signature made with another key", () => signHop("other", "build-reaper", "")],
    ["a hop signed for git-tar", () => signHop(SECRET, "git-tar", "")],
    ["a signature 6 minutes old", () => signHop(SECRET, "build-reaper", "", Date.now() - 6 * MIN)],
    ["a malformed signature", () => "sha256=00"],
  ])("%s → 401, nothing swept", async (_, signature) => {
    await start();
    await pending.put(record({ acceptedAt: ago(31 * MIN) }));
    const res = await call({ signature: signature() });
    expect(res.status).toBe(401);
    expect(world.standin.calls).toEqual([]);
    expect(await pending.get(record())).toBeDefined();
  });

  it("an unsigned call with a body → the body is ignored: the same sweep as an empty one", async () => {
    await start();
    const res = await call({ body: '{"owner":"alice","repo":"fns","sha":"x","force":true}' });
    expect([res.status, res.body]).toMatchObject([200, { examined: 0, fresh: true }]);
  });

  it("a body over the 1 KiB cap → 413 before it is read", async () => {
    await start();
    expect((await call({ body: "x".repeat(4096) })).status).toBe(413);
  });

  it("PUT → 405", async () => {
    await start();
    expect((await call({ method: "PUT" })).status).toBe(405);
  });

  it("S3 unreachable → 503 naming no detail; within the window, the same answer", async () => {
    await start();
    await s3.close();
    const first = await call();
    expect(first).toEqual({ status: 503, body: "pending builds unreadable (S3), see the build-reaper log" });
    expect((await call()).status).toBe(503);
  });
});
