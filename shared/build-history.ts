import { text } from "node:stream/consumers";
import pLimit from "p-limit";
import { z } from "zod";
import { normalizeLogKey, type LogKey } from "./log-store.js";
import { createS3Bucket, isNotFound, type S3BucketDeps } from "./s3-bucket.js";

/** One build of one function of one commit (issue #14 item 2): what the dashboard lists and the build page shows. */
export interface BuildRecord {
  owner: string;
  repo: string;
  branch: string;
  sha: string;
  /** The function's stack.yml name (the commit status context). */
  function: string;
  state: "running" | "success" | "failure" | "error";
  /** ISO 8601; with owner, repo, sha and function it names the record's place in every listing. */
  startedAt: string;
  finishedAt?: string;
  durationMs?: number;
  image?: string;
  /** The status description, on failure. */
  reason?: string;
  /** The function's URL (shared/function-url.ts), on success. */
  url?: string;
}

/** Which build: one function of one commit (the build log's key, shared/log-store.ts). */
export type BuildId = LogKey;

/** What a listing asks for: an owner's newest builds, maybe of one function or one repository. */
export interface BuildQuery {
  owner: string;
  function?: string;
  repo?: string;
  /** 1 to 50 (default 20). */
  limit?: number;
}

/** The build records, in the build logs' S3 bucket. */
export interface BuildHistory {
  /** Stores (or replaces) the build's record; a rebuild of the same function of the same commit replaces it. */
  put(record: BuildRecord): Promise<void>;
  /** The record, or undefined when there is none. */
  get(id: BuildId): Promise<BuildRecord | undefined>;
  /** The newest builds first, at most `limit`. */
  list(query: BuildQuery): Promise<BuildRecord[]>;
}

/**
 * The key layout. S3 lists keys in ascending byte order and nothing else, so "newest first" has to be spelled in the
 * keys: each build is one record object plus three empty index objects whose names start with an inverted start time
 * (`9999999999999 - epoch ms`, 13 digits, so later builds sort first):
 *
 *   _builds/<owner>/<repo>/<sha>/<fn>.json           the record (get by id)
 *   _builds/~owner/<owner>/<inv>/<repo>/<sha>/<fn>   an owner's builds, newest first
 *   _builds/~fn/<owner>/<fn>/<inv>/<repo>/<sha>      one function's
 *   _builds/~repo/<owner>/<repo>/<inv>/<sha>/<fn>    one repository's
 *
 * A listing is one ListObjects call with MaxKeys on one prefix, then a GET per record: never the whole bucket. Every
 * build writes only its own objects, so builds of different functions or repos finishing at the same moment (even in
 * the same millisecond: the rest of the index key differs) cannot overwrite each other, which a shared per-function
 * index object rewritten on each build could. The index objects are written once per build start and never change
 * (startedAt does not); the record is the one source of state. A rebuild of the same commit replaces the record and
 * removes the old index objects; one it could not remove points at a record with another startedAt and is skipped.
 * "_" and "~" occur in no GitHub login, so nothing here meets a build log (`<owner>/<repo>/…`) or `_pending/`.
 */
const PREFIX = "_builds/";
const MAX_INVERTED = 9_999_999_999_999;
const MAX_LIMIT = 50;
const DEFAULT_LIMIT = 20;
// A record is a few hundred bytes; anything larger under the prefix is not one.
const MAX_RECORD_BYTES = 16 * 1024;

const isoTime = z.iso.datetime({ offset: true });
const recordSchema = z.object({
  owner: z.string(),
  repo: z.string(),
  branch: z.string().min(1).max(255),
  sha: z.string(),
  function: z.string(),
  state: z.enum(["running", "success", "failure", "error"]),
  startedAt: isoTime,
  finishedAt: isoTime.optional(),
  durationMs: z.number().int().nonnegative().optional(),
  image: z.string().max(1000).optional(),
  reason: z.string().max(1000).optional(),
  url: z.string().max(2000).optional(),
});

/** `_builds/<owner>/<repo>/<sha>/<fn>.json`, lower case, from validated parts (a 400 naming a bad one). */
export function buildRecordKey(id: BuildId): string {
  const k = normalizeLogKey(id);
  return `${PREFIX}${k.owner}/${k.repo}/${k.sha}/${k.function}.json`;
}

/** The three index keys of a build started at `startedAt`. */
function indexKeys(id: LogKey, startedAt: string): string[] {
  const ms = Date.parse(startedAt);
  // Written so that NaN is refused too.
  if (!(ms >= 0 && ms <= MAX_INVERTED)) throw new TypeError(`[build-history] bad time ${startedAt}`);
  const inv = String(MAX_INVERTED - ms).padStart(13, "0");
  return [
    `${PREFIX}~owner/${id.owner}/${inv}/${id.repo}/${id.sha}/${id.function}`,
    `${PREFIX}~fn/${id.owner}/${id.function}/${inv}/${id.repo}/${id.sha}`,
    `${PREFIX}~repo/${id.owner}/${id.repo}/${inv}/${id.sha}/${id.function}`,
  ];
}

