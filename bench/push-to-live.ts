/**
 * Benchmark (issue #5): push → live. The whole local cloud (local/runtime.ts) in a temp dir; a one-function node20 repo
 * is pushed again and again, each commit changing the reply, and the time from the accepted webhook (202) to the
 * function answering with the new text is set beside the sum of the steps no pipeline can skip, done by hand on the
 * same dockerd, registry and git host with the same warm cache: clone, Engine API build, push, container start.
 * Each push's per-stage timings (the `stage timing` log lines, shared/stage-timing.ts) are joined by its sha and
 * printed as p50s over the warm pushes, and the result is set beside issue #16's goal. Root only.
 *
 *   npm run bench:push-to-live [-- --pushes 10]
 */
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { availableParallelism, cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { parseArgs, promisify } from "node:util";
import axios from "axios";
import { Writable } from "node:stream";
import { pino } from "pino";
import { create as createTar } from "tar";
import { shrinkwrap } from "../functions/git-tar/shrinkwrap.js";
import { createDockerClient } from "../of-builder/docker-engine.js";
import { registryAuthHeader } from "../of-builder/registry-auth.js";
import { readStack } from "../shared/stack.js";
import { createPorts } from "../local/provider/ports.js";
import { waitUntilAnswering } from "../local/provider/readiness.js";
import { startLocalCloud, type LocalCloud } from "../local/runtime.js";
import { NODE_MAJOR } from "../local/services/node-runtime.js";
import { dockerConfig } from "../local/services/registry.js";
import { STAGE_MESSAGE } from "../shared/stage-timing.js";
import { reportGoals } from "./goals.js";

const OWNER = "bench";
const REPO = "push-to-live";
const FN = "ticker";
const TEMPLATES = fileURLToPath(new URL("../local/templates/template", import.meta.url));
const STEP_RUNS = 5;
const POLL_MS = 50;
const PUSH_TIMEOUT_MS = 180_000;
const run = promisify(execFile);
// Issue #16's goal for push → live: at most this many times the sum of the steps by hand, and at most GOAL_MS.
const GOAL_FACTOR = 1.25;
const GOAL_MS = 1000;

/** One `stage timing` log line (shared/stage-timing.ts) with the bindings that join it to a push. */
interface StageLine {
  stage: string;
  ms: number;
  sha?: string;
  ref?: string;
  image?: string;
  callId?: string;
  context?: string;
}

/**
 * The log stream of the runtime and its in-process functions at info: stage lines are kept, warnings and errors go
 * to stderr (stdout is for the numbers), the rest is dropped.
 */
function stageCollector() {
  const lines: StageLine[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const text of chunk.toString("utf8").split("\n")) {
        if (!text) continue;
        try {
          const line = JSON.parse(text) as StageLine & { msg?: string; level?: number };
          if (line.msg === STAGE_MESSAGE) lines.push(line);
          else if ((line.level ?? 0) >= 40) process.stderr.write(`${text}\n`);
        } catch {
          process.stderr.write(`${text}\n`);
        }
      }
      done();
    },
  });
  /** The lines of the push of `sha`: its own, its image's (the tag ends in sha7), its queued call's. */
  const of = (sha: string): StageLine[] => {
    const sha7 = sha.slice(0, 7);
    const calls = new Set(lines.filter((l) => l.sha === sha && l.callId).map((l) => l.callId));
    return lines.filter(
      (l) =>
        l.sha === sha ||
        (l.ref ?? l.image)?.endsWith(`-${sha7}`) ||
        (l.stage === "queue-wait" && l.callId !== undefined && calls.has(l.callId)),
    );
  };
  return { stream, of };
}

