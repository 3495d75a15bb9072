/**
 * Benchmark (issue #2): github-event driven over HTTP on loopback with signed push bodies, beside a bare Node
 * http server that only verifies the same HMAC. Each server runs in its own process; the load generator
 * (autocannon) runs in this one, and github-push is played by a third process answering 200 at once.
 *
 *   npm run bench:github-event [-- --seconds 10 --connections 10]
 */
import { fork, type ChildProcess } from "node:child_process";
import { createHmac, timingSafeEqual } from "node:crypto";
import { Agent, createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import axios from "axios";
import autocannon from "autocannon";
import examples from "@octokit/webhooks-examples/api.github.com/index.json" with { type: "json" };
import { pino } from "pino";
import { createCustomers } from "../shared/customers.js";
import { serveFunction } from "../shared/function-server.js";
import { createGateway } from "../shared/gateway.js";
import { signPayload } from "../shared/hmac.js";
import { createDeliveries } from "../shared/deliveries.js";
import { createHandler } from "../functions/github-event/handler.js";
import { reportGoals } from "./goals.js";

const SECRET = "bench-webhook-secret";
const self = fileURLToPath(import.meta.url);

async function listen(server: ReturnType<typeof createServer>): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Child roles: each prints its URL to the parent over IPC and serves until killed. */
async function serve(role: string, downstream?: string): Promise<void> {
  let url: string;
  if (role === "downstream") {
    url = await listen(createServer((req, res) => req.resume().on("end", () => res.end("queued"))));
  } else if (role === "bare" || role === "bare-forward") {
    const agent = new Agent({ keepAlive: true });
    url = await listen(
      createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on("data", (c: Buffer) => chunks.push(c));
        req.on("end", () => {
          const body = Buffer.concat(chunks);
          const expected = Buffer.from(`sha256=${createHmac("sha256", SECRET).update(body).digest("hex")}`);
          const given = Buffer.from(String(req.headers["x-hub-signature-256"] ?? ""));
          const ok = given.length === expected.length && timingSafeEqual(given, expected);
          if (!ok || role === "bare") return void res.writeHead(ok ? 200 : 401).end();
          // The least a front door can do: verify, then pass the body on in one HTTP hop.
          const out = request(`${downstream}/function/github-push`, { method: "POST", agent }, (down) => {
            down.resume().on("end", () => res.writeHead(down.statusCode ?? 502).end());
          });
          out.end(body);
        });
      }),
    );
  } else {
    const log = pino({ level: "warn" });
    const http = axios.create({ httpAgent: new Agent({ keepAlive: true }) });
    const handler = createHandler({
      webhookSecret: SECRET,
      validateHmac: true,
      customers: createCustomers({ list: "codertocat", http, now: Date.now }),
      gateway: createGateway({ url: downstream!, payloadSecret: "bench-payload", http, log }),
      deliveries: createDeliveries({ now: Date.now, max: 1_000_000 }),
      log,
    });
    url = (await serveFunction(handler)).url;
  }
  process.on("SIGTERM", () => process.exit(0)); // exit normally, so --cpu-prof can write its profile
  process.send?.({ url });
}

function start(role: string, downstream?: string): Promise<{ child: ChildProcess; url: string }> {
  const child = fork(self, [], {
    execArgv: ["--import", "tsx"],
    env: { ...process.env, BENCH_ROLE: role, BENCH_DOWNSTREAM: downstream ?? "" },
  });
  return new Promise((resolve, reject) => {
    child.once("message", (m: { url: string }) => resolve({ child, url: m.url }));
    child.once("exit", (code) => reject(new Error(`${role} exited with ${code}`)));
  });
}

async function drive(url: string, body: string, seconds: number, connections: number) {
  let n = 0;
  const result = await autocannon({
    url,
    connections,
    duration: seconds,
    method: "POST",
    body,
    headers: {
      "content-type": "application/json",
      "x-github-event": "push",
      "x-hub-signature-256": signPayload(SECRET, body),
    },
    // Every request is a new delivery, or github-event would answer "already received" without forwarding.
    requests: [
      {
        setupRequest: (req) => ({
          ...req,
          headers: { ...req.headers, "x-github-delivery": `bench-${process.pid}-${++n}` },
        }),
      },
    ],
  });
  const bad = result.non2xx + result.errors;
  if (bad > 0) throw new Error(`${url}: ${bad} requests failed (non-2xx or errors)`);
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    total: result.requests.total,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { seconds: { type: "string", default: "10" }, connections: { type: "string", default: "10" } },
  });
  const seconds = Number(values.seconds);
  const connections = Number(values.connections);
  const push = (examples as Array<{ name: string; examples: Array<{ ref?: string; installation?: unknown }> }>)
    .find((e) => e.name === "push")!
    .examples.find((p) => p.ref === "refs/heads/master" && p.installation)!;
  const body = JSON.stringify(push);

  const downstream = await start("downstream");
  const event = await start("github-event", downstream.url);
  const bare = await start("bare");
  const bareForward = await start("bare-forward", downstream.url);
  try {
    await drive(`${event.url}/`, body, 2, connections); // warm-up (JIT, keep-alive pools)
    await drive(`${bare.url}/`, body, 2, connections);
    await drive(`${bareForward.url}/`, body, 2, connections);
    const ours = await drive(`${event.url}/`, body, seconds, connections);
    const base = await drive(`${bare.url}/`, body, seconds, connections);
    const hop = await drive(`${bareForward.url}/`, body, seconds, connections);
    const row = (name: string, r: typeof ours) =>
      `${name.padEnd(34)} ${r.rps.toFixed(0).padStart(8)} req/s   p50 ${String(r.p50).padStart(4)} ms   p99 ${String(r.p99).padStart(4)} ms   (${r.total} requests)`;
    console.log(
      `signed push bodies of ${Buffer.byteLength(body)} bytes, ${connections} connections, ${seconds}s each, Node ${process.version}`,
    );
    console.log(row("github-event (verify+route+forward)", ours));
    console.log(row("bare node:http HMAC check", base));
    console.log(row("bare HMAC check + one forward hop", hop));
    const ratio = (a: typeof ours, b: typeof ours) =>
      `throughput ${(a.rps / b.rps).toFixed(2)}x, p50 ${(a.p50 / Math.max(b.p50, 1)).toFixed(2)}x, p99 ${(a.p99 / Math.max(b.p99, 1)).toFixed(2)}x`;
    console.log(`ratio github-event / bare HMAC check:      ${ratio(ours, base)}`);
    console.log(`ratio github-event / bare check + forward: ${ratio(ours, hop)}`);
    reportGoals([
      {
        benchmark: `github-event intake, ${connections} connections`,
        now: `${ours.rps.toFixed(0)} req/s, p99 ${ours.p99} ms vs ${hop.rps.toFixed(0)} req/s, p99 ${hop.p99} ms bare verify+forward: ${(ours.rps / hop.rps).toFixed(2)}×`,
        goal: "≥ 0.8× the bare verify+forward, p99 ≤ 10 ms",
        met: ours.rps >= 0.8 * hop.rps && ours.p99 <= 10,
      },
    ]);
  } finally {
    for (const c of [event, bare, bareForward, downstream]) c.child.kill();
  }
}

const role = process.env.BENCH_ROLE;
if (role) void serve(role, process.env.BENCH_DOWNSTREAM);
else await main();
