import { generateKeyPairSync } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import axios from "axios";
import { pino } from "pino";
import { serveFunction, type FunctionServer } from "../../shared/function-server.js";
import { type FunctionStatus } from "../../shared/gateway.js";
import { createPrometheus } from "../../shared/prometheus.js";
import { SESSION_COOKIE, signSession, type Session } from "../../shared/session.js";
import { createHandler } from "./handler.js";
import { adminGateway } from "./test-gateway.js";

// dashboard-api's /list-functions against stand-ins of the gateway's /system/functions and Prometheus' query API (the real ones are
// exercised in test/e2e/dashboard.test.ts), with sessions signed by a key pair made here.
const log = pino({ level: "silent" });
const keys = generateKeyPairSync("ec", { namedCurve: "P-256" });
const other = generateKeyPairSync("ec", { namedCurve: "P-256" });
const NOW = Date.parse("2026-11-30T12:00:00Z");
const AUTH = `Basic ${Buffer.from("admin:pw").toString("base64")}`;

const label = (owner: string, repo: string, extra: Record<string, string> = {}) => ({
  "com.openfaas.cloud.git-owner": owner,
  "com.openfaas.cloud.git-owner-id": "1001",
  "com.openfaas.cloud.git-repo": repo,
  "com.openfaas.cloud.git-sha": "0123456789abcdef0123456789abcdef01234567",
  "com.openfaas.cloud.git-branch": "master",
  "com.openfaas.cloud.git-deploytime": String(NOW / 1000 - 60),
  ...extra,
});
const FUNCTIONS: FunctionStatus[] = [
  {
    name: "demo--hello",
    image: "registry.local:5000/demo/hello-stack--hello:latest-0123456",
    labels: label("demo", "hello-stack"),
    annotations: { "com.openfaas.cloud.git-repo-url": "https://github.com/demo/hello-stack" },
    replicas: 1,
    availableReplicas: 1,
    invocationCount: 2,
  },
  { name: "mallory--hello", image: "r/mallory/x--hello:latest-1", labels: label("mallory", "x"), replicas: 1 },
  // Labelled demo's but named outside demo's prefix (a system function, say): never listed as demo's.
  { name: "github-event", image: "r/github-event:1", labels: label("demo", "x"), replicas: 1 },
  // demo's prefix but another owner's label: not demo's either.
  { name: "demo--stolen", image: "r/demo/x--stolen:1", labels: label("mallory", "x"), replicas: 1 },
];

let gatewayServer: Server;
let promServer: Server;
let promQueries: string[];
let promStatus: number;
let fn: FunctionServer;
const url = (s: Server) => `http://127.0.0.1:${(s.address() as AddressInfo).port}/`;
const listen = (handler: (req: IncomingMessage) => [number, string]) =>
  new Promise<Server>((resolve) => {
    const s = createServer((req, res) => {
      const [status, body] = handler(req);
      res.writeHead(status, { "content-type": "application/json" }).end(body);
    }).listen(0, "127.0.0.1", () => resolve(s));
  });

beforeAll(async () => {
  gatewayServer = await listen((req) =>
    req.headers.authorization !== AUTH ? [401, "unauthorized"] : [200, JSON.stringify(FUNCTIONS)],
  );
  promServer = await listen((req) => {
    promQueries.push(new URL(req.url!, "http://x").searchParams.get("query")!);
    const result = [
      { metric: { function_name: "demo--hello.openfaas-fn" }, value: [NOW / 1000, "7"] },
      { metric: { function_name: "demo--gone.openfaas-fn" }, value: [NOW / 1000, "3"] },
    ];
    return [promStatus, JSON.stringify({ status: "success", data: { resultType: "vector", result } })];
  });
});
afterAll(async () => {
  await new Promise((r) => gatewayServer.close(r));
  await new Promise((r) => promServer.close(r));
});
beforeEach(() => {
  promQueries = [];
  promStatus = 200;
});
afterEach(() => fn?.close());

async function start(options: { prometheus?: boolean; operators?: string[]; prettyUrl?: string } = {}) {
  fn = await serveFunction(
    createHandler({
      gateway: adminGateway(url(gatewayServer), log),
      ...(options.prometheus === false ? {} : { prometheus: createPrometheus({ url: url(promServer) }) }),
      viewer: { publicKey: keys.publicKey, operators: options.operators ?? [], now: () => NOW },
      publicUrl: "http://gw.local:8080/",
      ...(options.prettyUrl ? { prettyUrl: options.prettyUrl } : {}),
      log,
    }),
  );
}

