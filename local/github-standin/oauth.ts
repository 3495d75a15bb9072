import { randomBytes } from "node:crypto";
import type { JsonReply, JsonRequest } from "./json-server.js";

const ENTITIES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
const escapeHtml = (value: string) => value.replace(/[&<>"']/g, (c) => ENTITIES[c] ?? c);

/** A GitHub user who can log in through the stand-in, and the organisations they belong to. */
export type OAuthUser = { id: number; login: string; orgs: string[] };
/** The App's OAuth client as registered on GitHub, and the users who may approve it. */
export type OAuthOptions = { clientId: string; clientSecret: string; callbackUrl: string; users: OAuthUser[] };

// GitHub's documented lifetimes: a code lives 10 minutes and is good once; an App's user token, 8 hours.
const CODE_LIFETIME_MS = 10 * 60 * 1000;
const USER_TOKEN_LIFETIME_MS = 8 * 3600 * 1000;
const DOCS = "https://docs.github.com/apps/managing-oauth-apps";
const REDIRECT_MISMATCH = "The redirect_uri MUST match the registered callback URL for this application.";
const BAD_CREDENTIALS: JsonReply = { status: 401, body: { message: "Bad credentials" } };

/**
 * The token exchange's answer in the form the Accept header asks for: JSON only when asked, else GitHub's default,
 * a form-encoded body, which a client expecting JSON cannot read.
 */
function asAccepted(req: JsonRequest, reply: JsonReply): JsonReply {
  if (/json/i.test(req.headers.accept ?? "")) return reply;
  const text = new URLSearchParams(
    Object.entries(reply.body as Record<string, string | number>).map(([k, v]) => [k, String(v)]),
  ).toString();
  return { ...reply, text, headers: { "content-type": "application/x-www-form-urlencoded; charset=utf-8" } };
}

/** GitHub's token-exchange errors come back as 200 with an `error` field (docs: troubleshooting … request errors). */
function exchangeError(error: string, description: string, anchor: string): JsonReply {
  const error_uri = `${DOCS}/troubleshooting-oauth-app-access-token-request-errors/#${anchor}`;
  return { status: 200, body: { error, error_description: description, error_uri } };
}

/**
 * GitHub's web login for the App's OAuth client (issue #13), as strict as GitHub: authorize, code exchange with the
 * client secret (codes single use, expiring, bound to their redirect_uri), and `/user`, `/user/orgs` with the user
 * token. Approval is the browser's on GitHub; here a test names the approving user with `login=<user>` on the
 * authorize URL, a parameter only the stand-in reads; a browser without it gets a page of "Sign in as <user>" links.
 */
export function createOAuth(options: OAuthOptions, now: () => number) {
  const codes = new Map<string, { user: OAuthUser; redirectUri: string; expiresAt: number }>();
  const tokens = new Map<string, { user: OAuthUser; expiresAt: number }>();

  function authorize(query: URLSearchParams): JsonReply {
    if (query.get("client_id") !== options.clientId) return { status: 404, body: { message: "Not Found" } };
    const redirectUri = query.get("redirect_uri") ?? options.callbackUrl;
    const state = query.get("state");
    const back = (params: Record<string, string>, to = redirectUri): JsonReply => {
      const url = new URL(to);
      for (const [k, v] of Object.entries({ ...params, ...(state === null ? {} : { state }) }))
        url.searchParams.set(k, v);
      return { status: 302, body: {}, headers: { location: url.toString() } };
    };
    // A redirect_uri other than the registered callback goes back to the callback with an error, as GitHub does.
    if (redirectUri !== options.callbackUrl) {
      return back({ error: "redirect_uri_mismatch", error_description: REDIRECT_MISMATCH }, options.callbackUrl);
    }
    const login = query.get("login");
    // A browser arrives without login=: GitHub would show its "Authorize" page; the stand-in shows one button per user.
    if (login === null) return authorizePage(query);
    const user = options.users.find((u) => u.login.toLowerCase() === login.toLowerCase());
    if (!user)
      return back({ error: "access_denied", error_description: "The user has denied your application access." });
    const code = randomBytes(10).toString("hex");
    codes.set(code, { user, redirectUri, expiresAt: now() + CODE_LIFETIME_MS });
    return back({ code });
  }

  /**
   * The local login of `npm start` (issue #14 item 4): instead of GitHub's approval, a page that signs in as one of
   * the stand-in's users, each a link to this same authorize URL with `login=<user>` added.
   */
  function authorizePage(query: URLSearchParams): JsonReply {
    const items = options.users.map((u) => {
      const approve = new URLSearchParams(query);
      approve.set("login", u.login);
      const href = escapeHtml(`/login/oauth/authorize?${approve.toString()}`);
      return `<li><a href="${href}">Sign in as ${escapeHtml(u.login)}</a></li>`;
    });
    const text = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · local GitHub stand-in</title></head>
<body><main><h1>Sign in to OpenFaaS Cloud (local)</h1>
<p>This is the local GitHub stand-in of <code>npm start</code>: no GitHub account is needed. Choose who to be:</p>
<ul>${items.join("")}</ul></main></body></html>
`;
    const headers = {
      "content-type": "text/html; charset=utf-8",
      "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
    };
    return { status: 200, body: {}, text, headers };
  }

  function exchange(req: JsonRequest): JsonReply {
    return asAccepted(req, exchangeJson(req));
  }

  function exchangeJson(req: JsonRequest): JsonReply {
    const form = /json/i.test(req.headers["content-type"] ?? "")
      ? new URLSearchParams(req.body as Record<string, string>)
      : new URLSearchParams(req.raw);
    const param = (name: string) => form.get(name) ?? req.query.get(name);
    if (param("client_id") !== options.clientId || param("client_secret") !== options.clientSecret) {
      return exchangeError(
        "incorrect_client_credentials",
        "The client_id and/or client_secret passed are incorrect.",
        "incorrect-client-credentials",
      );
    }
    const code = param("code") ?? "";
    const grant = codes.get(code);
    codes.delete(code); // single use, whatever the outcome
    if (!grant || grant.expiresAt <= now()) {
      return exchangeError(
        "bad_verification_code",
        "The code passed is incorrect or expired.",
        "bad-verification-code",
      );
    }
    const redirectUri = param("redirect_uri");
    if (redirectUri !== null && redirectUri !== grant.redirectUri) {
      return exchangeError("redirect_uri_mismatch", REDIRECT_MISMATCH, "redirect-uri-mismatch");
    }
    const token = `ghu_${randomBytes(18).toString("hex")}`;
    tokens.set(token, { user: grant.user, expiresAt: now() + USER_TOKEN_LIFETIME_MS });
    const refresh_token = `ghr_${randomBytes(30).toString("hex")}`;
    const lifetimes = { expires_in: USER_TOKEN_LIFETIME_MS / 1000, refresh_token_expires_in: 15_811_200 };
    return { status: 200, body: { access_token: token, ...lifetimes, refresh_token, token_type: "bearer", scope: "" } };
  }

  function asUser(req: JsonRequest, then: (user: OAuthUser) => unknown): JsonReply {
    const token = /^(?:token|bearer)\s+(\S+)$/i.exec(req.headers.authorization ?? "")?.[1];
    const grant = token === undefined ? undefined : tokens.get(token);
    if (!grant || grant.expiresAt <= now()) return BAD_CREDENTIALS;
    return { status: 200, body: then(grant.user) };
  }

  const userBody = (u: OAuthUser) => ({ login: u.login, id: u.id, type: "User", site_admin: false });
  const orgBody = (login: string, i: number) => ({ login, id: 5000 + i, description: null });

  /** The reply when `req` is one of GitHub's OAuth or user routes; undefined for any other route. */
  return function handle(req: JsonRequest): JsonReply | undefined {
    const route = `${req.method} ${req.path}`;
    if (route === "GET /login/oauth/authorize") return authorize(req.query);
    if (route === "POST /login/oauth/access_token") return exchange(req);
    if (route === "GET /user") return asUser(req, userBody);
    if (route === "GET /user/orgs") return asUser(req, (u) => u.orgs.map(orgBody));
    return undefined;
  };
}
