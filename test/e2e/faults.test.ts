import { jest } from "@jest/globals";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { pino } from "pino";
import type { RecordedStatus } from "../../local/github-standin/server.js";
import { loadPorts } from "../../local/ports.js";
import { startLocalCloud, type LocalCloud } from "../../local/runtime.js";

// Issue #16 item 5: pushes from two owners are in flight while one part of the local runtime fails, and every
// accepted push must still end in a terminal commit status that says what happened; none may be built or deployed
// twice. The runtime process being killed and restarted is test/e2e/restart.test.ts (it needs its own process).
// Real parts throughout: dockerd with BuildKit, the registry daemon, nats-server with JetStream, s3rver, the strict
// GitHub stand-in; build-reaper runs every second so a push the system lost would end in its "build lost" error.
jest.setTimeout(600_000);

const OWNERS = ["alice", "bob"];
// A push must end within this of its fault being over: builds here take seconds, and the reaper's deadlines are short.
const SETTLE_MS = 150_000;

let dir: string;
let cloud: LocalCloud;
/** The runtime's and the system functions' log lines, as JSON text: what was built and deployed is counted from them. */
const lines: string[] = [];
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "faults-"));
  const { gateway } = await loadPorts(join(dir, "ports.json"));
  const destination = { write: (line: string) => void lines.push(line) };
  cloud = await startLocalCloud({
    dir,
    owners: OWNERS,
    log: pino({ level: "info" }, destination),
    logDestination: destination,
    gatewayPort: gateway,
    // A call whose ack was lost with a NATS restart comes back after this, not after the default 15 minutes.
    ackWaitMs: 30_000,
    // Short, so a push the system lost is ended by build-reaper inside SETTLE_MS (an error is terminal, and says so).
    settings: { pending_deadline: "60s", heartbeat_timeout: "30s" },
    cronSchedule: "* * * * * *",
  });
});
afterAll(async () => {
  // FAULTS_DEBUG=1: every warning and error the runtime logged, and every status posted, for a failure's story.
  if (process.env.FAULTS_DEBUG) {
    for (const l of lines) if (/"level":(40|50|60)/.test(l)) console.log(l.slice(0, 600));
    console.log(
      cloud.github
        .statuses()
        .map((s) => `${s.owner}/${s.repo} ${s.context} ${s.state}: ${s.description}`)
        .join("\n"),
    );
  }
  await cloud?.close();
  await rm(dir, { recursive: true, force: true });
});

/** One push of a one-function repository: its function is named after the fault so no two pushes share a name. */
interface Push {
  owner: string;
  repo: string;
  fn: string;
  sha: string;
  accepted: boolean;
}

const stack = (fn: string) =>
  `version: 1.0\nprovider:\n  name: openfaas\nfunctions:\n  ${fn}:\n    lang: node20\n    handler: ./${fn}\n    image: ${fn}:latest\n`;

/** Publishes and pushes `count` repositories, alternating owners, all at once; returns them with their answers. */
async function pushMany(fault: string, count: number, from = 0): Promise<Push[]> {
  const pushes = await Promise.all(
    Array.from({ length: count }, async (_, k) => {
      const i = from + k;
      const owner = OWNERS[i % OWNERS.length]!;
      const fn = `${fault}${i}`;
      const repo = `${fault}-${i}`;
      const sha = await cloud.publish(owner, repo, {
        "stack.yml": stack(fn),
        [`${fn}/handler.js`]: `module.exports = async () => "${fn} answers";\n`,
        [`${fn}/package.json`]: JSON.stringify({ name: fn, version: "1.0.0", private: true, main: "handler.js" }),
      });
      return { owner, repo, fn, sha };
    }),
  );
  return Promise.all(
    pushes.map(async (p) => {
      const res = await cloud.sendPush(p.owner, p.repo, p.sha).catch(() => ({ status: 0 }));
      return { ...p, accepted: res.status >= 200 && res.status < 300 };
    }),
  );
}

