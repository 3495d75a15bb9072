import { generateKeyPairSync } from "node:crypto";
import axios from "axios";
import pino from "pino";
import { createHandler } from "../functions/edge-auth/handler.js";
import { createGithubUser } from "../functions/edge-auth/github-user.js";
import { serveFunction, type FunctionServer } from "../shared/function-server.js";
import { mayView, SESSION_COOKIE, verifySession } from "../shared/session.js";
import { startGithubStandin, type GithubStandin } from "../local/github-standin/server.js";

// Issue #13: the OAuth round trip against the strict GitHub stand-in, over real HTTP. edge-auth is served as its
// image serves it; the router's /auth prefix (edge-router/system-routes.ts) is stripped here as the router strips it.
const PUBLIC_URL = "https://system.example.test";
const CALLBACK = `${PUBLIC_URL}/auth/oauth2/authorized`;
const CLIENT = { clientId: "Iv1.0123456789abcdef", clientSecret: "s3cret-client" };
const USERS = [
  { id: 1001, login: "Alice", orgs: ["Acme"] },
  { id: 1002, login: "bob", orgs: [] },
];
const keys = generateKeyPairSync("ec", { namedCurve: "P-256" });
const log = pino({ level: "silent" });
const http = axios.create({ maxRedirects: 0, validateStatus: () => true, responseType: "text" });

let github: GithubStandin;
let edgeAuth: FunctionServer;
let now = 1_800_000_000_000;

beforeAll(async () => {
  github = await startGithubStandin({
    appId: 1,
    publicKeyPem: generateKeyPairSync("rsa", {
      modulusLength: 2048,
      publicKeyEncoding: { type: "spki", format: "pem" },
      privateKeyEncoding: { type: "pkcs8", format: "pem" },
    }).publicKey,
    installations: [],
    now: () => now,
    oauth: { ...CLIENT, callbackUrl: CALLBACK, users: USERS },
  });
  edgeAuth = await serveFunction(
    createHandler({
      clientId: CLIENT.clientId,
      oauthUrl: github.url,
      publicUrl: PUBLIC_URL,
      githubUser: createGithubUser({ oauthUrl: github.url, apiUrl: github.url, ...CLIENT, log }),
      ...keys,
      sessionTtlMs: 12 * 3600 * 1000,
      operators: ["carol"],
      now: () => now,
      newState: () => `state-${now}`,
      log,
    }),
  );
});
afterAll(async () => {
  await edgeAuth.close();
  await github.close();
});

/** `Set-Cookie` values as name → the whole header line. */
function setCookies(headers: Record<string, unknown>): Map<string, string> {
  const lines = (headers["set-cookie"] as string[] | undefined) ?? [];
  return new Map(lines.map((line) => [line.split("=")[0]!, line]));
}
const cookiePair = (line: string | undefined) => line?.split(";")[0] ?? "";

/** /auth/login → GitHub's authorize URL (approved as `login`) → the callback URL: what the browser would carry. */
async function startLogin(login: string, redirect = "/dashboard") {
  const start = await http.get(`${edgeAuth.url}/login?redirect=${encodeURIComponent(redirect)}`);
  expect(start.status).toBe(302);
  const stateCookie = cookiePair(setCookies(start.headers).get("openfaas_cloud_login"));
  const approve = await http.get(`${start.headers.location as string}&login=${login}`);
  expect(approve.status).toBe(302);
  const callback = new URL(approve.headers.location as string);
  return { start, stateCookie, callback };
}

/** Calls edge-auth's callback with the callback URL's query, as the router would route it. */
function callBack(callback: URL, cookie: string) {
  expect(`${callback.origin}${callback.pathname}`).toBe(CALLBACK);
  return http.get(`${edgeAuth.url}/oauth2/authorized${callback.search}`, { headers: { cookie } });
}

