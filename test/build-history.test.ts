import { pino } from "pino";
import { startS3Server } from "../local/services/s3.js";
import { buildRecordKey, createBuildHistory, type BuildRecord } from "../shared/build-history.js";
import { createLogStore } from "../shared/log-store.js";
import { createPendingBuilds } from "../shared/pending-builds.js";

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
function stores() {
  const deps = {
    endpoint: s3.endpoint,
    useSSL: false,
    region: "us-east-1",
    // A fresh bucket per test: each starts empty, and the first put has to create it.
    bucket: `history-${++bucketNo}`,
    accessKey: s3.accessKey,
    secretKey: s3.secretKey,
    log,
  };
  // The 3 s per-call bound is for production; a machine busy with other suites may take longer here.
  const slow = { ...deps, timeoutMs: 30_000 };
  return { history: createBuildHistory(slow), logs: createLogStore(deps), pending: createPendingBuilds(slow) };
}

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
});
