import { generateKeyPairSync } from "node:crypto";
import axios from "axios";
import { pino } from "pino";
import { serveFunction, type FunctionServer } from "../../shared/function-server.js";
import { SESSION_COOKIE, signSession } from "../../shared/session.js";
import { createHandler } from "./handler.js";
import { adminGateway } from "./test-gateway.js";

// The dispatch on the path (issue #11: three APIs in one CE function slot); each API's own rules are in list.test.ts,
// logs.test.ts and metrics.test.ts. Nothing listens at the gateway's address: no case here may reach it.
const log = pino({ level: "silent" });
const keys = generateKeyPairSync("ec", { namedCurve: "P-256" });
const NOW = Date.parse("2026-11-30T12:00:00Z");

let fn: FunctionServer;
beforeAll(async () => {
  fn = await serveFunction(
    createHandler({
      gateway: adminGateway("http://127.0.0.1:9/", log),
      // No prometheus: as a deployment with prometheus_url empty.
      viewer: { publicKey: keys.publicKey, operators: [], now: () => NOW },
      publicUrl: "http://gw.local:8080/",
      log,
    }),
  );
});
afterAll(() => fn.close());

async function call(method: string, path: string, login?: string) {
  const token =
    login && (await signSession({ userId: 1, login, orgs: [] }, keys.privateKey, { nowMs: NOW, ttlMs: 60_000 }));
  const res = await axios.request<string>({
    method,
    url: `${fn.url}${path}`,
    headers: token ? { cookie: `${SESSION_COOKIE}=${token}` } : {},
    responseType: "text",
    validateStatus: () => true,
  });
  return { status: res.status, body: res.data };
}

describe("dashboard-api's paths", () => {
  it.each(["/", "/list-functions/x", "/function-log", "/List-Functions", "/system/functions", "/list-functions.json"])(
    "GET %s → 404 naming the APIs",
    async (path) => {
      const res = await call("GET", `${path}?owner=demo`, "demo");
      expect(res).toEqual({
        status: 404,
        body: "no such dashboard API: use /list-functions, /function-logs, /system-metrics, /builds or /build-log",
      });
    },
  );

  it.each(["/list-functions", "/function-logs", "/system-metrics", "/builds", "/build-log"])(
    "%s without a session → 401",
    async (path) => {
      expect((await call("GET", `${path}?owner=demo&function=hello`)).status).toBe(401);
    },
  );

  it.each(["/list-functions", "/function-logs", "/system-metrics"])("POST %s → 405", async (path) => {
    expect((await call("POST", `${path}?owner=demo`, "demo")).status).toBe(405);
  });

  it("/function-logs/ (a trailing slash) → the same API: 400 without ?function=", async () => {
    expect(await call("GET", "/function-logs/?owner=demo", "demo")).toEqual({
      status: 400,
      body: "function is required, e.g. ?owner=alexellis&function=hello",
    });
  });

  it("/system-metrics without prometheus_url → 503 for a viewer, 403 for another login (checked first)", async () => {
    expect(await call("GET", "/system-metrics?owner=demo&function=hello", "demo")).toEqual({
      status: 503,
      body: "system-metrics needs prometheus_url (docs/configuration.md)",
    });
    expect((await call("GET", "/system-metrics?owner=demo&function=hello", "mallory")).status).toBe(403);
  });
});
