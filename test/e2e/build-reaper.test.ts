import { jest } from "@jest/globals";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { pendingBuildsFromConfig } from "../../shared/clients.js";
import { loadConfig } from "../../shared/config.js";
import type { PendingBuilds } from "../../shared/pending-builds.js";
import { loadPorts } from "../../local/ports.js";
import { startLocalCloud, type LocalCloud } from "../../local/runtime.js";

// Issue #11, "no push stays pending, whatever the queue does", on the local runtime: real NATS JetStream and
// queue-worker, real S3 front, real BuildKit, build-reaper called by the runtime's cron stand-in every second. The
// deadlines are shortened so a lost build is found in seconds; a real build takes longer than both of them.
jest.setTimeout(300_000);
const PENDING_DEADLINE_MS = 6_000;
// build-reaper sweeps at most once per 10 s for unsigned (cron) calls.
const SWEEP_WINDOW_MS = 10_000;
const RERUN = "re-run: push again (git commit --allow-empty -m rebuild && git push)";

let dir: string;
let cloud: LocalCloud;
let pending: PendingBuilds;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "reaper-"));
  const { gateway } = await loadPorts(join(dir, "ports.json"));
  const log = pino({ level: "silent" });
  cloud = await startLocalCloud({
    dir,
    owners: ["alice"],
    log,
    gatewayPort: gateway,
    settings: { pending_deadline: "6s", heartbeat_timeout: "5s" },
    cronSchedule: "* * * * * *",
  });
  // The records as the system functions see them, through the same configuration.
  const config = loadConfig(cloud.settings, { settings: ["s3_url"], secrets: ["s3-access-key", "s3-secret-key"] });
  pending = pendingBuildsFromConfig(config, log);
});
afterAll(async () => {
  await cloud?.close();
  await rm(dir, { recursive: true, force: true });
});

const stack = (fn: string) =>
  `version: 1.0\nprovider:\n  name: openfaas\nfunctions:\n  ${fn}:\n    lang: node20\n    handler: ./${fn}\n    image: ${fn}:latest\n`;
/** A function whose build runs `npm test` for `testMs`: longer than both deadlines when asked. */
const fn = (name: string, testMs = 0) => ({
  [`${name}/handler.js`]: `module.exports = async () => "${name} answers";\n`,
  [`${name}/package.json`]: JSON.stringify({
    name,
    version: "1.0.0",
    private: true,
    main: "handler.js",
    ...(testMs ? { scripts: { test: `node -e "setTimeout(() => {}, ${testMs})"` } } : {}),
  }),
});
const statuses = (repo: string, sha: string) =>
  cloud.github.statuses({ owner: "alice", repo, sha }).map((s) => ({
    context: s.context,
    state: s.state,
    description: s.description,
    at: Date.parse(s.created_at),
  }));

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  for (const deadline = Date.now() + timeoutMs; ;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** A probe for {@link until}: true once the pending-build record is gone. */
const recordGone = (ref: { owner: string; repo: string; sha: string }) => async () =>
  (await pending.get(ref)) ? undefined : true;

describe("build-reaper on the local runtime", () => {
  let lost: { sha: string };
  let slow: { sha: string; accepted: number };

  beforeAll(async () => {
    // (a) The worker is stopped, so the queued call stays in the queue, and then the queue loses it.
    await cloud.queueWorker.stop();
    const lostSha = await cloud.publish("alice", "lost", { "stack.yml": stack("api"), ...fn("api") });
    expect((await cloud.sendPush("alice", "lost", lostSha)).status).toBe(202);
    expect(await cloud.queueWorker.drop()).toBe(1);
    await cloud.queueWorker.start();
    lost = { sha: lostSha };
    // (b) Pushed at once, so both run side by side: npm test sleeps 15 s, past the 6 s deadline and the 5 s timeout.
    const slowSha = await cloud.publish("alice", "slow", { "stack.yml": stack("slow"), ...fn("slow", 15_000) });
    slow = { sha: slowSha, accepted: Date.now() };
    expect((await cloud.sendPush("alice", "slow", slowSha)).status).toBe(202);
  });

  it("(a) a push whose queued call was lost → error 'build lost … re-run' after the deadline, within one sweep of it", async () => {
    const done = await cloud.waitForStatus("alice", "lost", lost.sha, "stack-deploy", 60_000);
    const seen = statuses("lost", lost.sha);
    expect(seen.map(({ context, state }) => [context, state])).toEqual([
      ["stack-deploy", "pending"],
      ["stack-deploy", "error"],
    ]);
    expect(done.description).toBe(`build lost: git-tar never started it within 6s; ${RERUN}`);
    const waited = seen[1]!.at - seen[0]!.at;
    expect(waited).toBeGreaterThanOrEqual(PENDING_DEADLINE_MS);
    expect(waited).toBeLessThanOrEqual(PENDING_DEADLINE_MS + SWEEP_WINDOW_MS + 5_000);
    // The record goes right after the status (posted first, so a sweep cut short between them is retried whole): a
    // few seconds' grace, where checking at once raced the reaper's delete under load.
    await until("the reaper to remove the record", recordGone({ owner: "alice", repo: "lost", sha: lost.sha }), 10_000);
  });

  it("(b) a build still running past both deadlines → not reaped: it ends in success, no error ever posted", async () => {
    const done = await cloud.waitForStatus("alice", "slow", slow.sha, "stack-deploy", 180_000);
    expect(done.state).toBe("success");
    const seen = statuses("slow", slow.sha);
    // It outlived the deadline by a whole sweep window, so a sweep ran while it would have been "lost" without its
    // heartbeat ((a) shows the sweeps ran).
    expect(seen.at(-1)!.at - slow.accepted).toBeGreaterThanOrEqual(PENDING_DEADLINE_MS + SWEEP_WINDOW_MS);
    expect(seen.filter((s) => s.state === "error" || s.state === "failure")).toEqual([]);
    // The build-result callback removes the record after git-tar's terminal status.
    await until("the record to be removed", recordGone({ owner: "alice", repo: "slow", sha: slow.sha }), 10_000);
  });

  it("(c) a stale record whose stack-deploy is already success → removed, nothing posted", async () => {
    const before = statuses("slow", slow.sha).length;
    const ref = { owner: "alice", repo: "slow", sha: slow.sha };
    await pending.put({
      ...ref,
      ownerId: 1001,
      installationId: 1,
      acceptedAt: new Date(Date.now() - 3_600_000).toISOString(),
    });
    await until("the reaper to remove the stale record", recordGone(ref), 30_000);
    expect(statuses("slow", slow.sha)).toHaveLength(before);
  });
});
