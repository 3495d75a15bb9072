import { jest } from "@jest/globals";
import { createPrivateKey } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import axios from "axios";
import { pino } from "pino";
import { loadPorts } from "../../local/ports.js";
import { startLocalCloud, type LocalCloud } from "../../local/runtime.js";
import { SESSION_COOKIE, signSession, type Session } from "../../shared/session.js";

// Issue #13 item 3 on the local runtime: the dashboard's APIs (list-functions, function-logs, system-metrics, all
// three served by the one function dashboard-api) at their public paths through the edge router's system host, with sessions signed by the runtime's own edge-auth key. A function that
// answers the status code it is asked for is pushed and called N times with some failures; the real Prometheus then
// counts them by code, list-functions reports the same N, and the logs hold a line the function printed. One
// runtime for the file; the first case's push is what the others read.
jest.setTimeout(300_000);

const OK = 5;
const FAILED = 3;
const FLAKY = {
  "stack.yml": [
    "version: 1.0",
    "provider:",
    "  name: openfaas",
    "functions:",
    "  flaky:",
    "    lang: node24",
    "    handler: ./flaky",
    "    image: flaky:latest",
    "",
  ].join("\n"),
  "flaky/package.json": JSON.stringify({ name: "flaky", version: "1.0.0", private: true, main: "handler.js" }),
  "flaky/handler.js": [
    '"use strict";',
    "// Answers with the status code it is asked for, and says so on stdout.",
    "module.exports = async (event, context) => {",
    "  const code = Number(event.query.code || 200);",
    "  console.log(`flaky answered ${code} to call ${event.query.n}`);",
    "  context.status(code);",
    "  return `code ${code}\\n`;",
    "};",
    "",
  ].join("\n"),
};

let dir: string;
let cloud: LocalCloud;
let sign: (session: Partial<Session> & { login: string }) => Promise<string>;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "e2e-dashboard-api-"));
  const { gateway } = await loadPorts(join(dir, "ports.json"));
  cloud = await startLocalCloud({
    dir,
    owners: ["demo", "mallory"],
    log: pino({ level: "silent" }),
    gatewayPort: gateway,
    scrapeIntervalMs: 1_000,
    settings: { operators: "root" },
  });
  // The key edge-auth signs with (the runtime made it in <dir>/secrets): the functions verify with its public half.
  const key = createPrivateKey(await readFile(join(dir, "secrets", "jwt-private-key"), "utf8"));
  sign = async (session) =>
    `${SESSION_COOKIE}=${await signSession({ userId: 1, orgs: [], ...session }, key, { nowMs: Date.now(), ttlMs: 600_000 })}`;
});
afterAll(async () => {
  await cloud?.close();
  await rm(dir, { recursive: true, force: true });
});

/** GET `http://system.localhost:<edge><path>`, sent to 127.0.0.1 with the system host's name, as a browser would. */
function system(path: string, cookie?: string): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port: cloud.edgePort,
        path,
        headers: { host: `system.localhost:${cloud.edgePort}`, ...(cookie ? { cookie } : {}) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString();
          let body: unknown = text;
          try {
            body = JSON.parse(text);
          } catch {
            // A refusal's plain-text message.
          }
          resolve({ status: res.statusCode!, body });
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end();
  });
}