// The stages in pipeline order, indented under the stage that includes them. Before the 202: github-event and
// github-push (the webhook's answer waits for them); the rest is inside "202 → live".
const STAGES: Array<[stage: string, depth: number, what: string]> = [
  ["github-event", 0, "verify, claim delivery, parse (before the 202)"],
  ["github-event.forward", 0, "synchronous hop to github-push (before the 202)"],
  ["github-push", 1, "whole github-push"],
  ["github-push.enqueue", 2, "async call stored in JetStream"],
  ["queue-wait", 0, "JetStream store → queue-worker pull"],
  ["git-tar", 0, "whole git-tar (ends after the last status)"],
  ["git-tar.clone", 1, "sparse clone at the sha"],
  ["git-tar.stack", 1, "stack.yml, sealed secrets, templates"],
  ["git-tar.shrinkwrap", 1, "build context folder"],
  ["git-tar.tar", 1, "context + config into one tar"],
  ["git-tar.pending", 1, "build records + pending statuses"],
  ["git-tar.buildshiprun", 1, "synchronous hop to buildshiprun"],
  ["buildshiprun", 2, "whole buildshiprun"],
  ["buildshiprun.preflight", 3, "edition, name claim, build record"],
  ["buildshiprun.build", 3, "upload + of-builder"],
  ["of-builder.unpack", 4, "unpack and check the context"],
  ["of-builder.build", 4, "BuildKit build (Engine API)"],
  ["of-builder.push", 4, "push to the registry"],
  ["buildshiprun.deploy", 3, "claim again + PUT /system/functions"],
  ["provider.start", 4, "container create + start"],
  ["provider.readiness", 4, "until the new container answers (live here)"],
  ["provider.retire", 4, "drain and remove the old container"],
  ["buildshiprun.ready", 3, "until the gateway reports it ready"],
  ["buildshiprun.report", 3, "log, build record, function status"],
  ["git-tar.finish", 1, "garbage-collect, secrets prune, stack-deploy status"],
  ["status-post", 0, "each commit status post (sum per push)"],
];

/** p50 per stage over `pushes` (each the stage lines of one push; repeated stages summed within a push). */
function printStages(pushes: StageLine[][]): void {
  console.log(`\nper-stage timings (stage timing log lines), p50 over ${pushes.length} warm pushes:`);
  for (const [stage, depth, what] of STAGES) {
    const per = pushes
      .map((ls) => ls.filter((l) => l.stage === stage))
      .filter((ls) => ls.length > 0)
      .map((ls) => ({ ms: ls.reduce((sum, l) => sum + l.ms, 0), count: ls.length }));
    if (per.length === 0) continue;
    const counts = per.map((p) => p.count);
    const each = Math.max(...counts) > 1 ? ` (${pct(counts, 50)} per push)` : "";
    const name = `${"  ".repeat(depth)}${stage}`;
    console.log(
      `  ${name.padEnd(28)} ${ms(
        pct(
          per.map((p) => p.ms),
          50,
        ),
      )}   ${what}${each}`,
    );
  }
}

/** The repo at one push: stack.yml and a handler whose reply is `reply` (how a push's new answer is recognised). */
function repoFiles(reply: string): Record<string, string> {
  const stack = `version: 1.0\nprovider:\n  name: openfaas\nfunctions:\n  ${FN}:\n    lang: node20\n    handler: ./${FN}\n    image: ${FN}:latest\n`;
  return {
    "stack.yml": stack,
    [`${FN}/handler.js`]: handlerJs(reply),
    [`${FN}/package.json`]: `${JSON.stringify({ name: FN, version: "1.0.0", private: true, main: "handler.js" })}\n`,
  };
}
const handlerJs = (reply: string) => `"use strict";\nmodule.exports = async () => ${JSON.stringify(`${reply}\n`)};\n`;

/** One push through the pipeline: ms from the 202 to the new reply at the gateway, and to the stack-deploy status. */
async function timePush(cloud: LocalCloud, label: string, stages: ReturnType<typeof stageCollector>) {
  const reply = `${label} ${randomUUID()}`;
  const sha = await cloud.publish(OWNER, REPO, repoFiles(reply), label);
  const accepted = await cloud.sendPush(OWNER, REPO, sha);
  const t0 = Date.now();
  if (accepted.status !== 202) throw new Error(`${label}: github-event answered ${accepted.status} ${accepted.body}`);
  const url = `${cloud.gatewayUrl}function/${OWNER}--${FN}`;
  let live: number | undefined;
  let status: number | undefined;
  // Answers other than 200 while the new container takes over are a rollout gap (an update should have none).
  let errors = 0;
  while (live === undefined || status === undefined) {
    if (Date.now() - t0 > PUSH_TIMEOUT_MS) throw new Error(`${label}: not live within ${PUSH_TIMEOUT_MS} ms`);
    if (live === undefined) {
      const res = await axios.get<string>(url, { responseType: "text", validateStatus: () => true });
      if (res.status === 200 && res.data.includes(reply)) live = Date.now() - t0;
      else if (res.status !== 200) errors++;
    }
    const done = cloud.github.statuses({ owner: OWNER, repo: REPO, sha, context: "stack-deploy" });
    const terminal = done.find((s) => s.state !== "pending");
    if (terminal && terminal.state !== "success") {
      throw new Error(`${label}: stack-deploy ${terminal.state}: ${terminal.description ?? ""}`);
    }
    // The stand-in stamps each status as it records it, so its arrival is known to the ms, not to the poll.
    if (terminal && status === undefined) status = Date.parse(terminal.created_at) - t0;
    if (live === undefined || status === undefined) await sleep(POLL_MS);
  }
  // git-tar's own line comes just after the stack-deploy status it posts last.
  for (let waited = 0; waited < 5_000 && !stages.of(sha).some((l) => l.stage === "git-tar"); waited += POLL_MS)
    await sleep(POLL_MS);
  return { live, status, errors, stages: stages.of(sha) };
}

