/**
 * Benchmark (issue #13): one function called through the edge router and straight at the gateway. The local cloud
 * (local/runtime.ts: gateway, the demo's functions as containers) runs in one child process, the router in another
 * (edge-router/main.ts, as it runs in production, in front of that gateway), and the load generator (autocannon) in
 * this one; a bare Node proxy (no routing) in a third shows what any extra Node hop costs. The targets alternate, so
 * drift on a busy machine hits all alike. The goal: the router costs at most 10% of throughput. Root only (the local
 * cloud starts its own Docker daemon).
 *
 *   npm run bench:edge-router [-- --seconds 10 --connections 10 --rounds 2]
 */
import { fork, type ChildProcess } from "node:child_process";
import { Agent, createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import { pino } from "pino";
import { startLocalCloud } from "../local/runtime.js";

const self = fileURLToPath(import.meta.url);
const ROUTER = fileURLToPath(new URL("../edge-router/main.ts", import.meta.url));
const SAMPLE = fileURLToPath(new URL("../examples/hello-stack", import.meta.url));

/** The cloud child: starts the local cloud in `dir`, deploys the demo, reports the gateway's address, serves on. */
async function serveCloud(dir: string): Promise<void> {
  const cloud = await startLocalCloud({ dir, owners: ["demo"], log: pino({ level: "warn" }) });
  const sha = await cloud.publish("demo", "hello-stack", SAMPLE, "bench");
  const pushed = await cloud.sendPush("demo", "hello-stack", sha);
  if (pushed.status !== 202) throw new Error(`github-event answered ${pushed.status} ${pushed.body}`);
  const status = await cloud.waitForStatus("demo", "hello-stack", sha, "stack-deploy", 300_000);
  if (status.state !== "success") throw new Error(`the demo push ended in ${status.state}: ${status.description}`);
  process.on("SIGTERM", () => void cloud.close().then(() => process.exit(0)));
  process.send?.({ gatewayUrl: cloud.gatewayUrl });
}

/**
 * The floor for one more Node hop: a bare http.request pipe to the same function, no routing, no header rules, in
 * its own process as the router is.
 */
function serveBareProxy(gatewayUrl: string): void {
  const gateway = new URL(gatewayUrl);
  const agent = new Agent({ keepAlive: true });
  const server = createServer((req, res) => {
    const headers = { ...req.headers, host: gateway.host };
    const upstream = request(
      { host: gateway.hostname, port: gateway.port, method: req.method, path: "/function/demo--hello", headers, agent },
      (reply) => {
        res.writeHead(reply.statusCode ?? 502, reply.headers);
        reply.pipe(res);
      },
    );
    upstream.on("error", () => res.destroy());
    req.pipe(upstream);
  });
  server.listen(0, "127.0.0.1", () => process.send?.({ port: (server.address() as AddressInfo).port }));
}

/** Forks `module` and resolves with its first IPC message. */
function start<T>(module: string, env: Record<string, string>): Promise<{ child: ChildProcess; message: T }> {
  const child = fork(module, [], { execArgv: ["--import", "tsx"], env: { ...process.env, ...env } });
  return new Promise((resolve, reject) => {
    child.once("message", (message: T) => resolve({ child, message }));
    child.once("exit", (code) => reject(new Error(`${module} exited with ${code}`)));
  });
}

/** CPU time (user + system, µs) `pid` has used so far, from /proc (in clock ticks of 10 ms). */
async function cpuMicros(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, "utf8")).split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10_000; // utime and stime, fields 14 and 15 of stat
}

