import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import axios from "axios";
import { Client } from "minio";
import { pino } from "pino";
import { serveFunction } from "../../shared/function-server.js";
import { signHop } from "../../shared/hmac.js";
import { buildLogUrl } from "../../shared/log-link.js";
import { createLogStore, logLinkSignature, logObjectKey, type LogKey } from "../../shared/log-store.js";
import { startS3Server } from "../../local/services/s3.js";
import { createHandler, depsFromEnv } from "./handler.js";

const SECRET = "payload-secret-for-tests";
const SHA = "0123456789abcdef0123456789abcdef01234567";
const KEY: LogKey = { owner: "alice", repo: "fns", sha: SHA, function: "api" };
const log = pino({ level: "silent" });

let s3: Awaited<ReturnType<typeof startS3Server>>;
let fn: Awaited<ReturnType<typeof serveFunction>>;
let bucket: string;
let buckets = 0;
beforeAll(async () => {
  s3 = await startS3Server();
});
afterAll(() => s3.close());
beforeEach(async () => {
  bucket = `logs-${++buckets}`;
  const store = createLogStore({ ...s3, useSSL: false, region: "us-east-1", bucket, log });
  fn = await serveFunction(createHandler({ payloadSecret: SECRET, store, log }));
});
afterEach(() => fn.close());

const minio = () =>
  new Client({ endPoint: "127.0.0.1", port: Number(s3.endpoint.split(":")[1]), useSSL: false, ...s3 });

function post(body: object | string, signature?: string) {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  // A Buffer, so axios sends the bytes that were signed (it re-encodes strings that are not valid JSON).
  return axios.post<string>(fn.url, Buffer.from(text), {
    headers: {
      "content-type": "application/json",
      "x-cloud-signature-256": signature ?? signHop(SECRET, "pipeline-log", text),
    },
    responseType: "text",
    validateStatus: () => true,
  });
}

function get(query: Record<string, string>) {
  return axios.get<string>(fn.url, { params: query, responseType: "text", validateStatus: () => true });
}

const link = (key: LogKey) => ({ ...key, sig: logLinkSignature(SECRET, key) });

describe("pipeline-log", () => {
  it("signed POST then GET by signed link → 'Wrote <n> bytes to <key>', then the log as text/plain", async () => {
    const text = "Step 1/3 : FROM node\nbuilt ✓\n";
    const stored = await post({ ...KEY, log: text });
    expect([stored.status, stored.data]).toEqual([
      200,
      `Wrote ${Buffer.byteLength(text)} bytes to alice/fns/${SHA}/api/build.log`,
    ]);
    const res = await get(link(KEY));
    expect([res.status, res.data]).toEqual([200, text]);
    expect(res.headers["content-type"]).toBe("text/plain; charset=utf-8");
  });

  it("first POST → the bucket is created; the object sits at <owner>/<repo>/<sha>/<function>/build.log", async () => {
    const client = minio();
    expect(await client.bucketExists(bucket)).toBe(false);
    expect((await post({ ...KEY, log: "x" })).status).toBe(200);
    expect(await client.bucketExists(bucket)).toBe(true);
    expect((await client.statObject(bucket, `alice/fns/${SHA}/api/build.log`)).size).toBe(1);
  });

  it("mixed-case owner, repo and function → stored lowercased, served by a lowercase link", async () => {
    const stored = await post({ owner: "Alice", repo: "FNS", sha: SHA.toUpperCase(), function: "Api", log: "ok" });
    expect(stored.data).toBe(`Wrote 2 bytes to alice/fns/${SHA}/api/build.log`);
    expect((await get(link(KEY))).data).toBe("ok");
  });

  it("a second POST for the same key → replaces the log", async () => {
    await post({ ...KEY, log: "first" });
    await post({ ...KEY, log: "second" });
    expect((await get(link(KEY))).data).toBe("second");
  });

  it.each([
    ["a wrong sig", { sig: logLinkSignature("another-secret", KEY) }],
    ["the sig of another function's log", { sig: logLinkSignature(SECRET, { ...KEY, function: "web" }) }],
    ["no sig", { sig: "" }],
  ])("GET with %s → 404 worded like a missing log", async (_, override) => {
    await post({ ...KEY, log: "secret build output" });
    const res = await get({ ...link(KEY), ...override });
    expect([res.status, res.data]).toEqual([404, "no build log for alice/fns@0123456 api"]);
  });

  it("GET for an unknown sha, with a valid sig → 404 naming it", async () => {
    await post({ ...KEY, log: "x" });
    const other = { ...KEY, sha: "f".repeat(40) };
    const res = await get(link(other));
    expect([res.status, res.data]).toEqual([404, "no build log for alice/fns@fffffff api"]);
  });

  it("GET before anything was stored (no bucket yet) → 404", async () => {
    expect((await get(link(KEY))).status).toBe(404);
  });

  it.each([
    ["owner", "../bob", /^owner "\.\.\/bob" must be 1-100 letters/],
    ["owner", "..", /^owner "\.\." must be/],
    ["owner", ".", /^owner "\." must be/],
    ["repo", "fns/../../x", /^repo .* must be/],
    ["repo", "a".repeat(101), /^repo .* at most|^repo .* must be 1-100/],
    ["sha", "abc123", /^sha "abc123" must be a 40-character hex commit SHA$/],
    ["sha", `${SHA.slice(0, 39)}g`, /^sha .* must be a 40-character hex/],
    ["function", "api/../web", /^function .* must be a DNS-1123 label/],
    ["function", "-api", /^function .* must be a DNS-1123 label/],
    ["function", "a".repeat(64), /^function .* must be a DNS-1123 label/],
  ])("GET with %s %j → 400 naming the part", async (part, value, message) => {
    const res = await get({ ...KEY, [part]: value, sig: "0".repeat(64) });
    expect(res.status).toBe(400);
    expect(res.data).toMatch(message);
  });

  it.each(["owner", "repo", "sha", "function"])("GET without %s → 400 '<part> is required'", async (part) => {
    const query: Record<string, string> = { ...link(KEY) };
    delete query[part];
    const res = await get(query);
    expect([res.status, res.data]).toEqual([400, `${part} is required`]);
  });

  it("POST with a key part that climbs (../) → 400, nothing stored", async () => {
    const res = await post({ ...KEY, repo: "../../etc", log: "x" });
    expect(res.status).toBe(400);
    expect(res.data).toMatch(/^repo "\.\.\/\.\.\/etc" must be/);
    expect(await minio().bucketExists(bucket)).toBe(false);
  });

  it.each([
    ["no signature", ""],
    ["a signature made with another secret", signHop("other", "pipeline-log", "{}")],
  ])("POST with %s → 401, nothing stored", async (_, signature) => {
    const res = await post({ ...KEY, log: "x" }, signature);
    expect([res.status, res.data]).toEqual([401, "invalid, stale or missing X-Cloud-Signature-256 for pipeline-log"]);
    expect(await minio().bucketExists(bucket)).toBe(false);
  });

  it.each([
    ["not JSON", "{", /^pipeline log: body is not valid JSON$/],
    ["no log field", JSON.stringify(KEY), /^pipeline log: log: /],
  ])("POST with %s → 400", async (_, body, message) => {
    const res = await post(body);
    expect(res.status).toBe(400);
    expect(res.data).toMatch(message);
  });

  it.each(["PUT", "DELETE"])("%s → 405 with Allow", async (method) => {
    const res = await axios.request<string>({ method, url: fn.url, validateStatus: () => true });
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe("GET, POST");
  });
});