async function cookie(session: Partial<Session> & { login: string }, key = keys.privateKey, ttlMs = 3_600_000) {
  const token = await signSession({ userId: 1, orgs: [], ...session }, key, { nowMs: NOW - 1000, ttlMs });
  return `theme=dark; ${SESSION_COOKIE}=${token}`;
}

async function get(owner: string, cookieHeader?: string) {
  const res = await axios.get<unknown>(`${fn.url}/list-functions`, {
    params: { owner },
    headers: cookieHeader ? { cookie: cookieHeader } : {},
    validateStatus: () => true,
  });
  return { status: res.status, body: res.data };
}

describe("list-functions", () => {
  it("the owner → only its functions, described from labels, counted by Prometheus, with the pretty URL", async () => {
    await start({ prettyUrl: "https://user.example.com/function" });
    const res = await get("Demo", await cookie({ login: "demo" }));
    expect(res.status).toBe(200);
    expect(res.body).toEqual([
      {
        name: "hello",
        deployedName: "demo--hello",
        image: "demo/hello-stack--hello:latest-0123456",
        repo: "hello-stack",
        repoUrl: "https://github.com/demo/hello-stack",
        branch: "master",
        sha: "0123456789abcdef0123456789abcdef01234567",
        deployedAt: "2026-11-30T11:59:00.000Z",
        replicas: 1,
        availableReplicas: 1,
        invocationCount: 7,
        url: "https://demo.example.com/hello",
      },
    ]);
    expect(promQueries).toEqual([
      'sum by (function_name) (gateway_function_invocation_total{function_name=~"demo--.*"})',
    ]);
  });

  it("without prometheus_url → the gateway's invocationCount, and the gateway URL form", async () => {
    await start({ prometheus: false });
    const res = await get("demo", await cookie({ login: "demo" }));
    expect(res.body).toMatchObject([{ invocationCount: 2, url: "http://gw.local:8080/function/demo--hello" }]);
  });

  it("Prometheus failing → still listed, with the gateway's count", async () => {
    await start();
    promStatus = 503;
    const res = await get("demo", await cookie({ login: "demo" }));
    expect([res.status, (res.body as Array<{ invocationCount: number }>)[0]?.invocationCount]).toEqual([200, 2]);
  });

  it("a member of the org, and an operator → 200; another user → 403 whether the owner exists or not", async () => {
    await start({ operators: ["root"] });
    expect((await get("mallory", await cookie({ login: "bob", orgs: ["mallory"] }))).status).toBe(200);
    expect((await get("demo", await cookie({ login: "ROOT" }))).status).toBe(200);
    const refused = [
      await get("demo", await cookie({ login: "bob" })),
      await get("nobody", await cookie({ login: "bob" })),
    ];
    expect(refused.map((r) => r.status)).toEqual([403, 403]);
    expect(JSON.stringify(refused)).not.toContain("hello");
  });

  it.each([
    ["no cookie", undefined],
    ["another key's token", "other"],
    ["an expired token", "expired"],
    ["a garbage token", "garbage"],
  ])("%s → 401, Prometheus never asked", async (_case, kind) => {
    await start();
    const header =
      kind === "other"
        ? await cookie({ login: "demo" }, other.privateKey)
        : kind === "expired"
          ? await cookie({ login: "demo" }, keys.privateKey, 500)
          : kind === "garbage"
            ? `${SESSION_COOKIE}=abc.def.ghi`
            : undefined;
    const res = await get("demo", header);
    expect(res.status).toBe(401);
    expect(promQueries).toEqual([]);
  });

  it("a malformed owner → 400 (nothing of it reaches a Prometheus query); a POST → 405", async () => {
    await start({ operators: ["root"] });
    const res = await get('demo"}) or vector(1', await cookie({ login: "root" }));
    expect(res.status).toBe(400);
    expect(promQueries).toEqual([]);
    const post = await axios.post(`${fn.url}/list-functions`, "", { validateStatus: () => true });
    expect(post.status).toBe(405);
  });
});