/** The listing prefix for a query, and how to read the build id back from a key under it. */
function indexOf(query: BuildQuery): { prefix: string; id: (rest: string[]) => Partial<LogKey> } {
  // The owner and the filters are validated like a log key (any valid value stands in for the parts not given).
  const k = normalizeLogKey({
    owner: query.owner,
    repo: query.repo ?? "x",
    sha: "0".repeat(40),
    function: query.function ?? "x",
  });
  const owner = k.owner;
  if (query.function !== undefined) {
    // With a repository too: a function's builds, of that repository only (a name is rarely built from two).
    return {
      prefix: `${PREFIX}~fn/${owner}/${k.function}/`,
      id: ([repo, sha]) =>
        query.repo === undefined || repo === k.repo ? { owner, repo, sha, function: k.function } : {},
    };
  }
  if (query.repo !== undefined) {
    return {
      prefix: `${PREFIX}~repo/${owner}/${k.repo}/`,
      id: ([sha, fn]) => ({ owner, repo: k.repo, sha, function: fn }),
    };
  }
  return { prefix: `${PREFIX}~owner/${owner}/`, id: ([repo, sha, fn]) => ({ owner, repo, sha, function: fn }) };
}

/**
 * The build records in `deps.bucket`, through the minio client. Each S3 call gets `timeoutMs` (default 3 s): the
 * history is best effort beside a build, and a hung store must not hold buildshiprun.
 */
export function createBuildHistory(deps: S3BucketDeps & { timeoutMs?: number }): BuildHistory {
  const bucket = createS3Bucket(deps);
  const timeoutMs = deps.timeoutMs ?? 3000;
  const within = <T>(what: string, call: () => Promise<T>): Promise<T> => bucket.within(what, timeoutMs, call);

  /** The record under `key`; undefined when there is none or it is not one. */
  const read = async (key: string): Promise<BuildRecord | undefined> => {
    try {
      const body = await within("get build", async () => text(await bucket.client.getObject(bucket.name, key)));
      if (body.length > MAX_RECORD_BYTES) return undefined;
      // `data` is undefined unless the body is a record.
      return recordSchema.safeParse(JSON.parse(body)).data;
    } catch (error) {
      if (isNotFound(error) || error instanceof SyntaxError) return undefined;
      throw error;
    }
  };

  const write = async (key: string, body: Buffer, type: string) => {
    const put = () =>
      within("put build", () => bucket.client.putObject(bucket.name, key, body, body.length, { "Content-Type": type }));
    try {
      await put();
    } catch (error) {
      // The bucket is made on first use (a fresh store): the common path costs one request.
      if ((error as { code?: unknown }).code !== "NoSuchBucket") throw error;
      await within("create bucket", () => bucket.ready());
      await put();
    }
  };

  return {
    async put(record) {
      const id = normalizeLogKey(record);
      // A long failure reason is cut, not refused: the record matters more than the reason's tail.
      const reason = record.reason === undefined ? {} : { reason: record.reason.slice(0, 1000) };
      const parsed = recordSchema.parse({ ...record, ...reason, ...id });
      const key = buildRecordKey(id);
      const previous = await read(key);
      const keys = indexKeys(id, parsed.startedAt);
      // Same start: the same index keys (a time may be written with another offset).
      const moved = previous !== undefined && Date.parse(previous.startedAt) !== Date.parse(parsed.startedAt);
      // The index objects first: a record is never stored without the entries that list it.
      if (previous === undefined || moved) {
        await Promise.all(keys.map((k) => write(k, Buffer.alloc(0), "application/octet-stream")));
      }
      await write(key, Buffer.from(JSON.stringify(parsed)), "application/json");
      if (previous && moved) {
        // A rebuild: the old entries would list this record twice. One left behind is skipped by list().
        await Promise.all(
          indexKeys(id, previous.startedAt).map((k) =>
            // Stryker disable next-line StringLiteral: the label only names the call in an error dropped on this line
            within("remove build index", () => bucket.client.removeObject(bucket.name, k)).catch(() => undefined),
          ),
        );
      }
    },

    async get(id) {
      return read(buildRecordKey(id));
    },

    async list(query) {
      const limit = query.limit ?? DEFAULT_LIMIT;
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
        throw new TypeError(`[build-history] limit must be 1 to ${MAX_LIMIT}, got ${limit}`);
      }
      const { prefix, id } = indexOf(query);
      let listed;
      try {
        // ListObjects (v1): s3rver's v2 continuation tokens need DES, which OpenSSL 3 no longer has. A few more keys
        // than asked for, so stale entries of rebuilt commits do not leave the page short.
        listed = await within("list builds", () =>
          // Stryker disable next-line StringLiteral: a marker sorting before "_builds/" or a delimiter no key holds lists the same
          bucket.client.listObjectsQuery(bucket.name, prefix, "", { Delimiter: "", MaxKeys: limit + 10 }),
        );
      } catch (error) {
        if (isNotFound(error)) return [];
        throw error;
      }
      const entries = listed.objects.flatMap((o) => {
        if (!o.name?.startsWith(prefix)) return [];
        const [inv, ...rest] = o.name.slice(prefix.length).split("/");
        if (!inv || !/^[0-9]{13}$/.test(inv)) return [];
        // A missing part makes buildRecordKey throw: such an entry is skipped without a read.
        try {
          return [{ startedMs: MAX_INVERTED - Number(inv), key: buildRecordKey(id(rest) as BuildId) }];
        } catch {
          return []; // not one this module wrote, or of another repository than asked
        }
      });
      // A handful of small GETs at a time: a page is at most 60 records.
      const limited = pLimit(8);
      const found = await Promise.all(
        entries.map((e) =>
          limited(async () => {
            const record = await read(e.key);
            // A record rebuilt since this entry was written is listed by its newer entry.
            return record && Date.parse(record.startedAt) === e.startedMs ? record : undefined;
          }),
        ),
      );
      return found.filter((r): r is BuildRecord => r !== undefined).slice(0, limit);
    },
  };
}