describe("edge-auth against the GitHub stand-in", () => {
  it("login → authorize → callback → a session cookie verifySession reads as the user with their orgs", async () => {
    const { start, stateCookie, callback } = await startLogin("alice");
    const authorize = new URL(start.headers.location as string);
    expect(`${authorize.origin}${authorize.pathname}`).toBe(`${github.url}/login/oauth/authorize`);
    expect(Object.fromEntries(authorize.searchParams)).toEqual({
      client_id: CLIENT.clientId,
      redirect_uri: CALLBACK,
      state: `state-${now}`,
      scope: "read:org",
    });
    expect(setCookies(start.headers).get("openfaas_cloud_login")).toMatch(
      /; Max-Age=600; Path=\/; HttpOnly; SameSite=Lax; Secure$/,
    );

    const done = await callBack(callback, stateCookie);
    expect(done.status).toBe(302);
    expect(done.headers.location).toBe("/dashboard");
    const session = setCookies(done.headers).get(SESSION_COOKIE)!;
    expect(session).toMatch(/; Max-Age=43200; Path=\/; HttpOnly; SameSite=Lax; Secure$/);
    expect(session).not.toMatch(/Domain=/i);
    expect(setCookies(done.headers).get("openfaas_cloud_login")).toMatch(/^openfaas_cloud_login=; Max-Age=0;/);
    const user = await verifySession(cookiePair(session), keys.publicKey, { nowMs: now });
    expect(user).toEqual({ userId: 1001, login: "Alice", orgs: ["acme"] });
    expect([mayView(user, "alice", []), mayView(user, "acme", []), mayView(user, "bob", [])]).toEqual([
      true,
      true,
      false,
    ]);
    // The GitHub user token is nowhere in what the browser gets.
    const token = github.calls.find((c) => c.path === "/user")?.headers.authorization?.split(" ")[1];
    expect(token).toMatch(/^ghu_/);
    expect(JSON.stringify(done.headers) + String(done.data)).not.toContain(token);

    const me = await http.get(`${edgeAuth.url}/me`, { headers: { cookie: cookiePair(session) } });
    expect([me.status, JSON.parse(me.data as string)]).toEqual([
      200,
      { userId: 1001, login: "Alice", orgs: ["acme"], operator: false },
    ]);
  });

  it("an expired session cookie → /me 401 session expired", async () => {
    const { stateCookie, callback } = await startLogin("bob");
    const session = cookiePair(setCookies((await callBack(callback, stateCookie)).headers).get(SESSION_COOKIE));
    now += 12 * 3600 * 1000 + 1000;
    const me = await http.get(`${edgeAuth.url}/me`, { headers: { cookie: session } });
    expect([me.status, me.data]).toEqual([401, "session expired: log in again"]);
  });

  it.each([
    ["no state cookie", (_c: string) => ""],
    ["another browser's state cookie", (_c: string) => "openfaas_cloud_login=AAAA.Lw"],
  ])("callback with %s → 403, and no session", async (_name, cookie) => {
    const { stateCookie, callback } = await startLogin("alice");
    const res = await callBack(callback, cookie(stateCookie));
    expect([res.status, res.data]).toEqual([
      403,
      "login state does not match this browser: start again at /auth/login",
    ]);
    expect(setCookies(res.headers).has(SESSION_COOKIE)).toBe(false);
  });

  it("callback with the state changed or removed → 403", async () => {
    const { stateCookie, callback } = await startLogin("alice");
    const forged = new URL(callback);
    forged.searchParams.set("state", "attacker-state");
    expect((await callBack(forged, stateCookie)).status).toBe(403);
    forged.searchParams.delete("state");
    expect((await callBack(forged, stateCookie)).status).toBe(403);
  });

  it("the same code twice → the second is refused by the stand-in (bad_verification_code) and gets no session", async () => {
    const { stateCookie, callback } = await startLogin("alice");
    expect((await callBack(callback, stateCookie)).status).toBe(302);
    const again = await callBack(callback, stateCookie);
    expect([again.status, again.data]).toEqual([401, "GitHub refused the login (bad_verification_code): log in again"]);
    expect(setCookies(again.headers).has(SESSION_COOKIE)).toBe(false);
  });

  it.each(["//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)", "evil", "/\t/evil"])(
    "/login?redirect=%j → 400, no redirect to another site",
    async (redirect) => {
      const res = await http.get(`${edgeAuth.url}/login?redirect=${encodeURIComponent(redirect)}`);
      expect([res.status, res.data]).toEqual([400, "redirect must be a path on this site, such as /dashboard"]);
    },
  );

  it("/logout → clears the session cookie and 302 to /", async () => {
    const res = await http.get(`${edgeAuth.url}/logout`);
    expect(res.status).toBe(302);
    expect(res.headers.location).toBe("/");
    expect(setCookies(res.headers).get(SESSION_COOKIE)).toMatch(/^openfaas_cloud_token=; Max-Age=0; Path=\/; HttpOnly/);
  });
});

