/**
 * Benchmark (issue #16 item 4): 20 owners push at the same moment. The whole local cloud (local/runtime.ts) in a temp
 * dir, each owner on the customers list with its own installation; every owner's two-function node20 repo is
 * published, then all 20 push webhooks are sent at once. Per push: ms from the webhook to live (every status of the
 * commit terminal and `success`, and both functions answering with the commit's reply). Build-slot use is measured at
 * of-builder: its URL is swapped (the `builder_url` setting) for a pass-through proxy here that times each build
 * request, so nothing in the pipeline changes. Exits non-zero unless every push ended `success`. Root only.
 *
 *   npm run bench:many-owners [-- --owners 20]
 */
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, request, type IncomingMessage, type ServerResponse } from "node:http";
import { availableParallelism, cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import axios from "axios";
import { pino } from "pino";
import { listen } from "../local/listen.js";
import { createPorts } from "../local/provider/ports.js";
import { startLocalCloud, type LocalCloud } from "../local/runtime.js";
import { reportGoals } from "./goals.js";

const REPO = "two-fns";
const FNS = ["alpha", "beta"] as const;
const POLL_MS = 100;
const PUSH_TIMEOUT_MS = 600_000;
// The goal (issue #16): the wall of the burst within 1.3× the time the build slots need for all its builds.
const GOAL = 1.3;
// local/runtime.ts: of-builder's max_inflight (concurrent builds, one more is 429) and the queue-worker's concurrency
// (git-tar calls at once, each building build_concurrency functions). Builds run in of-builder's slots.
const BUILDER_MAX_INFLIGHT = 2;
const QUEUE_WORKER_CONCURRENCY = 2;
const BUILD_CONCURRENCY = 2; // shared/config.ts default

/** An owner's repo at one push: two functions, each replying with its name and `reply`. */
function repoFiles(reply: string): Record<string, string> {
  let stack = "version: 1.0\nprovider:\n  name: openfaas\nfunctions:\n";
  const files: Record<string, string> = {};
  for (const fn of FNS) {
    stack += `  ${fn}:\n    lang: node20\n    handler: ./${fn}\n    image: ${fn}:latest\n`;
    files[`${fn}/handler.js`] = `"use strict";\nmodule.exports = async () => ${JSON.stringify(`${fn} ${reply}\n`)};\n`;
    files[`${fn}/package.json`] =
      `${JSON.stringify({ name: fn, version: "1.0.0", private: true, main: "handler.js" })}\n`;
  }
  return { ...files, "stack.yml": stack };
}

type BuildTiming = { start: number; end: number; status: number };

/**
 * A pass-through proxy in front of of-builder that records each `POST /build`'s start, end and HTTP status: a 200
 * held a build slot from (about) its start to its end; a 429 was refused (all slots busy) and buildshiprun retries.
 */
async function startBuildTimer(port: number) {
  let upstream: URL | undefined;
  const builds: BuildTiming[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const start = performance.now();
    const target = new URL(req.url ?? "/", upstream);
    const out = request(target, { method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
      answer.on("end", () => {
        if (req.method === "POST") builds.push({ start, end: performance.now(), status: answer.statusCode ?? 0 });
      });
    });
    out.on("error", () => res.destroy());
    req.pipe(out);
  });
  await listen(server, port);
  return {
    url: `http://127.0.0.1:${port}/`,
    builds,
    forwardTo(url: string) {
      upstream = new URL(url);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

type PushResult = { owner: string; accepted: number; live: number; ok: boolean; detail: string };

/** Waits until every status of `sha` is terminal and both functions answer with `reply`; ms from `t0`. */
async function untilLive(cloud: LocalCloud, owner: string, sha: string, reply: string, t0: number) {
  const answered = new Set<string>();
  for (;;) {
    const now = performance.now();
    if (now - t0 > PUSH_TIMEOUT_MS) return { ok: false, live: now - t0, detail: "not live in time" };
    const statuses = cloud.github.statuses({ owner, repo: REPO, sha });
    // The newest status per context says where each stands.
    const latest = new Map(statuses.map((s) => [s.context, s]));
    const failed = [...latest.values()].find((s) => s.state !== "pending" && s.state !== "success");
    if (failed)
      return { ok: false, live: now - t0, detail: `${failed.context} ${failed.state}: ${failed.description}` };
    for (const fn of FNS) {
      if (answered.has(fn)) continue;
      const res = await axios.get<string>(`${cloud.gatewayUrl}function/${owner}--${fn}`, {
        responseType: "text",
        validateStatus: () => true,
      });
      if (res.status === 200 && res.data.includes(`${fn} ${reply}`)) answered.add(fn);
    }
    const contexts = ["stack-deploy", ...FNS];
    const done = contexts.every((c) => latest.get(c)?.state === "success");
    if (done && answered.size === FNS.length) return { ok: true, live: performance.now() - t0, detail: "success" };
    await sleep(POLL_MS);
  }
}

/** Publishes a new commit of `owner`'s repo; returns a push to send and follow. */
async function prepare(cloud: LocalCloud, owner: string) {
  const reply = randomUUID();
  const sha = await cloud.publish(owner, REPO, repoFiles(reply), `push ${reply}`);
  return async (t0: number): Promise<PushResult> => {
    const sent = await cloud.sendPush(owner, REPO, sha);
    const accepted = performance.now() - t0;
    if (sent.status !== 202) return { owner, accepted, live: accepted, ok: false, detail: `webhook ${sent.status}` };
    return { owner, accepted, ...(await untilLive(cloud, owner, sha, reply, t0)) };
  };
}

/** Nearest-rank percentile. */
const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.max(0, Math.ceil((p / 100) * xs.length) - 1)]!;
const s = (x: number) => `${(x / 1000).toFixed(1)} s`;
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { owners: { type: "string", default: "20" } } });
  const count = Number(values.owners);
  if (!Number.isInteger(count) || count < 1)
    throw new TypeError(`[bench:many-owners] --owners must be a positive integer`);
  const owners = Array.from({ length: count }, (_, i) => `owner${String(i + 1).padStart(2, "0")}`);
  // Short: dockerd's socket paths live under it and are capped at 107 bytes.
  const dir = await mkdtemp(join(tmpdir(), "mo-"));
  const ports = createPorts();
  const timer = await startBuildTimer(await ports.take());
  let cloud: LocalCloud | undefined;
  let cleaning: Promise<void> | undefined;
  const cleanup = () =>
    (cleaning ??= (async () => {
      // Stopping dockerd stops the functions' containers and BuildKit with it.
      await cloud?.close();
      await timer.close();
      await rm(dir, { recursive: true, force: true });
    })());
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => void cleanup().finally(() => process.exit(130)));
  }
  let allOk: boolean;
  try {
    const setup = performance.now();
    // stderr, the system functions' lines too: stdout is for the numbers.
    const logDestination = pino.destination(2);
    const log = pino({ level: "warn" }, logDestination);
    cloud = await startLocalCloud({
      logDestination,
      dir: join(dir, "c"),
      owners: ["warmup", ...owners],
      log,
      gatewayPort: await ports.take(),
      settings: { builder_url: timer.url },
    });
    timer.forwardTo(cloud.builderUrl);
    console.log(
      `Node ${process.version}, ${availableParallelism()} CPUs (${cpus()[0]?.model}); local cloud up in ` +
        `${s(performance.now() - setup)}; load average ${load()}`,
    );
    console.log(
      `build slots: ${BUILDER_MAX_INFLIGHT} (of-builder max_inflight in local/runtime.ts; the queue-worker runs ` +
        `${QUEUE_WORKER_CONCURRENCY} git-tar calls at once, each building build_concurrency ${BUILD_CONCURRENCY} ` +
        `functions, so up to ${QUEUE_WORKER_CONCURRENCY * BUILD_CONCURRENCY} builds ask for the ${BUILDER_MAX_INFLIGHT} slots)`,
    );

    // One push first fills BuildKit's cache (the template's layers) and the registry, as any running cloud has them.
    const warm = await (await prepare(cloud, "warmup"))(performance.now());
    if (!warm.ok) throw new Error(`warm-up push: ${warm.detail}`);
    console.log(`warm-up push (one owner, alone): live after ${s(warm.live)}`);
    const warmBuilds = timer.builds.splice(0);

    const pushes = await Promise.all(owners.map((owner) => prepare(cloud!, owner)));
    const t0 = performance.now();
    const results = await Promise.all(pushes.map((push) => push(t0)));
    const wall = Math.max(...results.map((r) => r.live));
    const loadAfter = load();

    const built = timer.builds.filter((b) => b.status === 200);
    const refused = timer.builds.filter((b) => b.status === 429).length;
    const buildMs = built.reduce((sum, b) => sum + (b.end - b.start), 0);
    const ideal = buildMs / BUILDER_MAX_INFLIGHT;
    const live = results.map((r) => r.live);
    const ok = results.filter((r) => r.ok);
    allOk = ok.length === results.length;

    console.log(`\n${count} owners, each pushing a ${FNS.length}-function repo at the same moment:`);
    for (const r of results.filter((x) => !x.ok)) console.log(`  ${r.owner}: ${r.detail} after ${s(r.live)}`);
    console.log(`  pushes ended success            ${ok.length} / ${results.length}`);
    console.log(`  webhooks answered 202 within    ${s(Math.max(...results.map((r) => r.accepted)))}`);
    console.log(`  webhook → live, per push        p50 ${s(pct(live, 50))}  p95 ${s(pct(live, 95))}`);
    console.log(`  wall (first webhook → last live) ${s(wall)}`);
    const warmMs = warmBuilds.filter((b) => b.status === 200).map((b) => b.end - b.start);
    console.log(
      `  builds                          ${built.length} held a slot for ${s(buildMs)} in all ` +
        `(median ${s(
          pct(
            built.map((b) => b.end - b.start),
            50,
          ),
        )}; alone: ${warmMs.map(s).join(", ")}), ` +
        `${refused} answered 429 and retried`,
    );
    console.log(`  build-slot utilisation          ${((100 * buildMs) / (BUILDER_MAX_INFLIGHT * wall)).toFixed(0)}%`);
    console.log(`  ideal wall (build time ÷ ${BUILDER_MAX_INFLIGHT} slots) ${s(ideal)}`);
    console.log(`  load average after              ${loadAfter}`);
    reportGoals([
      {
        benchmark: `${count} pushes from ${count} owners at once`,
        now: `${ok.length}/${results.length} success; wall ${s(wall)} vs ideal ${s(ideal)}: ${(wall / ideal).toFixed(2)}×`,
        goal: `all succeed, none lost, wall ≤ ${GOAL}× ideal`,
        met: allOk && wall <= GOAL * ideal,
      },
    ]);
  } finally {
    await cleanup();
  }
  if (!allOk) process.exitCode = 1;
}

await main();
