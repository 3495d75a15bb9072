import { createHmac, timingSafeEqual } from "node:crypto";
import { verify as verifyWebhook } from "@octokit/webhooks-methods";

/** Header GitHub signs webhooks with (HMAC-SHA256; the SHA-1 X-Hub-Signature is never accepted). */
export const GITHUB_SIGNATURE_HEADER = "x-hub-signature-256";
/** Header every internal hop is signed with (DESIGN §2). */
export const CLOUD_SIGNATURE_HEADER = "x-cloud-signature-256";

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
