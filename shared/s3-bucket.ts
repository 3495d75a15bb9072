import { Client, S3Error } from "minio";
import type { Logger } from "pino";

/** Where the bucket is and how to reach it (s3_url, s3_tls, s3_region, s3_bucket and the S3 key secrets). */
export interface S3BucketDeps {
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

/** One bucket of any S3-compatible server, through the minio client: the build logs and the pending builds share it. */
export interface S3Bucket {
  client: Client;
  name: string;
  /** Runs `call`, retrying it (with backoff) when the store did not answer at all. */
  retry<T>(what: string, call: () => Promise<T>): Promise<T>;
  /**
   * {@link retry}, each attempt given at most `timeoutMs`: for records kept beside a build (best effort), where a
   * hung store must not hold the stage that writes them.
   */
  within<T>(what: string, timeoutMs: number, call: () => Promise<T>): Promise<T>;
  /** Creates the bucket unless it exists; once per process, and a failed attempt is tried again by the next call. */
  ready(): Promise<void>;
}

// No response at all: the store may be starting or restarting.
const CONNECTION_ERRORS = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "EAI_AGAIN", "EHOSTUNREACH"]);

/** True for S3's answer that the object or its bucket does not exist. */
export function isNotFound(error: unknown): boolean {
  return error instanceof S3Error && (error.code === "NoSuchKey" || error.code === "NoSuchBucket");
}

/** The bucket's client, built once per composition root; a malformed `s3_url` throws naming it. */
export function createS3Bucket(deps: S3BucketDeps): S3Bucket {
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

  async function retry<T>(what: string, call: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await call();
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? "";
        if (attempt >= retries || error instanceof S3Error || !CONNECTION_ERRORS.has(code)) throw error;
        deps.log.warn({ what, code, attempt }, "S3 unreachable, retrying");
        await sleep(200 * 2 ** attempt);
      }
    }
  }

  function within<T>(what: string, timeoutMs: number, call: () => Promise<T>): Promise<T> {
    return retry(what, () => {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`S3: ${what}: no answer within ${timeoutMs} ms`)), timeoutMs);
      });
      return Promise.race([call(), late]).finally(() => clearTimeout(timer));
    });
  }

  async function ensureBucket(): Promise<void> {
    if (await client.bucketExists(deps.bucket)) return;
    try {
      await client.makeBucket(deps.bucket, deps.region);
      deps.log.info({ bucket: deps.bucket }, "created the bucket");
    } catch (error) {
      // Another replica may have created it in between.
      const code = error instanceof S3Error ? error.code : undefined;
      if (code !== "BucketAlreadyOwnedByYou" && code !== "BucketAlreadyExists") throw error;
    }
  }

  return {
    client,
    name: deps.bucket,
    retry,
    within,
    ready() {
      bucketReady ??= retry("create bucket", ensureBucket).catch((error: unknown) => {
        bucketReady = undefined;
        throw error;
      });
      return bucketReady;
    },
  };
}