/** Asks until `done` holds (Prometheus scrapes every second; container logs arrive as the daemon writes them). */
async function poll<T>(ask: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await ask();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

type Listed = Array<{ name: string; deployedName: string; invocationCount: number; sha: string; url: string }>;
type Metrics = {
  invocations: { total: number; byCode: Record<string, number> };
  latencySeconds: Record<string, unknown>;
};

describe("the dashboard APIs on the local runtime", () => {
  let sha: string;
  it(`demo pushes a function and it is called ${OK + FAILED} times, ${FAILED} of them failing`, async () => {
    sha = await cloud.publish("demo", "flaky-stack", FLAKY, "flaky");
    expect((await cloud.sendPush("demo", "flaky-stack", sha)).status).toBe(202);
    expect((await cloud.waitForStatus("demo", "flaky-stack", sha, "stack-deploy", 240_000)).state).toBe("success");
    const codes = [...Array<number>(OK).fill(200), ...Array<number>(FAILED).fill(500)];
    const answered: number[] = [];
    for (const [n, code] of codes.entries()) {
      const res = await axios.get(`${cloud.gatewayUrl}function/demo--flaky`, {
        params: { code, n },
        validateStatus: () => true,
      });
      answered.push(res.status);
    }
    expect(answered).toEqual(codes);
  });

  it(`list-functions as demo → flaky with its SHA, its pretty URL and ${OK + FAILED} calls (from Prometheus)`, async () => {
    const cookie = await sign({ login: "demo" });
    const res = await poll(
      () => system("/list-functions?owner=demo", cookie),
      (r) => (r.body as Listed)[0]?.invocationCount === OK + FAILED,
    );
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject([
      {
        name: "flaky",
        deployedName: "demo--flaky",
        repo: "flaky-stack",
        sha,
        invocationCount: OK + FAILED,
        url: `http://demo.localhost:${cloud.edgePort}/flaky`,
      },
    ]);
  });

  it("list-functions: mallory → 403, no cookie → 401, a demo org member and the operator → 200", async () => {
    const mallory = await system("/list-functions?owner=demo", await sign({ login: "mallory" }));
    expect([mallory.status, JSON.stringify(mallory.body)]).toEqual([403, expect.not.stringContaining("flaky")]);
    expect((await system("/list-functions?owner=demo")).status).toBe(401);
    const member = await system("/list-functions?owner=demo", await sign({ login: "bob", orgs: ["demo"] }));
    const operator = await system("/list-functions?owner=demo", await sign({ login: "root" }));
    expect([member.status, operator.status]).toEqual([200, 200]);
    expect((operator.body as Listed).map((f) => f.name)).toEqual(["flaky"]);
    // mallory's own list is empty: demo's function is not mallory's.
    expect((await system("/list-functions?owner=mallory", await sign({ login: "mallory" }))).body).toEqual([]);
  });

  it("function-logs as demo → the lines flaky printed; mallory → 403; an unknown function → 404", async () => {
    const cookie = await sign({ login: "demo" });
    const res = await poll(
      () => system("/function-logs?owner=demo&function=flaky&tail=50", cookie),
      (r) => JSON.stringify(r.body).includes(`flaky answered 500 to call ${OK + FAILED - 1}`),
    );
    expect(res.status).toBe(200);
    const texts = (res.body as Array<{ text: string }>).map((l) => l.text);
    expect(texts.join("\n")).toContain("flaky answered 200 to call 0");
    expect(texts.join("\n")).toContain(`flaky answered 500 to call ${OK + FAILED - 1}`);
    expect((await system("/function-logs?owner=demo&function=flaky", await sign({ login: "mallory" }))).status).toBe(
      403,
    );
    expect((await system("/function-logs?owner=demo&function=nope", cookie)).status).toBe(404);
  });

  it(`system-metrics as demo, 1h and 24h → ${OK} × 200 and ${FAILED} × 500, with latency; mallory → 403`, async () => {
    const cookie = await sign({ login: "demo" });
    for (const window of ["1h", "24h"]) {
      const res = await poll(
        () => system(`/system-metrics?owner=demo&function=flaky&window=${window}`, cookie),
        (r) => (r.body as Metrics).invocations?.total === OK + FAILED,
      );
      expect(res.status).toBe(200);
      const metrics = res.body as Metrics;
      expect(metrics.invocations).toEqual({ total: OK + FAILED, byCode: { "200": OK, "500": FAILED } });
      for (const q of ["average", "p50", "p99"]) {
        expect([q, typeof metrics.latencySeconds[q]]).toEqual([q, "number"]);
      }
    }
    // Prometheus' own query API says the same: N calls of demo--flaky, split by status code.
    const query = 'sum by (code) (gateway_function_invocation_total{function_name=~"demo--flaky([.].+)?"})';
    const direct = await axios.get<{ data: { result: Array<{ metric: { code: string }; value: [number, string] }> } }>(
      `${cloud.prometheusUrl}/api/v1/query`,
      { params: { query }, auth: { username: cloud.auth.user, password: cloud.auth.password } },
    );
    const byCode = Object.fromEntries(direct.data.data.result.map((r) => [r.metric.code, Number(r.value[1])]));
    expect(byCode).toEqual({ "200": OK, "500": FAILED });
    const refused = await system("/system-metrics?owner=demo&function=flaky", await sign({ login: "mallory" }));
    expect(refused.status).toBe(403);
  });
});