interface Result {
  rps: number;
  p50: number;
  p99: number;
  total: number;
  /** CPU µs per request of the gateway's process and of the hop's in front of it (router or bare proxy). */
  gatewayCpu: number;
  hopCpu: number;
}
async function drive(
  target: { url: string; host?: string },
  processes: { gateway: number; hop?: number },
  seconds: number,
  connections: number,
): Promise<Result> {
  const hop = async () => (processes.hop ? cpuMicros(processes.hop) : 0);
  const before = [await cpuMicros(processes.gateway), await hop()];
  const headers = target.host ? { host: target.host } : {};
  const result = await autocannon({ url: target.url, connections, duration: seconds, headers });
  const after = [await cpuMicros(processes.gateway), await hop()];
  const bad = result.non2xx + result.errors;
  if (bad > 0) throw new Error(`${target.url} (Host ${target.host ?? "as in the URL"}): ${bad} requests failed`);
  const total = result.requests.total;
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    total,
    gatewayCpu: (after[0]! - before[0]!) / total,
    hopCpu: (after[1]! - before[1]!) / total,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seconds: { type: "string", default: "10" },
      connections: { type: "string", default: "10" },
      rounds: { type: "string", default: "2" },
      dir: { type: "string" },
    },
  });
  const [seconds, connections, rounds] = [values.seconds, values.connections, values.rounds].map(Number) as [
    number,
    number,
    number,
  ];
  const dir = values.dir ?? (await mkdtemp(join(tmpdir(), "bench-edge-")));
  const children: ChildProcess[] = [];
  try {
    console.log("starting the local cloud and deploying examples/hello-stack (first run: ~30 s for the base image)…");
    const cloud = await start<{ gatewayUrl: string }>(self, { BENCH_ROLE: "cloud", BENCH_DIR: dir });
    children.push(cloud.child);
    const gateway = cloud.message.gatewayUrl;
    const router = await start<{ port: number }>(ROUTER, {
      domain: "localhost",
      gateway_url: gateway,
      port: "0",
      log_level: "warn",
    });
    children.push(router.child);
    const bare = await start<{ port: number }>(self, { BENCH_ROLE: "bare", BENCH_GATEWAY: gateway });
    children.push(bare.child);
    const targets = [
      { name: "straight to the gateway /function/demo--hello", url: `${gateway}function/demo--hello` },
      {
        name: "through the router demo.localhost/hello",
        url: `http://127.0.0.1:${router.message.port}/hello`,
        host: `demo.localhost:${router.message.port}`,
        hop: router.child.pid!,
      },
      {
        name: "through a bare Node proxy (the floor)",
        url: `http://127.0.0.1:${bare.message.port}/`,
        hop: bare.child.pid!,
      },
    ];
    const results = targets.map(() => [] as Result[]);
    // Warm-up: JIT, keep-alive pools, the function's container.
    for (const t of targets) await drive(t, { gateway: cloud.child.pid!, hop: t.hop }, 2, connections);
    for (let i = 0; i < rounds; i++) {
      for (const [k, t] of targets.entries())
        results[k]!.push(await drive(t, { gateway: cloud.child.pid!, hop: t.hop }, seconds, connections));
    }
    const mean = (rs: Result[], key: keyof Result) => rs.reduce((sum, r) => sum + r[key], 0) / rs.length;
    console.log(
      `GET demo's hello (examples/hello-stack), ${connections} connections, ${rounds} rounds of ${seconds}s each, ` +
        `Node ${process.version}, ${availableParallelism()} CPUs shared by the load generator, gateway, hop and function`,
    );
    for (const [k, t] of targets.entries()) {
      const rs = results[k]!;
      console.log(
        `${t.name.padEnd(46)} ${mean(rs, "rps").toFixed(0).padStart(6)} req/s   p50 ${mean(rs, "p50").toFixed(1).padStart(5)} ms   ` +
          `p99 ${mean(rs, "p99").toFixed(1).padStart(5)} ms   CPU per request: gateway ${mean(rs, "gatewayCpu").toFixed(0)} µs` +
          `${t.hop ? `, hop ${mean(rs, "hopCpu").toFixed(0)} µs` : ""}   (${rs.map((r) => r.rps.toFixed(0)).join(", ")} req/s by round)`,
      );
    }
    const [straight, routed, floor] = results as [Result[], Result[], Result[]];
    const cost = (rs: Result[]) => `${((1 - mean(rs, "rps") / mean(straight, "rps")) * 100).toFixed(1)}%`;
    const p99 = (rs: Result[]) => {
      const delta = mean(rs, "p99") - mean(straight, "p99");
      return `${delta >= 0 ? "+" : ""}${delta.toFixed(1)} ms`;
    };
    console.log(`router cost: ${cost(routed)} of throughput (goal ≤ 10%), p99 ${p99(routed)}`);
    console.log(`bare Node hop cost: ${cost(floor)} of throughput, p99 ${p99(floor)}`);
  } finally {
    for (const child of children.reverse()) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    }
    if (!values.dir) await rm(dir, { recursive: true, force: true });
  }
}

if (process.env.BENCH_ROLE === "cloud") await serveCloud(process.env.BENCH_DIR!);
else if (process.env.BENCH_ROLE === "bare") serveBareProxy(process.env.BENCH_GATEWAY!);
else await main();
