import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { pino } from "pino";
import { startS3Server } from "../local/services/s3.js";
import { buildRecordKey, createBuildHistory, type BuildRecord } from "../shared/build-history.js";
import { createLogStore } from "../shared/log-store.js";
import { createPendingBuilds } from "../shared/pending-builds.js";
import { createS3Bucket } from "../shared/s3-bucket.js";
import { startS3Proxy, type S3ProxyHooks } from "./support/s3-proxy.js";

// issue #14 item 2: the build history in the logs' bucket, against the same S3 server the runtime uses (s3rver
// behind the signature-checking front door).

const log = pino({ level: "silent" });
const SHA = (n: number) => n.toString(16).padStart(40, "a");
const at = (minute: number) => new Date(Date.UTC(2026, 10, 30, 12, minute)).toISOString();

let s3: Awaited<ReturnType<typeof startS3Server>>;
beforeAll(async () => {
  s3 = await startS3Server();
});
afterAll(() => s3.close());

let bucketNo = 0;
function stores(over: { endpoint?: string; secretKey?: string; timeoutMs?: number; bucket?: string } = {}) {
  const deps = {
    endpoint: s3.endpoint,
    useSSL: false,
    region: "us-east-1",
    // A fresh bucket per test: each starts empty, and the first put has to create it.
    bucket: over.bucket ?? `history-${++bucketNo}`,
    accessKey: s3.accessKey,
    secretKey: over.secretKey ?? s3.secretKey,
    log,
  };
  // The 3 s per-call bound is for production; a machine busy with other suites may take longer here.
  const slow = { ...deps, timeoutMs: 30_000 };
  return {
    history: createBuildHistory({ ...slow, ...over }),
    logs: createLogStore(deps),
    pending: createPendingBuilds(slow),
    // The same bucket, straight to S3: what is stored, whatever the history makes of it.
    raw: createS3Bucket(deps),
    bucket: deps.bucket,
  };
}