/** The latest status of each context on the push's commit. */
function latest(p: Push): Map<string, RecordedStatus> {
  const found = new Map<string, RecordedStatus>();
  for (const s of cloud.github.statuses({ owner: p.owner, repo: p.repo, sha: p.sha })) found.set(s.context, s);
  return found;
}
const terminal = (p: Push) => {
  const s = latest(p).get("stack-deploy");
  return s !== undefined && s.state !== "pending";
};

async function until(what: string, probe: () => boolean, timeoutMs: number): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !probe(); await sleep(200)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
  }
}

/** Waits until every accepted push has a terminal stack-deploy status, or the deadline passes. */
async function settle(pushes: Push[]): Promise<void> {
  const deadline = Date.now() + SETTLE_MS;
  while (Date.now() < deadline && !pushes.filter((p) => p.accepted).every(terminal)) await sleep(500);
}

/** Successful image builds (of-builder) and deploys (buildshiprun) per `owner/repo@sha/fn`, from the log lines. */
function buildsAndDeploys(pushes: Push[]): Map<string, { builds: number; deploys: number }> {
  const counts = new Map(pushes.map((p) => [`${p.owner}/${p.repo}@${p.sha}/${p.fn}`, { builds: 0, deploys: 0 }]));
  for (const line of lines) {
    if (!line.includes('"build finished"') && !line.includes('"function finished"')) continue;
    const entry = JSON.parse(line) as Record<string, unknown>;
    if (entry.msg === "build finished" && entry.status === "success" && typeof entry.ref === "string") {
      // The image is <registry>/<owner>/<repo>--<fn>:latest-<sha7> (shared/naming.ts).
      const p = pushes.find(
        (q) => entry.ref === `${cloud.registry}/${q.owner}/${q.repo}--${q.fn}:latest-${q.sha.slice(0, 7)}`,
      );
      if (p) counts.get(`${p.owner}/${p.repo}@${p.sha}/${p.fn}`)!.builds++;
    }
    if (entry.msg === "function finished" && entry.state === "success") {
      const p = pushes.find(
        (q) => entry.repo === `${q.owner}/${q.repo}` && entry.sha === q.sha && entry.function === q.fn,
      );
      if (p) counts.get(`${p.owner}/${p.repo}@${p.sha}/${p.fn}`)!.deploys++;
    }
  }
  return counts;
}

/**
 * Prints `fault <name>: accepted N / terminal N / lost N / built twice N` and checks that nothing was lost or built
 * twice, and that each terminal status says what happened: success names the deployed function, failure or error
 * the cause (`cause` for this fault).
 */
function count(name: string, pushes: Push[], cause: RegExp) {
  const accepted = pushes.filter((p) => p.accepted);
  const ended = accepted.filter(terminal);
  const twice = [...buildsAndDeploys(accepted).entries()].filter(([, c]) => c.builds > 1 || c.deploys > 1);
  console.log(
    `fault ${name}: accepted ${accepted.length} / terminal ${ended.length} / lost ${accepted.length - ended.length} / built twice ${twice.length}`,
  );
  const outcomes = ended.flatMap((p) =>
    [...latest(p).values()].map((s) => ({
      push: `${p.owner}/${p.repo}`,
      context: s.context,
      state: s.state,
      description: s.description,
    })),
  );
  console.log(outcomes.map((o) => `  ${o.push} ${o.context} ${o.state}: ${o.description}`).join("\n"));
  expect(accepted.length).toBeGreaterThan(0);
  expect(accepted.filter((p) => !terminal(p)).map((p) => `${p.owner}/${p.repo}`)).toEqual([]);
  expect(twice).toEqual([]);
  // A function's status names the cause; the stack's may instead name the functions that failed, each explained.
  const explained = (o: (typeof outcomes)[number]): boolean => {
    const description = o.description ?? "";
    if (o.state === "success") return /^(deployed: |stack is successfully deployed)/.test(description);
    if (o.state === "pending") return false;
    // build-reaper's error for a push git-tar never finished names what happened and what to do, whatever the fault.
    if (cause.test(description) || /^build lost: .+; re-run: /.test(description)) return true;
    const failed = /^deploy failed: (\S+) failed to be deployed via buildshiprun$/.exec(description)?.[1];
    if (o.context !== "stack-deploy" || failed === undefined) return false;
    const fns = outcomes.filter((f) => f.push === o.push && f.context !== "stack-deploy" && f.state !== "success");
    return fns.map((f) => f.context).join(",") === failed && fns.every(explained);
  };
  const unexplained = outcomes.filter((o) => !explained(o));
  expect(unexplained).toEqual([]);
  return { accepted, ended, outcomes };
}

