import { createHmac } from "node:crypto";
import { text } from "node:stream/consumers";
import { Client, S3Error } from "minio";
import type { Logger } from "pino";
import { HttpError } from "./http-error.js";

/** What a build log is stored under: one function of one commit of one repository. */
export interface LogKey {
  owner: string;
  repo: string;
  sha: string;
  function: string;
}

/** Build logs in S3 (DESIGN §2, original-spec §7). */
export interface LogStore {
  /** Stores (or replaces) the log; creates the bucket on first use. */
  put(key: LogKey, text: string): Promise<void>;
  /** The stored log, or `undefined` when there is none. */
  get(key: LogKey): Promise<string | undefined>;
}

export interface LogStoreDeps {
  /** s3_url: `host:port` (or `host`, for the scheme's default port). */
  endpoint: string;
  useSSL: boolean;
  region: string;
  bucket: string;
  accessKey: string;
  secretKey: string;
  log: Logger;
  /** Waits between retries; tests pass one that does not (or that starts the server). */
  sleep?: (ms: number) => Promise<void>;
  /** Attempts after the first one, for connection errors. */
  retries?: number;
}

// GitHub logins and repository names: letters, digits, ".", "_" and "-" (at most 39 and 100 characters).
const GITHUB_NAME = /^[A-Za-z0-9._-]{1,100}$/;
const SHA = /^[0-9a-fA-F]{40}$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const NAME_RULE = 'must be 1-100 letters, digits, ".", "_" or "-", and not "." or contain ".."';
// No response at all: the store may be starting or restarting.
const CONNECTION_ERRORS = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "EAI_AGAIN", "EHOSTUNREACH"]);

function part(what: keyof LogKey, value: unknown, valid: (v: string) => boolean, rule: string): string {
  if (typeof value !== "string" || value === "") throw new HttpError(400, `${what} is required`);
  if (!valid(value)) throw new HttpError(400, `${what} ${JSON.stringify(value.slice(0, 120))} ${rule}`);
  return value.toLowerCase();
}

const githubName = (v: string) => GITHUB_NAME.test(v) && v !== "." && !v.includes("..");

/**
 * Validates and normalises each part (lowercase: mixed-case logins broke the original, DESIGN §5); a 400 naming
 * the bad part otherwise. The key is never built from unvalidated input, so no part can climb out of its folder.
 */
export function normalizeLogKey(key: Partial<Record<keyof LogKey, unknown>>): LogKey {
  return {
    owner: part("owner", key.owner, githubName, NAME_RULE),
    repo: part("repo", key.repo, githubName, NAME_RULE),
    sha: part("sha", key.sha, (v) => SHA.test(v), "must be a 40-character hex commit SHA"),
    function: part(
      "function",
      key.function,
      (v) => DNS1123_LABEL.test(v.toLowerCase()),
      'must be a DNS-1123 label: letters, digits and "-", starting and ending with a letter or digit, at most 63 characters',
    ),
  };
}

/** `<owner>/<repo>/<sha>/<function>/build.log`, lowercased (original-spec §7 without the repeated bucket name). */
export function logObjectKey(key: LogKey): string {
  const k = normalizeLogKey(key);
  return `${k.owner}/${k.repo}/${k.sha}/${k.function}/build.log`;
}

/** Hex HMAC-SHA256 of the object key: build-log links carry it so logs of private repos cannot be enumerated. */
export function logLinkSignature(secret: string, key: LogKey): string {
  return createHmac("sha256", secret).update(logObjectKey(key)).digest("hex");
}

/** A build-log store over any S3-compatible server, through the minio client. */
export function createLogStore(deps: LogStoreDeps): LogStore {
  const address = /^([A-Za-z0-9.-]+)(?::([0-9]{1,5}))?$/.exec(deps.endpoint);
  if (!address) throw new Error(`s3_url: expected host:port, got ${JSON.stringify(deps.endpoint)}`);
  const client = new Client({
    endPoint: address[1]!,
    ...(address[2] ? { port: Number(address[2]) } : {}),
    useSSL: deps.useSSL,
    region: deps.region,
    accessKey: deps.accessKey,
    secretKey: deps.secretKey,
    // minio retries status codes and warns on the console; connection errors are retried below instead.
    retryOptions: { disableRetry: true },
  });
  const retries = deps.retries ?? 2;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  let bucketReady: Promise<void> | undefined;

  async function withRetry<T>(what: string, call: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await call();
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? "";
        if (attempt >= retries || error instanceof S3Error || !CONNECTION_ERRORS.has(code)) throw error;
        deps.log.warn({ what, code, attempt }, "log store unreachable, retrying");
        await sleep(200 * 2 ** attempt);
      }
    }
  }

  async function ensureBucket(): Promise<void> {
    if (await client.bucketExists(deps.bucket)) return;
    try {
      await client.makeBucket(deps.bucket, deps.region);
      deps.log.info({ bucket: deps.bucket }, "created the build-log bucket");
    } catch (error) {
      // Another replica may have created it in between.
      const code = error instanceof S3Error ? error.code : undefined;
      if (code !== "BucketAlreadyOwnedByYou" && code !== "BucketAlreadyExists") throw error;
    }
  }

  return {
    async put(key, log) {
      const objectKey = logObjectKey(key);
      // Once per process; a failed attempt is forgotten so the next put tries again.
      bucketReady ??= withRetry("create bucket", ensureBucket).catch((error: unknown) => {
        bucketReady = undefined;
        throw error;
      });
      await bucketReady;
      const body = Buffer.from(log, "utf8");
      await withRetry("put", () =>
        client.putObject(deps.bucket, objectKey, body, body.length, { "Content-Type": "text/plain; charset=utf-8" }),
      );
    },

    async get(key) {
      const objectKey = logObjectKey(key);
      try {
        return await withRetry("get", async () => text(await client.getObject(deps.bucket, objectKey)));
      } catch (error) {
        if (error instanceof S3Error && (error.code === "NoSuchKey" || error.code === "NoSuchBucket")) return undefined;
        throw error;
      }
    },
  };
}
