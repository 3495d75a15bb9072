import { generateKeyPairSync } from "node:crypto";
import axios from "axios";
import { pino } from "pino";
import { startS3Server } from "../../local/services/s3.js";
import { createBuildHistory, type BuildRecord } from "../../shared/build-history.js";
import { serveFunction, type FunctionServer } from "../../shared/function-server.js";
import { createLogStore } from "../../shared/log-store.js";
import { SESSION_COOKIE, signSession } from "../../shared/session.js";
import { createHandler } from "./handler.js";
import { adminGateway } from "./test-gateway.js";

// dashboard-api's /builds and /build-log (issue #14) over a real S3 server holding what buildshiprun writes, with
// sessions signed by a key pair made here.
const log = pino({ level: "silent" });
const keys = generateKeyPairSync("ec", { namedCurve: "P-256" });
const NOW = Date.parse("2026-11-30T12:00:00Z");
const SHA = (n: number) => n.toString(16).padStart(40, "c");
const at = (minute: number) => new Date(Date.UTC(2026, 10, 30, 11, minute)).toISOString();

let s3: Awaited<ReturnType<typeof startS3Server>>;
let fn: FunctionServer;
let history: ReturnType<typeof createBuildHistory>;
let logs: ReturnType<typeof createLogStore>;
beforeAll(async () => {
  s3 = await startS3Server();
  const bucket = {
    endpoint: s3.endpoint,
    useSSL: false,
    region: "us-east-1",
    bucket: "pipeline",
    accessKey: s3.accessKey,
    secretKey: s3.secretKey,
    log,
  };
  history = createBuildHistory({ ...bucket, timeoutMs: 30_000 });
  logs = createLogStore(bucket);
  fn = await serveFunction(
    createHandler({
      // A closed port: these APIs never ask the gateway.
      gateway: adminGateway("http://127.0.0.1:9/", log),
      viewer: { publicKey: keys.publicKey, operators: [], now: () => NOW },
      publicUrl: "http://gw.local:8080/",
      history,
      logs,
      log,
    }),
  );
  const record = (over: Partial<BuildRecord>): BuildRecord => ({
    owner: "demo",
    repo: "fns",
    branch: "main",
    sha: SHA(1),
    function: "hello",
    state: "success",
    startedAt: at(1),
    ...over,
  });
  await history.put(record({ sha: SHA(1), startedAt: at(1), url: "http://demo.localhost/hello" }));
  await history.put(record({ sha: SHA(2), startedAt: at(2), state: "failure", reason: "build failed: exit 1" }));
  await history.put(record({ sha: SHA(3), startedAt: at(3), function: "other", repo: "more" }));
  await history.put(record({ sha: SHA(4), startedAt: at(55), state: "running" }));
  await history.put(record({ owner: "mallory", sha: SHA(5), startedAt: at(5) }));
  // Started 16 minutes before NOW and never ended: lost.
  await history.put(record({ sha: SHA(6), startedAt: at(44), function: "lost", state: "running" }));
  await logs.put({ owner: "demo", repo: "fns", sha: SHA(4), function: "hello" }, "#1 FROM base\n#2 RUN npm ci ✓");
});
afterAll(async () => {
  await fn.close();
  await s3.close();
});

async function get(path: string, query: Record<string, string>, login?: string) {
  const token =
    login && (await signSession({ userId: 1, login, orgs: [] }, keys.privateKey, { nowMs: NOW, ttlMs: 60_000 }));
  const res = await axios.get<unknown>(`${fn.url}${path}`, {
    params: query,
    headers: token ? { cookie: `${SESSION_COOKIE}=${token}` } : {},
    validateStatus: () => true,
  });
  return { status: res.status, body: res.data };
}
const shas = (body: unknown) => (body as { builds: BuildRecord[] }).builds.map((b) => b.sha);