/** Waits until `n` builds run in of-builder at once (or any, n = 1): the fault then hits builds mid-way. */
const buildsRunning = (n = 1) =>
  until(`${n} build(s) running in of-builder`, () => cloud.faults.builderInflight() >= n, 120_000);

it("(a, c, d) of-builder killed mid-build, then GitHub answering 502 and a secondary rate limit while NATS restarts → every push ends, built once", async () => {
  // Independent parts, so their faults overlap: of-builder's connections for (a), statuses and token mints for (c),
  // the queue and the delivery store for (d). Each fault's own pushes are counted on their own.
  // (a): only its pushes are in of-builder when it dies, so the builds cut are theirs.
  const builder = await pushMany("kb", 3);
  await buildsRunning(2);
  await cloud.faults.killBuilder();
  const [github, nats] = await Promise.all([pushMany("gh", 3), pushMany("nt", 3)]);
  await until(
    "a push of (c) or (d) marked pending",
    () => [...github, ...nats].some((p) => latest(p).size > 0),
    120_000,
  );
  // (c) Whatever API calls come next: the statuses and token mints of the pushes in flight. Each failing call is
  // retried (plugin-retry: 3 times on 5xx; plugin-throttling: twice on a rate limit, after its Retry-After), so a
  // spell this long makes some statuses fail for good in the function that posts them; another posts them later.
  const calls = cloud.github.calls.length;
  cloud.github.failNext("any", 502, 12);
  cloud.github.rateLimitNext("any", 2, 6);
  // (d) With calls queued and running; then one more push right after NATS is back, while its clients reconnect.
  await cloud.faults.restartNats();
  nats.push(...(await pushMany("nt", 1, 3)));
  await Promise.all([settle(builder), settle(github), settle(nats)]);
  // The kill did cut builds of (a)'s pushes (the dead of-builder logs each one it could not finish).
  const cut = lines.filter((l) => l.includes('"build did not run to completion"') && l.includes("/kb-")).length;
  console.log(`fault of-builder-killed: ${cut} build(s) cut mid-way`);
  expect(cut).toBeGreaterThanOrEqual(1);
  count("of-builder-killed", builder, /builder/);
  // The whole spell was spent on the pushes in flight.
  const refused = cloud.github.calls.slice(calls).map((c) => c.status);
  expect([refused.filter((s) => s === 502).length, refused.filter((s) => s === 403).length]).toEqual([12, 6]);
  const gaveUp = lines.filter((l) => l.includes('"could not post the commit status"')).length;
  console.log(`fault github-502-then-rate-limited: ${gaveUp} status post(s) given up after the client's retries`);
  count("github-502-then-rate-limited", github, /github/);
  count("nats-restarted", nats, /nats|queue/);
});

it("(b) the registry stopped for 30 s → every push ends: deployed, or a failure naming the registry", async () => {
  const pushes = await pushMany("rg", 3);
  await buildsRunning();
  await cloud.faults.stopRegistry();
  try {
    await sleep(30_000);
  } finally {
    await cloud.faults.startRegistry();
  }
  await settle(pushes);
  count("registry-stopped", pushes, /registry|push|pull|127\.0\.0\.1:\d+/);
});
