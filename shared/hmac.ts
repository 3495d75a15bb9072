import { createHmac, timingSafeEqual } from "node:crypto";
import { verify as verifyWebhook } from "@octokit/webhooks-methods";
import { HttpError } from "./http-error.js";

/** Header GitHub signs webhooks with (HMAC-SHA256; the SHA-1 X-Hub-Signature is never accepted). */
export const GITHUB_SIGNATURE_HEADER = "x-hub-signature-256";
/** Header every internal hop is signed with (DESIGN §2): `t=<unix seconds>,sha256=<hex>`, see {@link signHop}. */
export const CLOUD_SIGNATURE_HEADER = "x-cloud-signature-256";

/** How old a signed hop may be when it arrives; older ones are refused as replays (issue #10). */
export const HOP_MAX_AGE_MS = 5 * 60_000;
/** How far in the future a hop's timestamp may be: clocks of two pods are not exactly in step. */
const HOP_MAX_SKEW_MS = 60_000;
/**
 * How old a hop delivered through the async queue may be (git-tar from github-push, garbage-collect from
 * github-event): it was signed when queued and may wait behind other builds. A replay inside the hour rebuilds the
 * same commit (refused as superseded once the branch moved on); a push that waited longer ends in an `error`
 * status through github-push's queue callback, and the user pushes again.
 */
export const QUEUED_HOP_MAX_AGE_MS = 60 * 60_000;

/**
 * Verifies GitHub's X-Hub-Signature-256 over the exact body bytes. A missing header, an empty body or a
 * non-UTF-8 body is `false`, never a pass.
 */
export async function verifyGithubSignature(
  secret: string,
  body: Buffer,
  signature: string | undefined,
): Promise<boolean> {
  if (!signature || body.length === 0) return false;
  const text = body.toString("utf8");
  // GitHub sends UTF-8 JSON; a body that does not survive the round trip cannot be the one GitHub signed.
  if (!Buffer.from(text, "utf8").equals(body)) return false;
  return verifyWebhook(secret, text, signature);
}

/** Signs bytes for an internal hop: `sha256=<hex HMAC-SHA256(body, payload-secret)>`. */
export function signPayload(secret: string, body: Buffer | string): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

/**
 * An X-Cloud-Signature-256 check fed chunk by chunk, for bodies too large to hold in memory (of-builder's tars).
 * `matches` compares in constant time; a missing or malformed header is `false`.
 */
export function createPayloadVerifier(secret: string): {
  update(chunk: Buffer): void;
  matches(signature: string | undefined): boolean;
} {
  const hmac = createHmac("sha256", secret);
  return {
    update: (chunk) => void hmac.update(chunk),
    matches(signature) {
      if (!signature) return false;
      const expected = Buffer.from(`sha256=${hmac.digest("hex")}`);
      const given = Buffer.from(signature);
      return given.length === expected.length && timingSafeEqual(given, expected);
    },
  };
}

/**
 * Verifies an X-Cloud-Signature-256 over the exact bytes (binary tars included, which is why this is not
 * webhooks-methods: it takes strings only). Constant time; a missing or malformed header is `false`.
 */
export function verifyPayload(secret: string, body: Buffer | string, signature: string | undefined): boolean {
  const verifier = createPayloadVerifier(secret);
  verifier.update(Buffer.isBuffer(body) ? body : Buffer.from(body));
  return verifier.matches(signature);
}

/** When a hop was signed and for whom; the verifier's view of the clock. */
export interface HopCheck {
  nowMs?: number;
  /** Default {@link HOP_MAX_AGE_MS}; stages fed by the async queue allow longer (a push may wait its turn there). */
  maxAgeMs?: number;
}

// The signed bytes are `<t>.<target>.<body>`: binding the receiving function's name means a hop signed for
// garbage-collect cannot be replayed against buildshiprun, and the timestamp bounds how long a captured hop works.
const hopPrefix = (t: number, target: string) => `${t}.${target}.`;

/**
 * Signs bytes for one internal hop to `target` (the receiving function's name, or "of-builder"):
 * `t=<unix seconds>,sha256=<hex HMAC-SHA256(secret, "<t>.<target>." + body)>`.
 */
export function signHop(secret: string, target: string, body: Buffer | string, nowMs = Date.now()): string {
  const t = Math.floor(nowMs / 1000);
  const hmac = createHmac("sha256", secret).update(hopPrefix(t, target)).update(body);
  return `t=${t},sha256=${hmac.digest("hex")}`;
}

/** A parsed, still unverified hop header; undefined when it is missing, malformed, too old or from the future. */
function readHopHeader(header: string | undefined, check: HopCheck): { t: number; signature: string } | undefined {
  // Stryker disable next-line StringLiteral: any text the pattern refuses stands in for a missing header alike.
  const match = /^t=(\d{1,12}),(sha256=[0-9a-f]{64})$/.exec(header ?? "");
  if (!match) return undefined;
  const t = Number(match[1]);
  const now = check.nowMs ?? Date.now();
  const age = now - t * 1000;
  if (age > (check.maxAgeMs ?? HOP_MAX_AGE_MS) || age < -HOP_MAX_SKEW_MS) return undefined;
  return { t, signature: match[2] as string };
}

/**
 * A streaming hop check for bodies too large to hold (of-builder's tars). `ready` is false when the header alone
 * already fails (missing, malformed, stale), so the caller can refuse before reading a byte of the body.
 */
export function createHopVerifier(
  secret: string,
  target: string,
  header: string | undefined,
  check: HopCheck = {},
): { ready: boolean; update(chunk: Buffer): void; matches(): boolean } {
  const parsed = readHopHeader(header, check);
  const verifier = createPayloadVerifier(secret);
  if (parsed) verifier.update(Buffer.from(hopPrefix(parsed.t, target)));
  return {
    ready: parsed !== undefined,
    update: (chunk) => verifier.update(chunk),
    matches: () => parsed !== undefined && verifier.matches(parsed.signature),
  };
}

/** Verifies a hop header for `target` over the exact body bytes, in constant time; stale or re-targeted is false. */
export function verifyHop(
  secret: string,
  target: string,
  body: Buffer | string,
  header: string | undefined,
  check: HopCheck = {},
): boolean {
  const verifier = createHopVerifier(secret, target, header, check);
  // Stryker disable next-line ConditionalExpression: matches() is false too when not ready; this only skips hashing.
  if (!verifier.ready) return false;
  verifier.update(Buffer.isBuffer(body) ? body : Buffer.from(body));
  return verifier.matches();
}

/** Refuses (401) a request that is not a fresh hop signed for `target`: the first line of every internal stage. */
export function requireHop(
  secret: string,
  target: string,
  event: { body: Buffer; headers: Readonly<Record<string, string | undefined>> },
  check: HopCheck = {},
): void {
  if (!verifyHop(secret, target, event.body, event.headers[CLOUD_SIGNATURE_HEADER], check)) {
    throw new HttpError(401, `invalid, stale or missing X-Cloud-Signature-256 for ${target}`);
  }
}
