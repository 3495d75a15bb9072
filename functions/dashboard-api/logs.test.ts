import { generateKeyPairSync } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import axios from "axios";
import { pino } from "pino";
import { serveFunction, type FunctionServer } from "../../shared/function-server.js";
import { SESSION_COOKIE, signSession } from "../../shared/session.js";
import { createHandler } from "./handler.js";
import { adminGateway } from "./test-gateway.js";

// dashboard-api's /function-logs against a stand-in of the gateway's /system/function and /system/logs (the real ones: test/e2e/
// test/e2e/dashboard.test.ts), with sessions signed by a key pair made here.
const log = pino({ level: "silent" });
const keys = generateKeyPairSync("ec", { namedCurve: "P-256" });
const NOW = Date.parse("2026-11-30T12:00:00Z");
const AUTH = `Basic ${Buffer.from("admin:pw").toString("base64")}`;
const OWNERS: Record<string, string> = { "demo--hello": "demo", "demo--other": "mallory" };

let gateway: Server;
let asked: string[];
let fn: FunctionServer;
beforeAll(async () => {
  gateway = await new Promise<Server>((resolve) => {
    const s = createServer((req, res) => {
      const url = new URL(req.url!, "http://gw");
      asked.push(`${url.pathname}${url.search}`);
      if (req.headers.authorization !== AUTH) return void res.writeHead(401).end();
      const name = url.pathname.startsWith("/system/function/")
        ? decodeURIComponent(url.pathname.slice("/system/function/".length))
        : url.searchParams.get("name")!;
      const owner = OWNERS[name];
      if (!owner) return void res.writeHead(404).end("not found");
      if (url.pathname === "/system/logs") {
        const line = (i: number) =>
          JSON.stringify({ name, namespace: "openfaas-fn", instance: "c1", timestamp: `t${i}`, text: `line ${i}` });
        return void res.writeHead(200, { "content-type": "application/x-ndjson" }).end(`${line(1)}\n${line(2)}\n`);
      }
      res
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify({ name, image: "x", labels: { "com.openfaas.cloud.git-owner": owner } }));
    });
    s.listen(0, "127.0.0.1", () => resolve(s));
  });
  fn = await serveFunction(
    createHandler({
      gateway: adminGateway(`http://127.0.0.1:${(gateway.address() as AddressInfo).port}/`, log),
      viewer: { publicKey: keys.publicKey, operators: [], now: () => NOW },
      publicUrl: "http://gw.local:8080/",
      log,
    }),
  );
});
afterAll(async () => {
  await fn.close();
  await new Promise((r) => gateway.close(r));
});
beforeEach(() => (asked = []));

async function get(query: Record<string, string>, login?: string) {
  const token =
    login && (await signSession({ userId: 1, login, orgs: [] }, keys.privateKey, { nowMs: NOW, ttlMs: 60_000 }));
  const res = await axios.get<unknown>(`${fn.url}/function-logs`, {
    params: query,
    headers: token ? { cookie: `${SESSION_COOKIE}=${token}` } : {},
    validateStatus: () => true,
  });
  return { status: res.status, body: res.data };
}

describe("function-logs", () => {
  it("the owner's function → its lines as JSON, asked without follow, with tail and since passed on", async () => {
    const res = await get({ owner: "demo", function: "hello", tail: "2", since: "30m" }, "demo");
    expect(res).toEqual({
      status: 200,
      body: [
        { timestamp: "t1", instance: "c1", text: "line 1" },
        { timestamp: "t2", instance: "c1", text: "line 2" },
      ],
    });
    const since = new Date(NOW - 30 * 60_000).toISOString();
    expect(asked).toEqual([
      "/system/function/demo--hello",
      `/system/logs?name=demo--hello&follow=false&tail=2&since=${since}`,
    ]);
  });

  it("a function named in demo's prefix but labelled another owner's, or none → the same 404", async () => {
    const other = await get({ owner: "demo", function: "other" }, "demo");
    const none = await get({ owner: "demo", function: "nope" }, "demo");
    expect([other.status, none.status]).toEqual([404, 404]);
    expect(asked.filter((p) => p.startsWith("/system/logs"))).toEqual([]);
  });

  it("no session → 401, another user → 403, neither asks the gateway", async () => {
    expect((await get({ owner: "demo", function: "hello" })).status).toBe(401);
    expect((await get({ owner: "demo", function: "hello" }, "mallory")).status).toBe(403);
    expect(asked).toEqual([]);
  });

  it.each([
    [{ owner: "demo" }, "function is required"],
    [{ owner: "demo", function: "a--b" }, 'must not contain "--"'],
    [{ owner: "demo", function: "hello", tail: "0" }, "tail must be"],
    [{ owner: "demo", function: "hello", since: "yesterday" }, "since must be"],
  ])("%j → 400 naming the problem", async (query, message) => {
    const res = await get(query, "demo");
    expect([res.status, String(res.body)]).toEqual([400, expect.stringContaining(message)]);
  });
});
