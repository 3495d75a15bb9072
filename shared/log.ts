import { pino, type DestinationStream, type Logger } from "pino";

// Issue #10: a failed call must never put a credential in the log. axios errors carry the request's config (the
// gateway's `Authorization: Basic …`), git and registry URLs can carry userinfo (`x-access-token:<token>@`), and
// a caller may log a header object as it is. Every logger of the system comes from here, so all of them redact.

const SECRET_HEADERS = ["authorization", "proxy-authorization", "x-registry-auth", "cookie", "set-cookie"];
const REDACT_PATHS = SECRET_HEADERS.flatMap((name) =>
  [name, name.replace(/(^|-)[a-z]/g, (c) => c.toUpperCase())].flatMap((h) => [
    `headers["${h}"]`,
    `*.headers["${h}"]`,
    `*.*.headers["${h}"]`,
  ]),
);
const CENSOR = "[redacted]";
// Keys whose values are credentials wherever they appear in a logged object.
const SECRET_KEY =
  /^(authorization|proxy-authorization|x-registry-auth|cookie|set-cookie|password|pass|token|secret|private-?key|privateKeyPem|auth)$/i;
// What an axios/http error drags along: the request config (headers, auth), the socket, the whole response.
const DROPPED = new Set(["config", "request", "response", "req", "res", "socket", "agent", "headers"]);
const MAX_DEPTH = 4;

/** A text with URL userinfo, Basic/Bearer credentials, PEM private keys and GitHub tokens replaced. */
export function scrubText(text: string): string {
  return text
    .replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@"']+@/gi, `$1${CENSOR}@`)
    .replace(/\b(Basic|Bearer)\s+[A-Za-z0-9+/=._~-]{8,}/gi, CENSOR)
    .replace(/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)/g, CENSOR)
    .replace(/\bgh[pousr]_[A-Za-z0-9_]{16,}/g, CENSOR);
}

/** A JSON-safe copy of `value` with credentials removed: secret keys censored, strings scrubbed, depth bounded. */
function scrubValue(value: unknown, depth: number): unknown {
  if (typeof value === "string") return scrubText(value);
  if (value instanceof Error) return serializeError(value, depth);
  if (typeof value !== "object" || value === null || Buffer.isBuffer(value)) return value;
  if (depth >= MAX_DEPTH) return "[object]";
  if (Array.isArray(value)) return value.map((v) => scrubValue(v, depth + 1));
  if (value instanceof Date || value instanceof URL) return scrubText(String(value));
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    out[key] = SECRET_KEY.test(key) && v !== undefined && v !== null ? CENSOR : scrubValue(v, depth + 1);
  }
  return out;
}

/**
 * An error as a log field: name, message, stack, code, status and its own fields, without what an axios or http
 * error carries along (`config`, `request`, `response`, headers), the request's method and URL kept (userinfo
 * stripped), and the `cause` chain followed.
 */
export function serializeError(error: unknown, depth = 0): unknown {
  if (!(error instanceof Error)) return scrubValue(error, depth);
  const out: Record<string, unknown> = { type: error.name, message: scrubText(error.message) };
  if (error.stack) out.stack = scrubText(error.stack);
  if (depth >= MAX_DEPTH) return out;
  for (const [key, value] of Object.entries(error)) {
    if (DROPPED.has(key) || key in out) continue;
    out[key] = SECRET_KEY.test(key) ? CENSOR : scrubValue(value, depth + 1);
  }
  const { config, response } = error as { config?: { method?: unknown; url?: unknown }; response?: unknown };
  if (typeof config?.url === "string") out.url = scrubText(config.url);
  if (typeof config?.method === "string") out.method = config.method.toUpperCase();
  const status = (response as { status?: unknown } | undefined)?.status;
  if (typeof status === "number") out.status ??= status;
  if (error.cause !== undefined) out.cause = serializeError(error.cause, depth + 1);
  if (error instanceof AggregateError) out.errors = error.errors.map((e) => serializeError(e, depth + 1));
  return out;
}

/**
 * The system's pino logger (STYLE §2.11): every function's composition root, of-builder and the local runtime make
 * theirs here. Header paths are redacted, errors are serialized without request configs or credentials, and every
 * logged string (the message included) has URL userinfo, Basic/Bearer values and private keys scrubbed.
 */
export function createLogger(name: string, level: string, destination?: DestinationStream): Logger {
  const options = {
    name,
    level,
    redact: { paths: REDACT_PATHS, censor: CENSOR },
    serializers: { err: (e: unknown) => serializeError(e), msg: (m: unknown) => scrubValue(m, 0) },
    formatters: {
      log: (object: Record<string, unknown>) => {
        const out: Record<string, unknown> = {};
        for (const [key, value] of Object.entries(object)) {
          // err is left to its serializer, which pino applies after this; the rest is scrubbed here.
          if (key === "err") out[key] = value;
          else out[key] = SECRET_KEY.test(key) && value ? CENSOR : scrubValue(value, 1);
        }
        return out;
      },
    },
  };
  return destination ? pino(options, destination) : pino(options);
}
