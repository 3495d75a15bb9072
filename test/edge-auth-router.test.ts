import { generateKeyPairSync } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import axios from "axios";
import pino from "pino";
import { createGithubUser } from "../functions/edge-auth/github-user.js";
import { createHandler } from "../functions/edge-auth/handler.js";
import { trustedProxyList } from "../edge-router/config.js";
import { createEdgeRouter } from "../edge-router/server.js";
import type { FunctionHandler } from "../shared/function-handler.js";
import { serveRequest } from "../shared/function-server.js";
import { SESSION_COOKIE, verifySession } from "../shared/session.js";
import { startGithubStandin, type GithubStandin } from "../local/github-standin/server.js";

// Issue #13: the login as a browser makes it, through the real edge router at system.localhost/auth/…, with the
// callback URL GitHub redirects to pointing at the router too. Behind the router, edge-auth is served at
// /function/edge-auth/ with serveRequest, as local/gateway.ts serves its in-process functions.
const log = pino({ level: "silent" });
const CLIENT = { clientId: "Iv1.router", clientSecret: "router-secret" };
const keys = generateKeyPairSync("ec", { namedCurve: "P-256" });
const http = axios.create({ maxRedirects: 0, validateStatus: () => true, responseType: "text" });

let github: GithubStandin;
let gateway: Server;
let router: ReturnType<typeof createEdgeRouter>;
let routerUrl: string;
let systemHost: string;

const listen = (server: Server) =>
  new Promise<number>((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)),
  );

beforeAll(async () => {
  // The gateway first (edge-auth is built below, once the router's port names the callback URL), then the router.
  const served: { handler?: FunctionHandler } = {};
  gateway = createServer((req, res) => {
    const match = /^\/function\/edge-auth(\/[^?]*)?/.exec(req.url ?? "");
    if (!match || !served.handler) return void res.writeHead(404).end("no such function");
    void serveRequest(req, res, served.handler, { path: match[1] ?? "/", maxBytes: 1024 });
  });
  const gatewayUrl = `http://127.0.0.1:${await listen(gateway)}/`;
  router = createEdgeRouter({ domain: "localhost", gatewayUrl, trustedProxies: trustedProxyList([]), log });
  const routerPort = await listen(router.server);
  routerUrl = `http://127.0.0.1:${routerPort}`;
  systemHost = `system.localhost:${routerPort}`;
  github = await startGithubStandin({
    appId: 1,
    publicKeyPem: generateKeyPairSync("rsa", {
      modulusLength: 2048,
      publicKeyEncoding: { type: "spki", format: "pem" },
      privateKeyEncoding: { type: "pkcs8", format: "pem" },
    }).publicKey,
    installations: [],
    oauth: {
      ...CLIENT,
      callbackUrl: `http://${systemHost}/auth/oauth2/authorized`,
      users: [{ id: 7, login: "dana", orgs: ["Team"] }],
    },
  });
  served.handler = createHandler({
    clientId: CLIENT.clientId,
    oauthUrl: github.url,
    publicUrl: `http://${systemHost}`,
    githubUser: createGithubUser({ oauthUrl: github.url, apiUrl: github.url, ...CLIENT, log }),
    ...keys,
    sessionTtlMs: 3600_000,
    operators: [],
    now: Date.now,
    newState: () => "router-state",
    log,
  });
});
afterAll(async () => {
  await router.close(100);
  gateway.close();
  await github.close();
});

/** A GET to the router as a browser at `url` (on system.localhost) sends it. */
const browserGet = (url: string, cookie = "") => {
  const u = new URL(url);
  expect(u.host).toBe(systemHost);
  return http.get(`${routerUrl}${u.pathname}${u.search}`, { headers: { host: systemHost, cookie } });
};
const cookieOf = (headers: Record<string, unknown>, name: string) =>
  ((headers["set-cookie"] as string[] | undefined) ?? []).find((c) => c.startsWith(`${name}=`))?.split(";")[0] ?? "";

describe("GitHub login through the edge router", () => {
  it("system.localhost/auth/login → GitHub → /auth/oauth2/authorized → both cookies pass the router; the session reads back", async () => {
    const login = await browserGet(`http://${systemHost}/auth/login?redirect=%2Fdashboard%2Fdana`);
    expect(login.status).toBe(302);
    const state = cookieOf(login.headers, "openfaas_cloud_login");
    const approved = await http.get(`${login.headers.location as string}&login=dana`);
    const done = await browserGet(approved.headers.location as string, state);
    expect([done.status, done.headers.location]).toEqual([302, "/dashboard/dana"]);
    // Two Set-Cookie headers (the session, and the spent state cleared) survive the router.
    expect((done.headers["set-cookie"] as string[]).map((c) => c.split("=")[0])).toEqual([
      SESSION_COOKIE,
      "openfaas_cloud_login",
    ]);
    const session = await verifySession(cookieOf(done.headers, SESSION_COOKIE), keys.publicKey, { nowMs: Date.now() });
    expect(session).toEqual({ userId: 7, login: "dana", orgs: ["team"] });

    const out = await browserGet(`http://${systemHost}/auth/logout`, cookieOf(done.headers, SESSION_COOKIE));
    expect([out.status, out.headers.location, cookieOf(out.headers, SESSION_COOKIE)]).toEqual([
      302,
      "/",
      `${SESSION_COOKIE}=`,
    ]);
  });
});