/** Runs `step` STEP_RUNS times (it gets the run number) and returns each duration in ms. */
async function timed(step: (i: number) => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < STEP_RUNS; i++) {
    const start = performance.now();
    await step(i);
    out.push(performance.now() - start);
  }
  return out;
}

/** `GET /version` on the daemon's socket (the project's client has no call for it). */
function engineVersion(socketPath: string): Promise<{ Version: string; ApiVersion: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path: "/version" }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")) as never));
    });
    req.on("error", reject).end();
  });
}

/** Nearest-rank percentile. */
const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.max(0, Math.ceil((p / 100) * xs.length) - 1)]!;
const ms = (x: number) => `${x.toFixed(0).padStart(6)} ms`;
const spread = (xs: number[]) =>
  `p50 ${ms(pct(xs, 50))}  p90 ${ms(pct(xs, 90))}  min ${ms(Math.min(...xs))}  max ${ms(Math.max(...xs))}`;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { pushes: { type: "string", default: "10" } } });
  const pushes = Number(values.pushes);
  if (!Number.isInteger(pushes) || pushes < 1) throw new Error(`--pushes ${values.pushes}: a positive integer`);
  // Short: dockerd's socket paths live under it and are capped at 107 bytes. Own dir, own ports: an `npm start`
  // on 8080 with .local/ may be running beside us.
  const dir = await mkdtemp(join(tmpdir(), "p2l-"));
  const socketPath = join(dir, "c", "d", "docker.sock"); // where startLocalCloud's dockerd puts it for dir <dir>/c
  const docker = createDockerClient({ socketPath });
  const containers = new Set<string>();
  let cloud: LocalCloud | undefined;
  let cleaning: Promise<void> | undefined;
  const cleanup = () =>
    (cleaning ??= (async () => {
      for (const id of containers) await docker.remove(id).catch(() => undefined);
      // Stopping dockerd stops the pipeline's function containers and BuildKit with it.
      await cloud?.close();
      await rm(dir, { recursive: true, force: true });
    })());
  // Ctrl-C mid-run must not leave a dockerd, its mounts and containers behind.
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => void cleanup().finally(() => process.exit(130)));
  }
  try {
    const setup = Date.now();
    const gatewayPort = await createPorts().take();
    // Info level for the stage lines, which the collector keeps; warnings go to stderr, stdout is for the numbers.
    const stages = stageCollector();
    const log = pino({ level: "info" }, stages.stream);
    cloud = await startLocalCloud({
      dir: join(dir, "c"),
      owners: [OWNER],
      log,
      logDestination: stages.stream,
      gatewayPort,
    });
    const engine = await engineVersion(socketPath);
    const baseImage = `${cloud.registry}/base/node:${NODE_MAJOR}`;
    if (!(await docker.inspectImage(baseImage))) throw new Error(`base image ${baseImage} is not in the daemon`);
    console.log(
      `Node ${process.version}, ${availableParallelism()} CPUs (${cpus()[0]?.model}), Docker Engine ${engine.Version} ` +
        `(API ${engine.ApiVersion}); local cloud up in ${((Date.now() - setup) / 1000).toFixed(1)} s`,
    );

    // The warm-up deploys the function (a first deploy, not an update) and fills BuildKit's cache and the registry.
    const warm = await timePush(cloud, "warm-up", stages);
    console.log(`\nwarm-up push (first deploy): live after ${ms(warm.live)}, stack-deploy after ${ms(warm.status)}`);
    const runs: Array<Awaited<ReturnType<typeof timePush>>> = [];
    for (let i = 1; i <= pushes; i++) {
      const r = await timePush(cloud, `push ${i}`, stages);
      runs.push(r);
      console.log(
        `  push ${String(i).padStart(2)}: new reply after ${ms(r.live)}, stack-deploy success after ${ms(r.status)}` +
          (r.errors > 0 ? `, ${r.errors} non-200 answers while rolling` : ""),
      );
    }
    const live = runs.map((r) => r.live);
    console.log(`\n${pushes} pushes, each a new commit changing the reply (polled every ${POLL_MS} ms):`);
    console.log(`  ${"webhook 202 → new reply answering".padEnd(36)} ${spread(live)}`);
    console.log(`  ${"webhook 202 → stack-deploy status".padEnd(36)} ${spread(runs.map((r) => r.status))}`);
    printStages(runs.map((r) => r.stages));

    // The unavoidable steps by hand, on the same daemon, registry and git host, right after the pushes (warm cache).
    const cloneUrl = `${cloud.git.url}/${OWNER}/${REPO}.git`;
    const gitEnv = { ...process.env, GIT_CONFIG_NOSYSTEM: "1", GIT_CONFIG_GLOBAL: "/dev/null" };
    const clone = await timed((i) =>
      run("git", ["clone", "-q", "--depth", "1", cloneUrl, join(dir, `clone${i}`)], { env: gitEnv }),
    );
    const repoDir = join(dir, "clone0");
    const stack = await readStack(repoDir, { OWNER, REPO, SHA: "", BRANCH: "master" });
    const contextDir = join(dir, "context");
    await shrinkwrap({
      repoDir,
      templatesDir: TEMPLATES,
      fn: stack.functions[0]!,
      copy: stack.configuration.copy,
      outDir: contextDir,
    });
    const tag = (i: number) => `${cloud!.registry}/${OWNER}/direct-${FN}:run-${i}`;
    const build = await timed(async (i) => {
      // A new reply per build: the COPY function/ and RUN layers rebuild as in a real push; the rest is cached.
      await writeFile(join(contextDir, "function", "handler.js"), handlerJs(`direct ${i} ${randomUUID()}`));
      // Streamed as of-builder's docker backend streams it (of-builder/docker-backend.ts).
      const context = Readable.from(createTar({ cwd: contextDir, portable: true }, await readdir(contextDir)));
      const opts = { tag: tag(i), buildargs: { NODE_IMAGE: baseImage }, networkmode: "host", version: "2" } as const;
      const built = await docker.build(context, opts);
      if (built.error !== undefined) throw new Error(`direct build ${tag(i)}: ${built.error}`);
    });
    const push = await timed(async (i) => {
      const config = dockerConfig(cloud!.registry, cloud!.registryCredentials);
      const pushed = await docker.push(tag(i), { registryAuth: registryAuthHeader(config, tag(i)) });
      if (pushed.error !== undefined) throw new Error(`direct push ${tag(i)}: ${pushed.error}`);
    });
    const ports = createPorts();
    const start = await timed(async (i) => {
      const port = await ports.take();
      const env = [`port=${port}`, `http_port=${port}`];
      const id = await docker.createAndStart({ Image: tag(i), Env: env, HostConfig: { NetworkMode: "host" } });
      containers.add(id);
      // 10 ms polls, as the provider's readiness poll starts (local/provider/readiness.ts).
      if (!(await waitUntilAnswering({ port, timeoutMs: 30_000, intervalMs: 10 })))
        throw new Error(`${tag(i)}: no answer`);
    });
    for (const id of containers) await docker.remove(id);
    containers.clear();

    const steps = [
      ["git clone --depth 1 (git CLI)", clone],
      ["Engine API build (last layers new)", build],
      ["push to the registry", push],
      ["container create+start → answer", start],
    ] as const;
    const sum = steps.reduce((total, [, xs]) => total + pct(xs, 50), 0);
    console.log(`\nthe unavoidable steps by hand, same warm cache, median of ${STEP_RUNS}:`);
    for (const [name, xs] of steps)
      console.log(`  ${name.padEnd(36)} ${ms(pct(xs, 50))}   (min ${ms(Math.min(...xs))}  max ${ms(Math.max(...xs))})`);
    console.log(`  ${"sum".padEnd(36)} ${ms(sum)}`);
    console.log(
      `  overhead pipeline p50 / sum of steps: ${(pct(live, 50) / sum).toFixed(2)}x, +${(pct(live, 50) - sum).toFixed(0)} ms per push`,
    );
    const p50 = pct(live, 50);
    const goalMs = Math.min(GOAL_FACTOR * sum, GOAL_MS);
    reportGoals([
      {
        benchmark: `push → new reply live, p50 of ${pushes} warm pushes`,
        now: `${p50.toFixed(0)} ms vs ${sum.toFixed(0)} ms by hand: ${(p50 / sum).toFixed(2)}×`,
        goal: `≤ ${GOAL_FACTOR}× the floor and ≤ ${GOAL_MS} ms`,
        met: p50 <= goalMs,
      },
    ]);
  } finally {
    await cleanup();
  }
}

await main();
