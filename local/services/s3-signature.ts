import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";

/** The one key pair the local S3 accepts (issue #10). */
export interface S3Keys {
  accessKey: string;
  secretKey: string;
}

/** A request as it arrived: method, raw path and query, headers (lower-case names, as node gives them). */
export interface SignedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}

/** Why a request is refused, with the S3 error code a client understands (all of them are 403s). */
export interface S3Refusal {
  code: "AccessDenied" | "InvalidAccessKeyId" | "SignatureDoesNotMatch" | "RequestTimeTooSkewed";
  message: string;
}

const ALGORITHM = "AWS4-HMAC-SHA256";
// S3's own limit on the distance between x-amz-date and the server's clock.
const MAX_SKEW_MS = 15 * 60_000;
const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

/**
 * Checks an AWS Signature Version 4 `Authorization` header (the form the minio client sends) against `keys`:
 * the access key, the scope, x-amz-date within 15 minutes of `now`, and the signature over the canonical request.
 * Returns undefined for a request signed with `keys`, else why not. Unsigned, presigned-URL and V2 requests are
 * refused: the local runtime's only clients are the minio client and the operator.
 *
 * The payload is not hashed here: the signature covers the x-amz-content-sha256 header, not the bytes that follow,
 * so a party that captured a signed request could replay it with another body for 15 minutes. Capturing needs
 * the loopback traffic, which user containers cannot sniff (no CAP_NET_RAW, docs/local-services.md).
 */
export function checkSignature(request: SignedRequest, keys: S3Keys, now: Date): S3Refusal | undefined {
  const header = request.headers.authorization;
  if (header === undefined) return deny("AccessDenied", "Anonymous access is not allowed: sign the request");
  const match = /^AWS4-HMAC-SHA256 Credential=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]{64})$/.exec(
    header.trim(),
  );
  if (!match) return deny("AccessDenied", `Only ${ALGORITHM} Authorization headers (Signature Version 4) are accepted`);
  const [, credential = "", signedHeaderList = "", signature = ""] = match;
  const [accessKey, day, region, service, terminator, ...extra] = credential.split("/");
  if (accessKey !== keys.accessKey) return deny("InvalidAccessKeyId", "The access key id you provided does not exist");
  if (!day || !region || service !== "s3" || terminator !== "aws4_request" || extra.length > 0)
    return deny("AccessDenied", `Credential scope must be <key>/<yyyymmdd>/<region>/s3/aws4_request`);

  const amzDate = single(request.headers["x-amz-date"]);
  const time = amzDate && AMZ_DATE.exec(amzDate);
  if (!time) return deny("AccessDenied", "x-amz-date (yyyymmddThhmmssZ) is required");
  const [, y, mo, d, h, mi, s] = time.map(Number);
  const at = Date.UTC(y!, mo! - 1, d, h, mi, s);
  if (Math.abs(now.getTime() - at) > MAX_SKEW_MS)
    return deny("RequestTimeTooSkewed", "The difference between the request time and the server's time is too large");
  if (!amzDate.startsWith(day)) return deny("AccessDenied", "The credential's date is not the date of x-amz-date");

  const signedHeaders = signedHeaderList.split(";");
  for (const required of ["host", "x-amz-date", "x-amz-content-sha256"]) {
    if (!signedHeaders.includes(required)) return deny("AccessDenied", `SignedHeaders must include ${required}`);
  }
  const canonicalHeaders: string[] = [];
  for (const name of signedHeaders) {
    const value = request.headers[name];
    if (value === undefined || name !== name.toLowerCase())
      return deny("AccessDenied", `signed header ${name} is missing`);
    canonicalHeaders.push(`${name}:${(Array.isArray(value) ? value.join(",") : value).trim().replace(/\s+/g, " ")}`);
  }
  const [path = "/", rawQuery = ""] = request.url.split(/\?(.*)/s);
  const query = canonicalQuery(rawQuery);
  if (query === undefined) return deny("AccessDenied", "The query string is not validly percent-encoded");
  const canonicalRequest = [
    request.method,
    path,
    query,
    canonicalHeaders.join("\n") + "\n",
    signedHeaderList,
    single(request.headers["x-amz-content-sha256"]) ?? "",
  ].join("\n");
  const scope = `${day}/${region}/s3/aws4_request`;
  const stringToSign = [ALGORITHM, amzDate, scope, sha256Hex(canonicalRequest)].join("\n");
  let key = hmac(`AWS4${keys.secretKey}`, day);
  for (const part of [region, "s3", "aws4_request"]) key = hmac(key, part);
  const expected = createHmac("sha256", key).update(stringToSign, "utf8").digest();
  // constant time comparison, so the signature cannot be found byte by byte
  if (!timingSafeEqual(expected, Buffer.from(signature, "hex")))
    return deny("SignatureDoesNotMatch", "The request signature does not match: check the secret key");
  return undefined;
}

function deny(code: S3Refusal["code"], message: string): S3Refusal {
  return { code, message };
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Each name and value decoded and re-encoded the RFC 3986 way, sorted by name, then value (SigV4's rule). */
function canonicalQuery(raw: string): string | undefined {
  if (raw === "") return "";
  const encode = (s: string) =>
    encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  try {
    const pairs = raw
      .split("&")
      .filter((p) => p !== "")
      .map((p) => {
        const at = p.indexOf("=");
        const [name, value] = at === -1 ? [p, ""] : [p.slice(0, at), p.slice(at + 1)];
        return [encode(decodeURIComponent(name)), encode(decodeURIComponent(value))] as const;
      });
    pairs.sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0));
    return pairs.map(([name, value]) => `${name}=${value}`).join("&");
  } catch {
    return undefined;
  }
}

function sha256Hex(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac("sha256", key).update(data, "utf8").digest();
}
