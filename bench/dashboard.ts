/**
 * Benchmark (issue #14): the owner's functions page (/dashboard/<owner>) for an owner with 50 functions, served by
 * dashboard-api as its image serves it (shared/function-server.ts), in front of stand-ins that answer as the real
 * services do: a gateway whose /system/functions lists the owner's 50 functions among 150 of other owners, a
 * Prometheus query API with a sample per function, and a build history of 50 builds in memory (the real one is S3).
 * Numbers:
 * - cold: the first request of a freshly started process (module code not yet optimised, no connection to the
 *   gateway open), one child process per round;
 * - warm: sequential requests to one process after it has served a few;
 * - bytes: what the browser transfers: the page, plus the stylesheet on a first visit (its URL carries its hash and
 *   is cached for good, so a warm visit fetches the page alone); raw, and gzipped as an ingress that compresses
 *   would send it. The functions page loads no script.
 *
 *   npm run bench:dashboard [-- --rounds 5 --requests 200 --functions 50]
 */
import { fork } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";
import axios from "axios";
import { pino } from "pino";
import type { BuildHistory, BuildRecord } from "../shared/build-history.js";
import { createGateway, type FunctionStatus } from "../shared/gateway.js";
import { serveFunction } from "../shared/function-server.js";
import { createPrometheus } from "../shared/prometheus.js";
import { SESSION_COOKIE, signSession } from "../shared/session.js";
import { createHandler } from "../functions/dashboard-api/handler.js";

const { values: args } = parseArgs({
  options: {
    rounds: { type: "string", default: "5" },
    requests: { type: "string", default: "200" },
    functions: { type: "string", default: "50" },
    child: { type: "boolean", default: false },
  },
});
const OWNER = "bench";
const N = Number(args.functions);
const SHA = "0123456789abcdef0123456789abcdef01234567";
const NOW = Date.now();

function gatewayRecords(): FunctionStatus[] {
  const records: FunctionStatus[] = [];
  for (const owner of [OWNER, "other1", "other2", "other3"]) {
    for (let i = 0; i < N; i++) {
      records.push({
        name: `${owner}--fn-${i}`,
        image: `127.0.0.1:5000/${owner}/stack-${i % 5}--fn-${i}:latest-0123456`,
        labels: {
          "com.openfaas.cloud.git-owner": owner,
          "com.openfaas.cloud.git-owner-id": "4242",
          "com.openfaas.cloud.git-repo": `stack-${i % 5}`,
          "com.openfaas.cloud.git-sha": SHA,
          "com.openfaas.cloud.git-branch": "main",
          "com.openfaas.cloud.git-deploytime": String(Math.floor(NOW / 1000) - i * 60),
        },
        annotations: { "com.openfaas.cloud.git-repo-url": `https://github.com/${owner}/stack-${i % 5}` },
        replicas: 1,
        availableReplicas: 1,
        invocationCount: i * 10,
      });
    }
  }
  return records;
}

