import pLimit from "p-limit";
import { text } from "node:stream/consumers";
import { z } from "zod";
import { ownerIdSchema, type OwnerId } from "./naming.js";
import { createS3Bucket, isNotFound, type S3BucketDeps } from "./s3-bucket.js";

/**
 * One accepted push whose commit has no terminal `stack-deploy` status yet (issue #11): github-push writes it before
 * queueing git-tar, git-tar refreshes `heartbeatAt` while it works and removes it once the commit has its terminal
 * status, and build-reaper ends the ones nobody works on any more.
 */
export interface PendingBuild {
  owner: string;
  /** GitHub's account id or `gitlab-<namespace id>` (issue #19). */
  ownerId: OwnerId;
  /** Where the push came from, so build-reaper reads and posts statuses there; absent: github. */
  scm?: "github" | "gitlab";
  repo: string;
  sha: string;
  installationId: number;
  /** When github-push accepted the push (ISO 8601). */
  acceptedAt: string;
  /** git-tar's last sign of life (ISO 8601); absent while the build waits in the queue. */
  heartbeatAt?: string;
  /** The per-function status contexts git-tar marked `pending` and has not concluded yet. */
  functions?: string[];
}

/**
 * Which record: one commit of one repository. Keyed by the login every stage of one push carries (the queue's
 * callback to github-push names no owner id); the record keeps the id too.
 */
export type PendingBuildRef = Pick<PendingBuild, "owner" | "repo" | "sha">;

/** One listed key with its record; `build` is undefined when the object is not a readable record. */
export interface PendingEntry {
  key: string;
  build: PendingBuild | undefined;
  /** When the object was last written (epoch ms), as S3 lists it. */
  modifiedAt: number;
}

/** The records of an S3 bucket (the build logs' bucket: every install has it; CE and faasd have no JetStream KV). */
export interface PendingBuilds {
  /** Stores (or replaces) the record; creates the bucket on first use. */
  put(build: PendingBuild): Promise<void>;
  /** The record, or undefined when there is none. */
  get(ref: PendingBuildRef): Promise<PendingBuild | undefined>;
  /** Removes the record; removing one that is gone is no error. */
  remove(ref: PendingBuildRef | PendingEntry): Promise<void>;
  /** At most `limit` records in key order, after the key `after`; `next` is the last key when more may follow. */
  list(page: { limit: number; after?: string }): Promise<{ entries: PendingEntry[]; next?: string }>;
}

// GitHub logins and GitLab owner keys (`<slug>-<hash>--gl`) never contain "_", so no build log (`<owner>/<repo>/…`) is ever listed under this prefix.
const PREFIX = "_pending/";
const GITHUB_NAME = /^(?!\.{1,2}$)[A-Za-z0-9._-]{1,100}$/;
const isoTime = z.iso.datetime({ offset: true });
const recordSchema = z.object({
  owner: z.string().regex(GITHUB_NAME),
  ownerId: ownerIdSchema,
  scm: z.enum(["github", "gitlab"]).optional(),
  repo: z.string().regex(GITHUB_NAME),
  sha: z.string().regex(/^[0-9a-fA-F]{40}$/),
  installationId: z.number().int().positive(),
  acceptedAt: isoTime,
  heartbeatAt: isoTime.optional(),
  functions: z.array(z.string().max(63)).max(100).optional(),
});
// A record is a few hundred bytes; anything larger under the prefix is not one.
const MAX_RECORD_BYTES = 16 * 1024;

/** `_pending/<owner>/<repo>/<sha>.json`, lower case; the parts are validated first, so none can climb out. */
export function pendingKey(ref: PendingBuildRef): string {
  const { owner, repo, sha } = recordSchema.pick({ owner: true, repo: true, sha: true }).parse(ref);
  return `${PREFIX}${[owner, repo, sha].join("/").toLowerCase()}.json`;
}

/**
 * The pending-build records in `deps.bucket`, through the minio client. Each S3 call gets `timeoutMs` (default 3 s):
 * the records are best effort beside a build, and a hung store must not hold github-push or git-tar.
 */
export function createPendingBuilds(deps: S3BucketDeps & { timeoutMs?: number }): PendingBuilds {
  const bucket = createS3Bucket(deps);
  const timeoutMs = deps.timeoutMs ?? 3000;
  const within = <T>(what: string, call: () => Promise<T>): Promise<T> => bucket.within(what, timeoutMs, call);
  /** The record under `key`; undefined when the object is not one, null when there is no object (or bucket). */
  const read = async (key: string): Promise<PendingBuild | undefined | null> => {
    try {
      const body = await within("get pending build", async () => text(await bucket.client.getObject(bucket.name, key)));
      if (body.length > MAX_RECORD_BYTES) return undefined;
      const parsed = recordSchema.safeParse(JSON.parse(body));
      return parsed.success ? parsed.data : undefined;
    } catch (error) {
      if (isNotFound(error)) return null;
      if (error instanceof SyntaxError) return undefined;
      throw error;
    }
  };

  return {
    async put(build) {
      const key = pendingKey(build);
      const body = Buffer.from(JSON.stringify(recordSchema.parse(build)));
      const put = () =>
        within("put pending build", () =>
          bucket.client.putObject(bucket.name, key, body, body.length, { "Content-Type": "application/json" }),
        );
      try {
        await put();
      } catch (error) {
        // The bucket is made on first use (a fresh store): the common path costs one request.
        if ((error as { code?: unknown }).code !== "NoSuchBucket") throw error;
        await within("create bucket", () => bucket.ready());
        await put();
      }
    },

    async get(ref) {
      const found = await read(pendingKey(ref));
      return found ?? undefined;
    },

    async remove(ref) {
      const key = "key" in ref ? ref.key : pendingKey(ref);
      if (!key.startsWith(PREFIX)) throw new TypeError(`[pending-builds] not a pending-build key: ${key}`);
      try {
        await within("remove pending build", () => bucket.client.removeObject(bucket.name, key));
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    },

    async list({ limit, after }) {
      let listed;
      try {
        // ListObjects (v1) with a marker: s3rver's v2 continuation tokens need DES, which OpenSSL 3 no longer has.
        listed = await within("list pending builds", () =>
          bucket.client.listObjectsQuery(bucket.name, PREFIX, after ?? "", { Delimiter: "", MaxKeys: limit }),
        );
      } catch (error) {
        if (isNotFound(error)) return { entries: [] };
        throw error;
      }
      const objects = listed.objects
        .flatMap((o) =>
          o.name?.startsWith(PREFIX) ? [{ key: o.name, modifiedAt: o.lastModified?.getTime() ?? 0 }] : [],
        )
        .slice(0, limit);
      // A handful of small GETs at a time: a page is at most `limit` records.
      const limited = pLimit(8);
      const found = await Promise.all(objects.map((o) => limited(async () => ({ ...o, build: await read(o.key) }))));
      const entries: PendingEntry[] = [];
      // A record removed between the listing and the read is simply done.
      for (const { build, ...o } of found) if (build !== null) entries.push({ ...o, build });
      const next = listed.isTruncated === true ? objects.at(-1)?.key : undefined;
      return { entries, ...(next ? { next } : {}) };
    },
  };
}