describe("the stand-in's OAuth is as strict as GitHub", () => {
  const exchange = (body: Record<string, string>) =>
    axios.post<Record<string, string>>(`${github.url}/login/oauth/access_token`, body, {
      headers: { accept: "application/json" },
    });
  async function code(login = "alice") {
    const { callback } = await startLogin(login);
    return callback.searchParams.get("code")!;
  }

  it("a wrong client secret → 200 incorrect_client_credentials, no token", async () => {
    const c = await code();
    const res = await exchange({ client_id: CLIENT.clientId, client_secret: "wrong", code: c });
    expect([res.status, res.data.error]).toEqual([200, "incorrect_client_credentials"]);
    expect(res.data.access_token).toBeUndefined();
  });

  it("a redirect_uri other than the code's → redirect_uri_mismatch", async () => {
    const res = await exchange({ ...snake(CLIENT), code: await code(), redirect_uri: `${PUBLIC_URL}/elsewhere` });
    expect(res.data.error).toBe("redirect_uri_mismatch");
  });

  it("a code older than 10 minutes → bad_verification_code", async () => {
    const c = await code();
    now += 10 * 60 * 1000;
    expect((await exchange({ ...snake(CLIENT), code: c })).data.error).toBe("bad_verification_code");
  });

  it("authorize with an unregistered redirect_uri → back to the registered callback with redirect_uri_mismatch", async () => {
    const res = await http.get(
      `${github.url}/login/oauth/authorize?client_id=${CLIENT.clientId}&redirect_uri=https%3A%2F%2Fevil.example%2F&state=s&login=alice`,
    );
    const back = new URL(res.headers.location as string);
    expect([res.status, `${back.origin}${back.pathname}`, back.searchParams.get("error")]).toEqual([
      302,
      CALLBACK,
      "redirect_uri_mismatch",
    ]);
    expect(back.searchParams.has("code")).toBe(false);
  });

  it("an exchange without Accept: application/json → GitHub's form-encoded answer, not JSON", async () => {
    const res = await http.post(
      `${github.url}/login/oauth/access_token`,
      {
        ...snake(CLIENT),
        code: await code(),
      },
      { headers: { accept: "*/*" } },
    );
    expect(res.headers["content-type"]).toMatch(/^application\/x-www-form-urlencoded/);
    expect(new URLSearchParams(res.data as string).get("access_token")).toMatch(/^ghu_/);
  });

  it("/user and /user/orgs without a live user token → 401 Bad credentials", async () => {
    for (const path of ["/user", "/user/orgs"]) {
      const res = await http.get(`${github.url}${path}`, { headers: { authorization: "token ghu_forged" } });
      expect([res.status, JSON.parse(res.data as string)]).toEqual([401, { message: "Bad credentials" }]);
    }
  });

  it("authorize without login= (a browser, npm start's local login, issue #14) → a page whose link signs in", async () => {
    const start = await http.get(`${edgeAuth.url}/login?redirect=%2Fdashboard%2Fbob`);
    const stateCookie = cookiePair(setCookies(start.headers).get("openfaas_cloud_login"));
    const page = await http.get(start.headers.location as string);
    expect([page.status, page.headers["content-type"]]).toEqual([200, "text/html; charset=utf-8"]);
    const links = [...(page.data as string).matchAll(/<a href="([^"]+)">Sign in as ([^<]+)<\/a>/g)];
    expect(links.map((m) => m[2])).toEqual(["Alice", "bob"]);
    const approve = await http.get(`${github.url}${links[1]![1]!.replaceAll("&amp;", "&")}`);
    const done = await callBack(new URL(approve.headers.location as string), stateCookie);
    expect([done.status, done.headers.location]).toEqual([302, "/dashboard/bob"]);
    const session = cookiePair(setCookies(done.headers).get(SESSION_COOKIE));
    expect((await verifySession(session, keys.publicKey, { nowMs: now })).login).toBe("bob");
  });
});

function snake(c: typeof CLIENT) {
  return { client_id: c.clientId, client_secret: c.clientSecret };
}
