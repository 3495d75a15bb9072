import { createHash, timingSafeEqual, type KeyObject } from "node:crypto";
import type { FunctionEvent, Reply } from "../../shared/function-handler.js";
import { HttpError } from "../../shared/http-error.js";
import { readCookie, SESSION_COOKIE, signSession, verifySession, type Session } from "../../shared/session.js";

/** What the login flow needs; `now` (epoch ms) and `newState` are injected so tests fix them. */
export interface LoginFlowDeps {
  clientId: string;
  /** GitHub's web host (github_oauth_url), where the browser is sent to approve. */
  oauthUrl: string;
  /** The system's public address (system_public_url); the callback is `<it>/auth/oauth2/authorized`. */
  publicUrl: string;
  githubUser: (code: string, redirectUri: string) => Promise<Session>;
  privateKey: KeyObject;
  publicKey: KeyObject;
  sessionTtlMs: number;
  operators: readonly string[];
  now: () => number;
  newState: () => string;
}

// The state cookie: sha256(state) and the page to return to, for the 10 minutes GitHub keeps a code alive.
const STATE_COOKIE = "openfaas_cloud_login";
const STATE_TTL_S = 600;
/** The public path prefix edge-auth is routed at (edge-router/system-routes.ts `auth`). */
export const AUTH_PREFIX = "/auth";

/** `redirect` when it is a path on this site; anything that could leave it (`//host`, a scheme, `\`) is a 400. */
export function safeRedirect(redirect: string | undefined): string {
  if (redirect === undefined || redirect === "") return "/";
  // Browsers read "\" as "/" and drop tabs and newlines, so "/\evil.com" would leave: refuse them outright. What
  // is left, one "/" and no "//" at the start, is a path on this host (issue #12: a parsed-origin check here was
  // redundant with the "//" one; a protocol-relative "//<host>" is the only way a "/" path leaves).
  if (!redirect.startsWith("/") || redirect.startsWith("//") || /[\\\s\p{Cc}]/u.test(redirect)) {
    throw new HttpError(400, "redirect must be a path on this site, such as /dashboard");
  }
  return redirect;
}

const sha256 = (value: string) => createHash("sha256").update(value).digest();

/**
 * The login routes (issue #13, docs/security.md), each a GET under /auth: `login` sends the browser to GitHub with
 * a state bound to it by cookie, `oauth2/authorized` checks that state and sets the session cookie, `logout` clears
 * it, `me` says who the session is (for the dashboard).
 */
export function createLoginFlow(deps: LoginFlowDeps) {
  const publicUrl = deps.publicUrl.replace(/\/+$/, "");
  const callbackUrl = `${publicUrl}${AUTH_PREFIX}/oauth2/authorized`;
  const secure = publicUrl.startsWith("https:") ? "; Secure" : "";
  // Host-only (no Domain): the cookie goes to system.<domain> alone, never to the owners' function hosts.
  const cookie = (name: string, value: string, maxAgeS: number) =>
    `${name}=${value}; Max-Age=${maxAgeS}; Path=/; HttpOnly; SameSite=Lax${secure}`;
  const redirect = (location: string, setCookie: string[]): Reply => ({
    status: 302,
    body: "",
    // Two cookies in one answer: node's writeHead and the template's res.set both take a list.
    headers: { location, "set-cookie": setCookie as unknown as string, "cache-control": "no-store" },
  });

  function login(event: FunctionEvent): Reply {
    const back = safeRedirect(event.query.redirect);
    const state = deps.newState();
    const url = new URL(`${deps.oauthUrl.replace(/\/+$/, "")}/login/oauth/authorize`);
    url.search = new URLSearchParams({
      client_id: deps.clientId,
      redirect_uri: callbackUrl,
      state,
      scope: "read:org",
    }).toString();
    const value = `${sha256(state).toString("base64url")}.${Buffer.from(back).toString("base64url")}`;
    return redirect(url.toString(), [cookie(STATE_COOKIE, value, STATE_TTL_S)]);
  }

  async function authorized(event: FunctionEvent): Promise<Reply> {
    // Stryker disable next-line StringLiteral: any text without a 32-byte hash before a "." is refused like no cookie
    const stateCookie = readCookie(event.headers.cookie, STATE_COOKIE) ?? "";
    // split() always yields a first element.
    const [hash, saved] = stateCookie.split(".") as [string, string?];
    // Stryker disable next-line StringLiteral: a missing state fails the hash check whatever text stands in for it
    const state = event.query.state ?? "";
    const expected = Buffer.from(hash, "base64url");
    if (!state || expected.length !== 32 || !timingSafeEqual(expected, sha256(state))) {
      throw new HttpError(403, "login state does not match this browser: start again at /auth/login");
    }
    if (event.query.error) throw new HttpError(401, `GitHub did not log you in (${event.query.error})`);
    if (!event.query.code) throw new HttpError(400, "the callback has no code: start again at /auth/login");
    const back = safeRedirect(Buffer.from(saved ?? "", "base64url").toString());
    const session = await deps.githubUser(event.query.code, callbackUrl);
    const jwt = await signSession(session, deps.privateKey, { nowMs: deps.now(), ttlMs: deps.sessionTtlMs });
    const ttlS = Math.floor(deps.sessionTtlMs / 1000);
    return redirect(back, [cookie(SESSION_COOKIE, jwt, ttlS), cookie(STATE_COOKIE, "", 0)]);
  }

  async function me(event: FunctionEvent): Promise<Reply> {
    const session = await verifySession(event.headers.cookie, deps.publicKey, { nowMs: deps.now() });
    const operator = deps.operators.includes(session.login.toLowerCase());
    return { status: 200, body: { ...session, operator }, headers: { "cache-control": "no-store" } };
  }

  return async function route(event: FunctionEvent): Promise<Reply> {
    if (event.method !== "GET") throw new HttpError(405, "edge-auth answers GET only");
    switch (event.path.replace(/\/+$/, "")) {
      case "/login":
        return login(event);
      case "/oauth2/authorized":
        return authorized(event);
      case "/logout":
        return redirect("/", [cookie(SESSION_COOKIE, "", 0)]);
      case "/me":
        return me(event);
      default:
        throw new HttpError(404, `no such path: ${AUTH_PREFIX}/login, /logout, /oauth2/authorized and /me exist`);
    }
  };
}
