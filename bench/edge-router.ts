/**
 * Benchmark (issue #13): one function called through the edge router and straight at the gateway. The local cloud
 * (local/runtime.ts: gateway, the demo's functions as containers) runs in one child process, the router in another
 * (edge-router/main.ts, as it runs in production, in front of that gateway), and the load generator (autocannon) in
 * this one; a bare Node proxy (no routing) in a third shows what any extra Node hop costs. The targets alternate, so
 * drift on a busy machine hits all alike. The goal: the router costs at most 10% of throughput. Root only (the local
 * cloud starts its own Docker daemon).
 *
 * Where the processes run decides what "cost" means, so the bench measures two placements in the same run:
 * - own core (the goal's measure): this process, the local cloud, its Docker daemon and the function's container on
 *   CPU 0, the router (or bare proxy) on CPU 1 — as in a cluster, where the router is its own Deployment with its
 *   own CPU, and the client, gateway and function are not slowed by it. What the router costs there is the time it
 *   adds to each call, which with N connections in flight shows up as throughput.
 * - one core: the router on CPU 0 with everything else. Each call then pays the router's CPU out of the same budget
 *   as the gateway's and the function's, so the throughput lost is its share of the CPU per call (printed as µs).
 * Pinning uses taskset (util-linux) and needs at least two CPUs; `--placement shared` instead leaves every process
 * free on every CPU (the machine's own scheduling, as before).
 *
 *   npm run bench:edge-router [-- --seconds 10 --connections 10 --rounds 2 --placement pinned|shared]
 */
import { execFile, fork, type ChildProcess } from "node:child_process";
import { Agent, createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, promisify } from "node:util";
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
  process.send?.({ gatewayUrl: cloud.gatewayUrl, dockerSocket: cloud.dockerSocket });
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

/** Restricts every thread of `pid` to `cpus` (taskset's list form, e.g. "1"); its children inherit it. */
async function pin(pid: number, cpus: string): Promise<void> {
  await promisify(execFile)("taskset", ["--all-tasks", "--cpu-list", "--pid", cpus, String(pid)]);
}

/** The CPUs `pid` may run on, as taskset prints them ("0", "0,1"). */
async function cpusOf(pid: number): Promise<string> {
  const { stdout } = await promisify(execFile)("taskset", ["--cpu-list", "--pid", String(pid)]);
  return stdout.trim().split(": ").pop()!;
}

/** Every process whose affinity is not `cpus`, among `pids`: what escaped the pinning (e.g. a runtime resetting it). */
async function unpinned(pids: number[], cpus: string): Promise<number[]> {
  const out: number[] = [];
  for (const pid of pids) if ((await cpusOf(pid).catch(() => cpus)) !== cpus) out.push(pid);
  return out;
}

/** The host PIDs of every process in the local cloud's containers (the function's), through its Docker daemon. */
async function containerPids(dockerSocket: string): Promise<number[]> {
  const docker = (...args: string[]) => promisify(execFile)("docker", ["--host", `unix://${dockerSocket}`, ...args]);
  const ids = (await docker("ps", "--quiet")).stdout.split("\n").filter(Boolean);
  const pids: number[] = [];
  for (const id of ids) {
    const { stdout } = await docker("top", id, "-o", "pid");
    pids.push(...stdout.split("\n").slice(1).filter(Boolean).map(Number));
  }
  return pids;
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
      placement: { type: "string", default: availableParallelism() >= 2 ? "pinned" : "shared" },
      dir: { type: "string" },
    },
  });
  const [seconds, connections, rounds] = [values.seconds, values.connections, values.rounds].map(Number) as [
    number,
    number,
    number,
  ];
  if (values.placement !== "pinned" && values.placement !== "shared") throw new Error("--placement: pinned or shared");
  const pinned = values.placement === "pinned";
  const cpus = availableParallelism(); // before pinning, which narrows what it reports
  // Before anything starts, so that the cloud, its Docker daemon and every container it starts inherit CPU 0.
  if (pinned) await pin(process.pid, "0");
  const dir = values.dir ?? (await mkdtemp(join(tmpdir(), "bench-edge-")));
  const children: ChildProcess[] = [];
  try {
    console.log("starting the local cloud and deploying examples/hello-stack (first run: ~30 s for the base image)…");
    const cloud = await start<{ gatewayUrl: string; dockerSocket: string }>(self, {
      BENCH_ROLE: "cloud",
      BENCH_DIR: dir,
    });
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
    const phases = pinned
      ? [
          { name: "router on its own core (CPU 1; everything else on CPU 0)", hopCpus: "1" },
          { name: "router on the one core everything else runs on (CPU 0)", hopCpus: "0" },
        ]
      : [{ name: `every process free on all ${cpus} CPUs`, hopCpus: undefined }];
    if (pinned) {
      // A container runtime may reset the affinity its processes inherit (runc does for `exec`): any of the
      // function's processes that escaped CPU 0 is put back there, and said so.
      const escaped = await unpinned(await containerPids(cloud.message.dockerSocket), "0");
      for (const pid of escaped) await pin(pid, "0");
      if (escaped.length > 0) console.log(`pinned ${escaped.length} container process(es) back onto CPU 0`);
    }
    console.log(
      `GET demo's hello (examples/hello-stack), ${connections} connections, ${rounds} rounds of ${seconds}s per ` +
        `target, Node ${process.version}, ${cpus} CPUs`,
    );
    const mean = (rs: Result[], key: keyof Result) => rs.reduce((sum, r) => sum + r[key], 0) / rs.length;
    const verdicts: string[] = [];
    for (const phase of phases) {
      if (phase.hopCpus) for (const pid of [router.child.pid!, bare.child.pid!]) await pin(pid, phase.hopCpus);
      const results = targets.map(() => [] as Result[]);
      // Warm-up: JIT, keep-alive pools, the function's container.
      for (const t of targets) await drive(t, { gateway: cloud.child.pid!, hop: t.hop }, 2, connections);
      for (let i = 0; i < rounds; i++) {
        for (const [k, t] of targets.entries())
          results[k]!.push(await drive(t, { gateway: cloud.child.pid!, hop: t.hop }, seconds, connections));
      }
      // Other work on the machine shifts every number here; the load says how much there was (1, 5, 15 min).
      console.log(
        `\n${phase.name} (load average ${loadavg()
          .map((l) => l.toFixed(2))
          .join(" ")}):`,
      );
      for (const [k, t] of targets.entries()) {
        const rs = results[k]!;
        console.log(
          `  ${t.name.padEnd(46)} ${mean(rs, "rps").toFixed(0).padStart(6)} req/s   p50 ${mean(rs, "p50").toFixed(1).padStart(5)} ms   ` +
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
      console.log(`  router cost: ${cost(routed)} of throughput, p99 ${p99(routed)}`);
      console.log(`  bare Node hop cost: ${cost(floor)} of throughput, p99 ${p99(floor)}`);
      verdicts.push(`${phase.name}: router cost ${cost(routed)}`);
    }
    console.log(`\ngoal: the router costs ≤ 10% of throughput where it has its own CPU, as in a cluster`);
    for (const verdict of verdicts) console.log(`  ${verdict}`);
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
