import type { KeyObject } from "node:crypto";
import { jwtVerify, SignJWT } from "jose";
import { z } from "zod";
import { HttpError } from "./http-error.js";

/**
 * The session edge-auth issues after a GitHub login and every dashboard API checks (issue #13, docs/security.md):
 * an ES256 JWT in an HTTP-only cookie. The cookie name is the original's.
 */
export const SESSION_COOKIE = "openfaas_cloud_token";
const ALGORITHM = "ES256";
// Fixed, so a token signed with the same key for another purpose is still refused here.
const ISSUER = "openfaas-cloud/edge-auth";
const AUDIENCE = "openfaas-cloud/dashboard";

/** Who a verified session belongs to: the GitHub user's id and login, and their organisations' logins, lowercased. */
export type Session = { userId: number; login: string; orgs: readonly string[] };

const claims = z.object({
  sub: z.string().regex(/^[1-9][0-9]*$/),
  login: z.string().min(1),
  orgs: z.array(z.string().min(1)),
});

/** Signs `session` as the cookie's JWT, valid for `ttlMs` from `nowMs`; the GitHub user token is never part of it. */
export async function signSession(
  session: Session,
  privateKey: KeyObject,
  time: { nowMs: number; ttlMs: number },
): Promise<string> {
  const iat = Math.floor(time.nowMs / 1000);
  return new SignJWT({ login: session.login, orgs: session.orgs.map((o) => o.toLowerCase()) })
    .setProtectedHeader({ alg: ALGORITHM, typ: "JWT" })
    .setSubject(String(session.userId))
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt(iat)
    .setExpirationTime(iat + Math.floor(time.ttlMs / 1000))
    .sign(privateKey);
}

/**
 * The session in a request's Cookie header, or an HttpError 401 for anything else: no cookie, malformed, signed by
 * another key or algorithm (`alg: none` included), another issuer or audience, or expired at `nowMs`.
 */
export async function verifySession(
  cookieHeader: string | undefined,
  publicKey: KeyObject,
  opts: { nowMs: number },
): Promise<Session> {
  const token = readCookie(cookieHeader, SESSION_COOKIE);
  if (!token) throw new HttpError(401, "not logged in: no session cookie");
  let payload: unknown;
  try {
    ({ payload } = await jwtVerify(token, publicKey, {
      algorithms: [ALGORITHM],
      issuer: ISSUER,
      audience: AUDIENCE,
      currentDate: new Date(opts.nowMs),
      requiredClaims: ["exp", "iat", "sub"],
    }));
  } catch (error) {
    const expired = (error as { code?: string }).code === "ERR_JWT_EXPIRED";
    throw new HttpError(401, expired ? "session expired: log in again" : "invalid session", { cause: error });
  }
  const parsed = claims.safeParse(payload);
  if (!parsed.success) throw new HttpError(401, "invalid session", { cause: parsed.error });
  return { userId: Number(parsed.data.sub), login: parsed.data.login, orgs: parsed.data.orgs };
}

/**
 * Whether `session` may see `owner`'s functions: its own login, an organisation the user belongs to, or any owner
 * when the user is one of `operators` (the `operators` setting, split by {@link operatorList}).
 */
export function mayView(session: Session, owner: string, operators: readonly string[]): boolean {
  const who = session.login.toLowerCase();
  const target = owner.toLowerCase();
  return who === target || session.orgs.includes(target) || operators.some((o) => o.toLowerCase() === who);
}

/** The `operators` setting ("alice, bob") as lowercased logins; empty when unset. */
export function operatorList(setting: string): string[] {
  return setting
    .split(",")
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
}

/** One cookie's value from a Cookie header (RFC 6265 §5.4: `name=value` pairs separated by "; "). */
export function readCookie(header: string | undefined, name: string): string | undefined {
  // Stryker disable next-line StringLiteral: any text without "=" stands in for a missing header alike
  for (const pair of (header ?? "").split(";")) {
    const eq = pair.indexOf("=");
    // Stryker disable next-line EqualityOperator: at eq 0 the name is "", which never equals a cookie's name
    if (eq > 0 && pair.slice(0, eq).trim() === name) return pair.slice(eq + 1).trim() || undefined;
  }
  return undefined;
}