describe("log keys and links", () => {
  it("logLinkSignature → hex HMAC-SHA256 of the object key (known answer)", () => {
    expect(logObjectKey(KEY)).toBe(`alice/fns/${SHA}/api/build.log`);
    expect(logLinkSignature(SECRET, KEY)).toBe("b0fa02510f453b7b3ea403940538508ae3693fa5300a78433b9ded910fdb720f");
  });

  it("buildLogUrl → <public gateway>function/pipeline-log with the normalised parts and the sig; it serves the log", async () => {
    const url = buildLogUrl("http://gw.example.com", SECRET, { ...KEY, owner: "Alice" });
    expect(url).toBe(
      `http://gw.example.com/function/pipeline-log?owner=alice&repo=fns&sha=${SHA}&function=api` +
        "&sig=b0fa02510f453b7b3ea403940538508ae3693fa5300a78433b9ded910fdb720f",
    );
    await post({ ...KEY, log: "linked" });
    const res = await axios.get<string>(`${fn.url}${new URL(url).search}`, { responseType: "text" });
    expect(res.data).toBe("linked");
  });
});

describe("log store", () => {
  it("S3 not listening yet on the first attempt → the put is retried and lands", async () => {
    const port = await freePort();
    let late: Awaited<ReturnType<typeof startS3Server>> | undefined;
    const store = createLogStore({
      ...s3,
      endpoint: `127.0.0.1:${port}`,
      useSSL: false,
      region: "us-east-1",
      bucket: "late",
      log,
      sleep: async () => {
        late ??= await startS3Server({ port, keys: { accessKey: s3.accessKey, secretKey: s3.secretKey } });
      },
    });
    try {
      await store.put(KEY, "after a restart");
      expect(await store.get(KEY)).toBe("after a restart");
    } finally {
      await late?.close();
    }
  });

  it("S3 never reachable → put rejects after its retries", async () => {
    const store = createLogStore({
      ...s3,
      endpoint: `127.0.0.1:${await freePort()}`,
      useSSL: false,
      region: "us-east-1",
      bucket: "never",
      log,
      sleep: () => Promise.resolve(),
    });
    await expect(store.put(KEY, "x")).rejects.toMatchObject({ code: "ECONNREFUSED" });
  });

  it("endpoint with a scheme → a startup error naming s3_url", () => {
    expect(() =>
      createLogStore({ ...s3, endpoint: "http://minio:9000", useSSL: false, region: "r", bucket: "b", log }),
    ).toThrow('s3_url: expected host:port, got "http://minio:9000"');
  });
});

describe("pipeline-log configuration", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "ofc-secrets-"));
    for (const name of ["s3-access-key", "s3-secret-key", "payload-secret"]) await writeFile(join(dir, name), "v\n");
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it("s3_url unset → a startup error naming it", () => {
    expect(() => depsFromEnv({ secret_mount_path: dir })).toThrow(/s3_url: required by this function/);
  });

  it("s3_url and the secrets present → deps built without touching the network", () => {
    expect(depsFromEnv({ secret_mount_path: dir, s3_url: "127.0.0.1:9000" }).payloadSecret).toBe("v");
  });
});

/** A port nothing listens on (taken from the OS, then released). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}
