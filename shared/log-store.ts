import { createHmac } from "node:crypto";
import { text } from "node:stream/consumers";
import { HttpError } from "./http-error.js";
import { createS3Bucket, isNotFound, type S3BucketDeps } from "./s3-bucket.js";

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

/** Where the logs are kept: the bucket of s3_url (shared/s3-bucket.ts). */
export type LogStoreDeps = S3BucketDeps;

// GitHub logins and repository names: letters, digits, ".", "_" and "-" (at most 39 and 100 characters).
const GITHUB_NAME = /^[A-Za-z0-9._-]{1,100}$/;
const SHA = /^[0-9a-fA-F]{40}$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const NAME_RULE = 'must be 1-100 letters, digits, ".", "_" or "-", and not "." or contain ".."';

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
  const bucket = createS3Bucket(deps);

  return {
    async put(key, log) {
      const objectKey = logObjectKey(key);
      await bucket.ready();
      const body = Buffer.from(log, "utf8");
      await bucket.retry("put", () =>
        bucket.client.putObject(bucket.name, objectKey, body, body.length, {
          "Content-Type": "text/plain; charset=utf-8",
        }),
      );
    },

    async get(key) {
      const objectKey = logObjectKey(key);
      try {
        return await bucket.retry("get", async () => text(await bucket.client.getObject(bucket.name, objectKey)));
      } catch (error) {
        if (isNotFound(error)) return undefined;
        throw error;
      }
    },
  };
}