describe("builds", () => {
  it("the owner's builds → newest first, only theirs, whole records", async () => {
    const res = await get("/builds", { owner: "demo" }, "demo");
    expect(res.status).toBe(200);
    expect(shas(res.body)).toEqual([SHA(4), SHA(6), SHA(3), SHA(2), SHA(1)]);
    expect((res.body as { builds: BuildRecord[] }).builds[3]).toEqual({
      owner: "demo",
      repo: "fns",
      branch: "main",
      sha: SHA(2),
      function: "hello",
      state: "failure",
      startedAt: at(2),
      reason: "build failed: exit 1",
    });
  });

  it.each([
    [{ function: "hello" }, [SHA(4), SHA(2), SHA(1)]],
    [{ repo: "more" }, [SHA(3)]],
    [{ function: "hello", repo: "more" }, []],
    [{ limit: "2" }, [SHA(4), SHA(6)]],
    [{ function: "" }, [SHA(4), SHA(6), SHA(3), SHA(2), SHA(1)]],
  ])("%j → those builds", async (query, expected) => {
    const res = await get("/builds", { owner: "demo", ...query }, "demo");
    expect([res.status, shas(res.body)]).toEqual([200, expected]);
  });

  it("a build running for over 15 minutes (buildshiprun lost it) → shown as error, so a page stops polling", async () => {
    const res = await get("/builds", { owner: "demo", function: "lost" }, "demo");
    expect((res.body as { builds: BuildRecord[] }).builds).toEqual([
      expect.objectContaining({ state: "error", reason: "build lost: no result within 15 minutes" }),
    ]);
    const log = await get("/build-log", { owner: "demo", repo: "fns", sha: SHA(6), function: "lost" }, "demo");
    expect(log.body).toMatchObject({ build: { state: "error" }, done: true });
  });

  it("no session → 401, another user → 403", async () => {
    expect((await get("/builds", { owner: "demo" })).status).toBe(401);
    expect((await get("/builds", { owner: "demo" }, "mallory")).status).toBe(403);
  });

  it.each([
    [{ function: "Not_A_Label" }, "function"],
    [{ repo: "a/b" }, "repo"],
    [{ limit: "51" }, "limit must be a whole number from 1 to 50"],
    [{ limit: "x" }, "limit must be"],
  ])("%j → 400 naming it", async (query, message) => {
    const res = await get("/builds", { owner: "demo", ...query }, "demo");
    expect([res.status, String(res.body)]).toEqual([400, expect.stringContaining(message)]);
  });
});

describe("build-log", () => {
  const running = { owner: "demo", repo: "fns", sha: SHA(4), function: "hello" };

  it("a running build → its record, the log so far, the next offset, not done", async () => {
    const res = await get("/build-log", running, "demo");
    const bytes = Buffer.byteLength("#1 FROM base\n#2 RUN npm ci ✓");
    expect(res).toEqual({
      status: 200,
      body: {
        build: expect.objectContaining({ sha: SHA(4), state: "running" }),
        log: "#1 FROM base\n#2 RUN npm ci ✓",
        offset: bytes,
        done: false,
      },
    });
    // From an offset: only what came after it (a byte offset: "✓" is three bytes).
    const next = await get("/build-log", { ...running, offset: "13" }, "demo");
    expect(next.body).toMatchObject({ log: "#2 RUN npm ci ✓", offset: bytes });
    const end = await get("/build-log", { ...running, offset: String(bytes) }, "demo");
    expect(end.body).toMatchObject({ log: "", offset: bytes });
  });

  it("a finished build with no stored log (refused before the build) → done, an empty log", async () => {
    const res = await get("/build-log", { ...running, sha: SHA(2) }, "demo");
    expect(res.body).toMatchObject({ build: { state: "failure" }, log: "", offset: 0, done: true });
  });

  it("a build that does not exist, or another owner's asked under this owner → 404", async () => {
    expect((await get("/build-log", { ...running, sha: SHA(9) }, "demo")).status).toBe(404);
    expect((await get("/build-log", { ...running, sha: SHA(5) }, "demo")).status).toBe(404);
  });

  it("no session → 401; another user → 403, even for a build that exists", async () => {
    expect((await get("/build-log", running)).status).toBe(401);
    expect((await get("/build-log", running, "mallory")).status).toBe(403);
  });

  it.each([
    [{ sha: "abc" }, "sha"],
    [{ repo: "" }, "repo is required"],
    [{ function: "a_b" }, "function"],
    [{ offset: "-1" }, "offset must be"],
    [{ offset: "1.5" }, "offset must be"],
  ])("%j → 400 naming it", async (query, message) => {
    const res = await get("/build-log", { ...running, ...query }, "demo");
    expect([res.status, String(res.body)]).toEqual([400, expect.stringContaining(message)]);
  });
});

describe("without s3_url", () => {
  it("builds and build-log → 503 naming the setting, after the session check", async () => {
    const bare = await serveFunction(
      createHandler({
        gateway: adminGateway("http://127.0.0.1:9/", log),
        viewer: { publicKey: keys.publicKey, operators: [], now: () => NOW },
        publicUrl: "http://gw.local:8080/",
        log,
      }),
    );
    try {
      const token = await signSession({ userId: 1, login: "demo", orgs: [] }, keys.privateKey, {
        nowMs: NOW,
        ttlMs: 60_000,
      });
      for (const path of ["/builds", "/build-log"]) {
        const anonymous = await axios.get(`${bare.url}${path}?owner=demo`, { validateStatus: () => true });
        const viewer = await axios.get<string>(`${bare.url}${path}?owner=demo`, {
          headers: { cookie: `${SESSION_COOKIE}=${token}` },
          validateStatus: () => true,
        });
        expect([anonymous.status, viewer.status, viewer.data]).toEqual([401, 503, expect.stringContaining("s3_url")]);
      }
    } finally {
      await bare.close();
    }
  });
});
