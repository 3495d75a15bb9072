// The local gateway's /metrics scraped by a real Prometheus (Debian's `prometheus`, DESIGN §7): after N calls to a
// function, some failing, Prometheus' query API returns N split by status code (issue #13).
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { pino } from "pino";
import type { FunctionHandler } from "../../shared/function-handler.js";
import { startGateway } from "../gateway.js";
import { startPrometheus, type Prometheus } from "./prometheus.js";

const AUTH = { user: "admin", password: "scrape-me" };
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
// Fails with a 500 when asked to, else answers 200: the function under count.
const flaky: FunctionHandler = (event, context) => {
  context.status(event.query.fail ? 500 : 200).succeed(event.query.fail ? "failed" : "ok");
  return Promise.resolve();
};

describe("Prometheus scraping the local gateway's /metrics", () => {
  let dir: string;
  let gateway: Awaited<ReturnType<typeof startGateway>>;
  let prometheus: Prometheus | undefined;
  let startedInMs = 0;

  beforeAll(async () => {
    if (!existsSync("/usr/bin/prometheus")) throw new Error("prometheus missing: run scripts/install-system-deps.sh");
    dir = mkdtempSync(join(tmpdir(), "ofc-prom-"));
    const queue = { enqueue: () => Promise.resolve() };
    const functions = new Map([["flaky", flaky]]);
    gateway = await startGateway({ functions, queue, log: pino({ level: "silent" }), auth: AUTH });
    writeFileSync(join(dir, "basic-auth-password"), AUTH.password + "\n", { mode: 0o600 });
    const started = performance.now();
    prometheus = await startPrometheus({
      dataDir: join(dir, "prometheus"),
      scrape: {
        target: new URL(gateway.url).host,
        intervalMs: 500,
        username: AUTH.user,
        passwordFile: join(dir, "basic-auth-password"),
      },
    });
    startedInMs = Math.round(performance.now() - started);
  });

  afterAll(async () => {
    await prometheus?.stop();
    await gateway?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    console.log(`prometheus ready in ${startedInMs} ms`);
  });

  it("/metrics without the gateway's account → 401; with it → the OpenFaaS names", async () => {
    expect((await fetch(`${gateway.url}metrics`)).status).toBe(401);
    const res = await fetch(`${gateway.url}metrics`, { headers: { authorization: basic(AUTH.user, AUTH.password) } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    for (const name of ["gateway_function_invocation_total", "gateway_functions_seconds", "gateway_service_count"]) {
      expect(text).toContain(`# TYPE ${name} `);
    }
  });

  it("7 calls to flaky (5 answered 200, 2 answered 500) → /metrics and Prometheus' query API: {200: 5, 500: 2}", async () => {
    const codes: number[] = [];
    for (const fail of [false, true, false, false, true, false, false]) {
      codes.push((await fetch(`${gateway.url}function/flaky${fail ? "?fail=1" : ""}`)).status);
    }
    // An unknown function is not counted (upstream's scaling handler answers 404 before the counting proxy).
    expect((await fetch(`${gateway.url}function/nobody`)).status).toBe(404);
    expect(codes.sort()).toEqual([200, 200, 200, 200, 200, 500, 500]);

    const exposition = await (
      await fetch(`${gateway.url}metrics`, { headers: { authorization: basic(AUTH.user, AUTH.password) } })
    ).text();
    const count = (code: number) =>
      new RegExp(
        `^gateway_function_invocation_total\\{function_name="flaky.openfaas-fn",code="${code}"\\} (\\d+)$`,
        "m",
      )
        .exec(exposition)
        ?.at(1);
    expect([count(200), count(500)]).toEqual(["5", "2"]);
    expect(exposition).not.toContain("nobody");

    const query = 'sum by (code) (gateway_function_invocation_total{function_name="flaky.openfaas-fn"})';
    const auth = { authorization: basic(prometheus!.credentials.username, prometheus!.credentials.password) };
    let byCode: Record<string, string> = {};
    for (let waited = 0; waited < 15_000; waited += 250) {
      const res = await fetch(`${prometheus!.url}/api/v1/query?query=${encodeURIComponent(query)}`, { headers: auth });
      expect(res.status).toBe(200);
      const body = (await res.json()) as {
        data: { result: Array<{ metric: { code: string }; value: [number, string] }> };
      };
      byCode = Object.fromEntries(body.data.result.map((r) => [r.metric.code, r.value[1]]));
      if (byCode["200"] === "5" && byCode["500"] === "2") break;
      await sleep(250);
    }
    expect(byCode).toEqual({ "200": "5", "500": "2" });
  }, 30_000);

  it("Prometheus: its API without its account → 401; it listens on 127.0.0.1 only", async () => {
    const url = new URL(prometheus!.url);
    expect(url.hostname).toBe("127.0.0.1");
    expect((await fetch(`${prometheus!.url}/api/v1/query?query=up`)).status).toBe(401);
    const wrong = { authorization: basic(prometheus!.credentials.username, "guess") };
    expect((await fetch(`${prometheus!.url}/api/v1/query?query=up`, { headers: wrong })).status).toBe(401);
  });

  it("a second start on the same port with the same account → reuses it (reloads), its stop leaves it running", async () => {
    const port = Number(new URL(prometheus!.url).port);
    const again = await startPrometheus({
      dataDir: join(dir, "prometheus"),
      port,
      credentials: prometheus!.credentials,
      scrape: {
        target: new URL(gateway.url).host,
        username: AUTH.user,
        passwordFile: join(dir, "basic-auth-password"),
      },
    });
    expect(again.url).toBe(prometheus!.url);
    await again.stop();
    const auth = { authorization: basic(prometheus!.credentials.username, prometheus!.credentials.password) };
    expect((await fetch(`${prometheus!.url}/-/ready`, { headers: auth })).status).toBe(200);
  });
});