const proxies: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(proxies.splice(0).map((p) => p.close()));
});
/** A proxy in front of the S3 server (test/support/s3-proxy.ts), closed after the test. */
async function proxyS3(hooks: S3ProxyHooks = {}) {
  const proxy = await startS3Proxy(s3.endpoint, hooks);
  proxies.push(proxy);
  return proxy;
}
/** A peer that takes each request and never answers it: a hung store. */
async function startHungServer() {
  const server = createServer(() => undefined);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const closer = {
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  proxies.push(closer);
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}
/** Every key under `_builds/` in the bucket, sorted. */
async function keysIn(raw: ReturnType<typeof createS3Bucket>, bucket: string): Promise<string[]> {
  const page = await raw.client.listObjectsQuery(bucket, "_builds/", "", { Delimiter: "", MaxKeys: 1000 });
  return page.objects.flatMap((o) => (o.name ? [o.name] : [])).sort();
}
const S3_ERROR = (code: string) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${code}</Message></Error>`;

function build(over: Partial<BuildRecord> = {}): BuildRecord {
  return {
    owner: "alice",
    repo: "fns",
    branch: "main",
    sha: SHA(1),
    function: "api",
    state: "running",
    startedAt: at(0),
    ...over,
  };
}

describe("build history", () => {
  it("running, then the terminal record → get returns the terminal one (one record per function of a commit)", async () => {
    const { history } = stores();
    await history.put(build());
    expect(await history.get({ owner: "alice", repo: "fns", sha: SHA(1), function: "api" })).toEqual(build());
    const done = build({
      state: "success",
      finishedAt: at(1),
      durationMs: 60_000,
      image: "r/alice/fns--api:latest-aaaaaaa",
      url: "http://alice.localhost/api",
    });
    await history.put(done);
    expect(await history.get({ owner: "Alice", repo: "FNS", sha: SHA(1).toUpperCase(), function: "api" })).toEqual(
      done,
    );
    expect(await history.list({ owner: "alice" })).toEqual([done]);
  });

  it("a failure reason over 1000 characters → stored, cut to 1000", async () => {
    const { history } = stores();
    await history.put(build({ state: "failure", reason: "x".repeat(5000) }));
    expect((await history.get(build()))?.reason).toHaveLength(1000);
  });

  it("an unknown build → undefined, also before the bucket exists", async () => {
    const { history } = stores();
    expect(await history.get({ owner: "alice", repo: "fns", sha: SHA(9), function: "api" })).toBeUndefined();
    expect(await history.list({ owner: "alice" })).toEqual([]);
  });

  it("builds started in any order → listed newest first, filtered by function or repository, cut at limit", async () => {
    const { history } = stores();
    const builds = [
      build({ startedAt: at(3), function: "api", repo: "fns", sha: SHA(3) }),
      build({ startedAt: at(1), function: "api", repo: "fns", sha: SHA(1) }),
      build({ startedAt: at(5), function: "web", repo: "site", sha: SHA(5) }),
      build({ startedAt: at(2), function: "web", repo: "fns", sha: SHA(2) }),
      build({ startedAt: at(4), function: "api", repo: "other", sha: SHA(4) }),
    ];
    for (const b of builds) await history.put(b);
    const shas = (list: BuildRecord[]) => list.map((b) => b.sha);
    expect(shas(await history.list({ owner: "alice" }))).toEqual([SHA(5), SHA(4), SHA(3), SHA(2), SHA(1)]);
    expect(shas(await history.list({ owner: "alice", function: "api" }))).toEqual([SHA(4), SHA(3), SHA(1)]);
    expect(shas(await history.list({ owner: "alice", repo: "fns" }))).toEqual([SHA(3), SHA(2), SHA(1)]);
    expect(shas(await history.list({ owner: "alice", repo: "fns", function: "web" }))).toEqual([SHA(2)]);
    expect(shas(await history.list({ owner: "alice", limit: 2 }))).toEqual([SHA(5), SHA(4)]);
    // Another owner's prefix holds none of them; "alice" is not a prefix match of "alice2" either.
    expect(await history.list({ owner: "alice2" })).toEqual([]);
  });

  it("ten functions of two repos finishing in the same millisecond → all ten records kept", async () => {
    const { history } = stores();
    const same = Array.from({ length: 10 }, (_, i) =>
      build({ function: `fn${i}`, repo: i % 2 ? "fns" : "site", state: "failure", reason: `r${i}`, finishedAt: at(1) }),
    );
    await Promise.all(same.map((b) => history.put(b)));
    const listed = await history.list({ owner: "alice" });
    expect(listed.map((b) => b.function).sort()).toEqual(same.map((b) => b.function).sort());
    for (const b of same) expect(await history.get(b)).toEqual(b);
  });

  it("a rebuild of the same commit (a redelivered push) → listed once, at its new start time", async () => {
    const { history } = stores();
    await history.put(build({ startedAt: at(1), sha: SHA(1), state: "success" }));
    await history.put(build({ startedAt: at(2), sha: SHA(2), state: "success" }));
    await history.put(build({ startedAt: at(3), sha: SHA(1) }));
    const listed = await history.list({ owner: "alice", function: "api" });
    expect(listed.map((b) => [b.sha, b.startedAt, b.state])).toEqual([
      [SHA(1), at(3), "running"],
      [SHA(2), at(2), "success"],
    ]);
  });

  it("a limit of 50 over 60 builds → the newest 50", async () => {
    const { history } = stores();
    await Promise.all(Array.from({ length: 60 }, (_, i) => history.put(build({ sha: SHA(i + 1), startedAt: at(i) }))));
    const listed = await history.list({ owner: "alice", limit: 50 });
    expect(listed).toHaveLength(50);
    expect(listed[0]!.sha).toBe(SHA(60));
    expect(listed[49]!.sha).toBe(SHA(11));
  });

  it("records beside build logs and pending builds → neither listing sees the other's objects", async () => {
    const { history, logs, pending } = stores();
    await history.put(build());
    await logs.put({ owner: "alice", repo: "fns", sha: SHA(1), function: "api" }, "#1 done");
    await pending.put({
      owner: "alice",
      ownerId: 1,
      repo: "fns",
      sha: SHA(1),
      installationId: 1,
      acceptedAt: at(0),
    });
    expect(await history.list({ owner: "alice" })).toEqual([build()]);
    expect((await pending.list({ limit: 100 })).entries).toHaveLength(1);
    expect(await logs.get({ owner: "alice", repo: "fns", sha: SHA(1), function: "api" })).toBe("#1 done");
  });

  it.each([
    ["an owner that climbs", { owner: ".." }],
    ["a repository with a slash", { repo: "fns/../x" }],
    ["a short SHA", { sha: "abc" }],
    ["a function that is no DNS label", { function: "Api_1" }],
  ])("%s → refused, nothing stored", async (_, bad) => {
    const { history } = stores();
    await expect(history.put(build(bad))).rejects.toThrow();
    expect(() => buildRecordKey({ ...build(), ...bad })).toThrow();
  });

  it.each([0, 51, 1.5])("a limit of %s → refused", async (limit) => {
    const { history } = stores();
    await expect(history.list({ owner: "alice", limit })).rejects.toThrow(/limit must be 1 to 50/);
  });

  it("a limit of 1 → the newest build only", async () => {
    const { history } = stores();
    await history.put(build({ sha: SHA(1), startedAt: at(1) }));
    await history.put(build({ sha: SHA(2), startedAt: at(2) }));
    expect((await history.list({ owner: "alice", limit: 1 })).map((b) => b.sha)).toEqual([SHA(2)]);
  });

  it("the first and the last start time the keys can spell (1970, 2286) → stored and listed; one ms outside → refused", async () => {
    const { history } = stores();
    const first = build({ sha: SHA(1), startedAt: "1970-01-01T00:00:00.000Z" });
    // 9999999999999 ms: its inverted time is 0, padded to 13 digits like every other.
    const last = build({ sha: SHA(2), startedAt: "2286-11-20T17:46:39.999Z" });
    await history.put(first);
    await history.put(last);
    expect(await history.list({ owner: "alice" })).toEqual([last, first]);
    await expect(history.put(build({ sha: SHA(3), startedAt: "1969-12-31T23:59:59.999Z" }))).rejects.toThrow(
      /bad time/,
    );
    await expect(history.put(build({ sha: SHA(3), startedAt: "2286-11-20T17:46:40.000Z" }))).rejects.toThrow(
      /bad time/,
    );
  });

  it("stored objects → the record as application/json, each index entry as an empty application/octet-stream", async () => {
    const { history, raw, bucket } = stores();
    await history.put(build());
    const keys = await keysIn(raw, bucket);
    expect(keys).toHaveLength(4);
    for (const key of keys) {
      const stat = await raw.client.statObject(bucket, key);
      if (key === buildRecordKey(build())) {
        expect(stat.metaData["content-type"]).toBe("application/json");
      } else {
        expect([stat.size, stat.metaData["content-type"]]).toEqual([0, "application/octet-stream"]);
      }
    }
  });

  it("a rebuild of the same commit → the old start's index entries are removed, not left to be skipped", async () => {
    const { history, raw, bucket } = stores();
    await history.put(build({ startedAt: at(1) }));
    const before = await keysIn(raw, bucket);
    await history.put(build({ startedAt: at(2) }));
    const after = await keysIn(raw, bucket);
    expect(after).toHaveLength(4);
    expect(after.filter((k) => before.includes(k))).toEqual([buildRecordKey(build())]);
  });

  it("the terminal record of a running build → one PUT (the record); the index entries are left as they are", async () => {
    const { history, bucket } = stores();
    await history.put(build());
    const proxy = await proxyS3();
    await stores({ endpoint: proxy.endpoint, bucket }).history.put(build({ state: "success", finishedAt: at(1) }));
    expect(proxy.requests.filter((r) => r.startsWith("PUT "))).toHaveLength(1);
  });

  it("a record of exactly 16 KiB → read; one byte more → not a record (undefined)", async () => {
    const { history, raw, bucket } = stores();
    await history.put(build());
    const stored = JSON.stringify(build());
    const put = async (size: number) => {
      // JSON allows trailing spaces: the same record, padded to `size` bytes.
      const body = Buffer.from(stored.padEnd(size, " "));
      await raw.client.putObject(bucket, buildRecordKey(build()), body, body.length);
    };
    await put(16 * 1024);
    expect(await history.get(build())).toEqual(build());
    await put(16 * 1024 + 1);
    expect(await history.get(build())).toBeUndefined();
  });

  it.each([
    ["not JSON", "{"],
    ["JSON that is no record", JSON.stringify({ owner: "alice" })],
  ])("an object under a record's key that is %s → get undefined, not an error", async (_, body) => {
    const { history, raw, bucket } = stores();
    await history.put(build());
    await raw.client.putObject(bucket, buildRecordKey(build()), Buffer.from(body), body.length);
    expect(await history.get(build())).toBeUndefined();
  });

  it("S3 refusing the request (a wrong secret key: 403) → get, put and list throw, never 'none'", async () => {
    const { history, bucket } = stores();
    await history.put(build());
    const refused = stores({ secretKey: "not-the-key", bucket }).history;
    await expect(refused.get(build())).rejects.toThrow(/signature/i);
    await expect(refused.put(build({ sha: SHA(2) }))).rejects.toThrow(/signature/i);
    await expect(refused.list({ owner: "alice" })).rejects.toThrow(/signature/i);
  });

  it("a write S3 refuses once (403 AccessDenied, not NoSuchBucket) → put throws; it is not taken for a missing bucket", async () => {
    const { history, bucket } = stores();
    await history.put(build());
    let refusals = 0;
    const proxy = await proxyS3({
      before: (method) =>
        Promise.resolve(
          method === "PUT" && ++refusals === 1 ? { status: 403, body: S3_ERROR("AccessDenied") } : undefined,
        ),
    });
    await expect(
      stores({ endpoint: proxy.endpoint, bucket }).history.put(build({ state: "success", finishedAt: at(1) })),
    ).rejects.toThrow(/AccessDenied/);
  });

  it("a store that never answers → each call throws after timeoutMs, naming the call", async () => {
    const history = stores({ endpoint: await startHungServer(), timeoutMs: 200 }).history;
    await expect(history.get(build())).rejects.toThrow("S3: get build: no answer within 200 ms");
    await expect(history.list({ owner: "alice" })).rejects.toThrow("S3: list builds: no answer within 200 ms");
  });

  it("a store that answers reads but never a write, or never the bucket check → put throws naming that call", async () => {
    const never = new Promise<undefined>(() => undefined);
    const writing = await proxyS3({ before: (method) => (method === "PUT" ? never : Promise.resolve(undefined)) });
    await expect(stores({ endpoint: writing.endpoint, timeoutMs: 2000 }).history.put(build())).rejects.toThrow(
      "S3: put build: no answer within 2000 ms",
    );
    // Each write is told the bucket is missing; the check that would create it (HEAD) hangs.
    const creating = await proxyS3({
      before: (method) =>
        method === "HEAD"
          ? never
          : Promise.resolve(method === "PUT" ? { status: 404, body: S3_ERROR("NoSuchBucket") } : undefined),
    });
    await expect(stores({ endpoint: creating.endpoint, timeoutMs: 2000 }).history.put(build())).rejects.toThrow(
      "S3: create bucket: no answer within 2000 ms",
    );
  });

  it("a stray index entry whose time has 14 digits (a leading 0) → skipped, the build listed once", async () => {
    const { history, raw, bucket } = stores();
    await history.put(build());
    const entry = (await keysIn(raw, bucket)).find((k) => k.startsWith("_builds/~owner/"))!;
    const stray = entry.replace(/\/([0-9]{13})\//, "/0$1/");
    await raw.client.putObject(bucket, stray, Buffer.alloc(0), 0);
    expect(await history.list({ owner: "alice" })).toEqual([build()]);
  });

  it("index entries with a part missing → skipped without reading anything", async () => {
    const { history, raw, bucket } = stores();
    await history.put(build());
    const entry = (await keysIn(raw, bucket)).find((k) => k.startsWith("_builds/~owner/"))!;
    const [inv] = /\/([0-9]{13})\//.exec(entry)!.slice(1);
    for (const stray of [`fns`, `fns/${SHA(1)}`]) {
      await raw.client.putObject(bucket, `_builds/~owner/alice/${inv}/${stray}`, Buffer.alloc(0), 0);
    }
    const proxy = await proxyS3();
    const listed = await stores({ endpoint: proxy.endpoint, bucket }).history.list({ owner: "alice" });
    expect(listed).toStrictEqual([build()]);
    // One list and the one real record's read: the strays cost nothing.
    expect(proxy.requests.filter((r) => r.startsWith("GET "))).toHaveLength(2);
  });

  it("an index entry of an older start left behind (its removal failed) → the build listed once, at its new start", async () => {
    const { history, raw, bucket } = stores();
    await history.put(build({ startedAt: at(1) }));
    const old = (await keysIn(raw, bucket)).filter((k) => !k.endsWith(".json"));
    await history.put(build({ startedAt: at(2) }));
    for (const key of old) await raw.client.putObject(bucket, key, Buffer.alloc(0), 0);
    expect(await history.list({ owner: "alice" })).toStrictEqual([build({ startedAt: at(2) })]);
    expect(await history.list({ owner: "alice", function: "api" })).toStrictEqual([build({ startedAt: at(2) })]);
  });

  it("an index entry whose record is gone → left out, no hole in the list", async () => {
    const { history, raw, bucket } = stores();
    await history.put(build({ sha: SHA(1), startedAt: at(1) }));
    await history.put(build({ sha: SHA(2), startedAt: at(2) }));
    await raw.client.removeObject(bucket, buildRecordKey(build({ sha: SHA(2) })));
    expect(await history.list({ owner: "alice" })).toStrictEqual([build({ sha: SHA(1), startedAt: at(1) })]);
  });
});
