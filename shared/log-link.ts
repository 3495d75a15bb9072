import { timingSafeEqual } from "node:crypto";
import { logLinkSignature, normalizeLogKey, type LogKey } from "./log-store.js";

/**
 * The public link to a build log, for failure statuses (DESIGN §2):
 * `<gateway_public_url>function/pipeline-log?owner=&repo=&sha=&function=&sig=`. The signature makes the link
 * unguessable, so the logs of private repositories cannot be enumerated.
 */
export function buildLogUrl(publicGatewayUrl: string, secret: string, key: LogKey): string {
  const base = publicGatewayUrl.endsWith("/") ? publicGatewayUrl : `${publicGatewayUrl}/`;
  const k = normalizeLogKey(key);
  const query = new URLSearchParams({ ...k, sig: logLinkSignature(secret, k) });
  return `${base}function/pipeline-log?${query.toString()}`;
}

/** Checks a link's signature in constant time; a missing or malformed one is `false`. */
export function verifyLogLink(secret: string, key: LogKey, signature: string | undefined): boolean {
  if (!signature) return false;
  const expected = Buffer.from(logLinkSignature(secret, key));
  const given = Buffer.from(signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
