import { generateKeyPairSync } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import axios from "axios";
import { pino } from "pino";
import { serveFunction, type FunctionServer } from "../../shared/function-server.js";
import { createPrometheus } from "../../shared/prometheus.js";
import { SESSION_COOKIE, signSession } from "../../shared/session.js";
import { createHandler } from "./handler.js";
import { adminGateway } from "./test-gateway.js";

// dashboard-api's /system-metrics against a stand-in of Prometheus' query API that answers by metric name (the real Prometheus:
// test/e2e/dashboard.test.ts), with sessions signed by a key pair made here.
const log = pino({ level: "silent" });
const keys = generateKeyPairSync("ec", { namedCurve: "P-256" });
const NOW = Date.parse("2026-11-30T12:00:00Z");

let prom: Server;
let queries: string[];
let empty: boolean;
let fn: FunctionServer;
const vector = (result: Array<[Record<string, string>, string]>) =>
  JSON.stringify({
    status: "success",
    data: { resultType: "vector", result: result.map(([metric, v]) => ({ metric, value: [NOW / 1000, v] })) },
  });
beforeAll(async () => {
  prom = await new Promise<Server>((resolve) => {
    const s = createServer((req, res) => {
      const q = new URL(req.url!, "http://p").searchParams.get("query")!;
      queries.push(q);
      let body;
      if (empty) body = q.includes("/") ? vector([[{}, "NaN"]]) : vector([]);
      else if (q.startsWith("histogram_quantile(0.5,")) body = vector([[{}, "0.005"]]);
      else if (q.startsWith("histogram_quantile(0.99,")) body = vector([[{}, "0.25"]]);
      else if (q.includes("gateway_functions_seconds_sum")) body = vector([[{}, "0.02"]]);
      else
        body = vector([
          [{ code: "200" }, "5"],
          [{ code: "500" }, "3.0000001"],
        ]);
      res.writeHead(200, { "content-type": "application/json" }).end(body);
    });
    s.listen(0, "127.0.0.1", () => resolve(s));
  });
  fn = await serveFunction(
    createHandler({
      prometheus: createPrometheus({ url: `http://127.0.0.1:${(prom.address() as AddressInfo).port}` }),
      viewer: { publicKey: keys.publicKey, operators: ["root"], now: () => NOW },
      // system-metrics never asks the gateway: nothing listens there, so a call would fail the test.
      gateway: adminGateway("http://127.0.0.1:9/", log),
      publicUrl: "http://gw.local:8080/",
      log,
    }),
  );
});
afterAll(async () => {
  await fn.close();
  await new Promise((r) => prom.close(r));
});
beforeEach(() => {
  queries = [];
  empty = false;
});

async function get(query: Record<string, string>, login?: string) {
  const token =
    login && (await signSession({ userId: 1, login, orgs: [] }, keys.privateKey, { nowMs: NOW, ttlMs: 60_000 }));
  const res = await axios.get<unknown>(`${fn.url}/system-metrics`, {
    params: query,
    headers: token ? { cookie: `${SESSION_COOKIE}=${token}` } : {},
    validateStatus: () => true,
  });
  return { status: res.status, body: res.data };
}

describe("system-metrics", () => {
  it("24h → calls by code (whole numbers) and latency, every query on the function's own series over 24h", async () => {
    const res = await get({ owner: "demo", function: "hello", window: "24h" }, "demo");
    expect(res).toEqual({
      status: 200,
      body: {
        owner: "demo",
        function: "hello",
        window: "24h",
        invocations: { total: 8, byCode: { "200": 5, "500": 3 } },
        latencySeconds: { average: 0.02, p50: 0.005, p99: 0.25 },
      },
    });
    expect(queries).toHaveLength(4);
    for (const q of queries) {
      expect(q).toContain('{function_name=~"demo--hello([.].+)?"}');
      expect(q).toContain("offset 24h");
      expect(q).not.toContain("offset 1h");
    }
  });

  it("no calls in the window → total 0 and null latencies (never NaN)", async () => {
    empty = true;
    const res = await get({ owner: "demo", function: "hello" }, "root");
    expect(res.body).toMatchObject({
      window: "1h",
      invocations: { total: 0, byCode: {} },
      latencySeconds: { average: null, p50: null, p99: null },
    });
  });

  it("no session → 401, another user → 403, a bad window or function → 400; Prometheus never asked", async () => {
    expect((await get({ owner: "demo", function: "hello" })).status).toBe(401);
    expect((await get({ owner: "demo", function: "hello" }, "mallory")).status).toBe(403);
    expect((await get({ owner: "demo", function: "hello", window: "7d" }, "demo")).status).toBe(400);
    expect((await get({ owner: "demo", function: 'x"}' }, "demo")).status).toBe(400);
    expect(queries).toEqual([]);
  });
});