/** The gateway's /system/functions and Prometheus' /api/v1/query on one port, answering as those do. */
async function startStandins(): Promise<{ url: string; server: Server }> {
  const functions = JSON.stringify(gatewayRecords());
  const vector = JSON.stringify({
    status: "success",
    data: {
      resultType: "vector",
      result: Array.from({ length: N }, (_, i) => ({
        metric: { function_name: `${OWNER}--fn-${i}.openfaas-fn` },
        value: [NOW / 1000, String(i * 3)],
      })),
    },
  });
  const server = createServer((req, res) => {
    const path = (req.url ?? "").split("?")[0];
    if (path === "/system/functions") res.writeHead(200, { "content-type": "application/json" }).end(functions);
    else if (path === "/api/v1/query") res.writeHead(200, { "content-type": "application/json" }).end(vector);
    else res.writeHead(404).end("not found");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, server };
}

/** The build history in memory: 50 builds, one per function, newest first. */
function memoryHistory(): BuildHistory {
  const builds: BuildRecord[] = Array.from({ length: N }, (_, i) => ({
    owner: OWNER,
    repo: `stack-${i % 5}`,
    branch: "main",
    sha: SHA,
    function: `fn-${i}`,
    state: i % 7 === 0 ? "failure" : "success",
    startedAt: new Date(NOW - i * 60_000).toISOString(),
    durationMs: 20_000 + i,
  }));
  return {
    put: () => Promise.resolve(),
    get: () => Promise.resolve(undefined),
    list: (q) =>
      Promise.resolve(builds.filter((b) => !q.function || b.function === q.function).slice(0, q.limit ?? 20)),
  };
}

/** dashboard-api served on a free port over the stand-ins, and a session cookie for the owner. */
async function startDashboard() {
  const log = pino({ level: "silent" });
  const keys = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const standins = await startStandins();
  const fn = await serveFunction(
    createHandler({
      gateway: createGateway({
        url: standins.url,
        payloadSecret: "",
        auth: { user: "admin", password: "pw" },
        http: axios.create(),
        log,
      }),
      prometheus: createPrometheus({ url: standins.url }),
      history: memoryHistory(),
      logs: { put: () => Promise.resolve(), get: () => Promise.resolve(undefined) },
      viewer: { publicKey: keys.publicKey, operators: [], now: Date.now },
      publicUrl: "https://gw.example.com/",
      prettyUrl: "https://user.example.com/function",
      log,
    }),
  );
  const token = await signSession({ userId: 4242, login: OWNER, orgs: [] }, keys.privateKey, {
    nowMs: Date.now(),
    ttlMs: 3_600_000,
  });
  const get = async (path: string) => {
    const started = process.hrtime.bigint();
    const res = await fetch(`${fn.url}${path}`, { headers: { cookie: `${SESSION_COOKIE}=${token}` } });
    const body = Buffer.from(await res.arrayBuffer());
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    if (res.status !== 200) throw new Error(`${path} answered ${res.status}: ${body.toString()}`);
    return { ms, body };
  };
  const close = async () => {
    await fn.close();
    standins.server.close();
  };
  return { get, close };
}

const PAGE = `/dashboard/${OWNER}`;

/** One cold round, in its own process: the first page request after the function started. */
async function coldChild(): Promise<void> {
  const dashboard = await startDashboard();
  const page = await dashboard.get(PAGE);
  const css = await dashboard.get(/href="(\/dashboard\/_\/style\.css\?v=[0-9a-f]+)"/.exec(page.body.toString())![1]!);
  await dashboard.close();
  process.send?.({
    ms: page.ms,
    page: page.body.length,
    pageGz: gzipSync(page.body).length,
    css: css.body.length,
    cssGz: gzipSync(css.body).length,
  });
}

type ColdResult = { ms: number; page: number; pageGz: number; css: number; cssGz: number };
function runColdRound(): Promise<ColdResult> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), ["--child", "--functions", String(N)], {
      execArgv: process.execArgv,
    });
    child.once("message", (m) => resolve(m as ColdResult));
    child.once("error", reject);
    child.once("exit", (code) => code !== 0 && reject(new Error(`cold round exited ${code}`)));
  });
}

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const kb = (n: number) => `${(n / 1024).toFixed(1)} KiB`;

async function main(): Promise<void> {
  if (args.child) return coldChild();
  const rounds = Number(args.rounds);
  console.log(`dashboard functions page, owner with ${N} functions (gateway lists ${4 * N}); ${rounds} cold rounds`);
  const cold: ColdResult[] = [];
  for (let i = 0; i < rounds; i++) cold.push(await runColdRound());
  const coldMs = cold.map((c) => c.ms).sort((a, b) => a - b);
  const first = cold[0]!;
  console.log(
    `cold  server time: median ${pct(coldMs, 50).toFixed(1)} ms, max ${coldMs[coldMs.length - 1]!.toFixed(1)} ms`,
  );
  console.log(
    `cold  transferred: page ${kb(first.page)} + style.css ${kb(first.css)} = ${kb(first.page + first.css)}` +
      ` (gzip: ${kb(first.pageGz)} + ${kb(first.cssGz)} = ${kb(first.pageGz + first.cssGz)}); no script`,
  );

  const dashboard = await startDashboard();
  for (let i = 0; i < 20; i++) await dashboard.get(PAGE);
  const warm: number[] = [];
  let bytes = 0;
  for (let i = 0; i < Number(args.requests); i++) {
    const r = await dashboard.get(PAGE);
    warm.push(r.ms);
    bytes = r.body.length;
  }
  await dashboard.close();
  warm.sort((a, b) => a - b);
  const mean = warm.reduce((a, b) => a + b, 0) / warm.length;
  console.log(
    `warm  server time over ${warm.length} requests: mean ${mean.toFixed(2)} ms, p50 ${pct(warm, 50).toFixed(2)} ms,` +
      ` p95 ${pct(warm, 95).toFixed(2)} ms, p99 ${pct(warm, 99).toFixed(2)} ms`,
  );
  console.log(`warm  transferred: page ${kb(bytes)} (style.css cached: immutable, hashed URL)`);
}

await main();
