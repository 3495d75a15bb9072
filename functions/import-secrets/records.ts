import { text } from "node:stream/consumers";
import { z } from "zod";
import { ownerIdSchema, type OwnerId } from "../../shared/naming.js";
import { createS3Bucket, isNotFound, type S3BucketDeps } from "../../shared/s3-bucket.js";

/**
 * Who imported a secret (issue #15): the gateway's secrets API keeps no labels, so this record plays the part of a
 * function's owner-id and repo labels (DESIGN §5). One object per secret, `_secrets/<owner>--<name>.json`.
 */
export interface SecretRecord {
  name: string;
  owner: string;
  ownerId: OwnerId;
  repo: string;
}

/** The records in the build logs' bucket (every install has it); at most a few per repository. */
export interface SecretRecords {
  get(name: string): Promise<SecretRecord | undefined>;
  put(record: SecretRecord): Promise<void>;
  remove(name: string): Promise<void>;
  /** The records of secrets named `<login>--…`. */
  listForLogin(login: string): Promise<SecretRecord[]>;
}

// GitHub logins never contain "_", so no build log (`<owner>/…`) is ever listed under this prefix.
const PREFIX = "_secrets/";
const recordSchema = z.object({
  name: z.string().regex(/^[a-z0-9.-]+$/),
  owner: z.string(),
  ownerId: ownerIdSchema,
  repo: z.string(),
});
const keyOf = (name: string) => `${PREFIX}${recordSchema.shape.name.parse(name)}.json`;

/** The records through the minio client; the bucket is created on first write. */
export function createSecretRecords(deps: S3BucketDeps): SecretRecords {
  const bucket = createS3Bucket(deps);
  const get = async (key: string): Promise<SecretRecord | undefined> => {
    try {
      // Stryker disable next-line StringLiteral: retry's label only names the call in its "S3 unreachable" log line
      const body = await bucket.retry("get secret record", async () =>
        text(await bucket.client.getObject(bucket.name, key)),
      );
      return recordSchema.parse(JSON.parse(body));
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  };
  return {
    get: (name) => get(keyOf(name)),

    async put(record) {
      const body = Buffer.from(JSON.stringify(recordSchema.parse(record)));
      await bucket.ready();
      // Stryker disable next-line StringLiteral: retry's label only names the call in its "S3 unreachable" log line
      await bucket.retry("put secret record", () =>
        bucket.client.putObject(bucket.name, keyOf(record.name), body, body.length, {
          "Content-Type": "application/json",
        }),
      );
    },

    async remove(name) {
      try {
        // Stryker disable next-line StringLiteral: retry's label only names the call in its "S3 unreachable" log line
        await bucket.retry("remove secret record", () => bucket.client.removeObject(bucket.name, keyOf(name)));
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    },

    async listForLogin(login) {
      const prefix = `${PREFIX}${login.toLowerCase()}--`;
      const keys: string[] = [];
      try {
        // ListObjects (v1) with a marker, as pending-builds does (s3rver's v2 tokens need DES).
        // Stryker disable next-line StringLiteral: any marker sorting before "_secrets/" lists the same keys
        let marker = "";
        for (;;) {
          // Stryker disable next-line StringLiteral: retry's label only names the call in its "S3 unreachable" log line
          const page = await bucket.retry("list secret records", () =>
            // Stryker disable next-line StringLiteral: no record name ([a-z0-9.-]) holds Stryker's delimiter to group on
            bucket.client.listObjectsQuery(bucket.name, prefix, marker, { Delimiter: "", MaxKeys: 1000 }),
          );
          const names = page.objects.flatMap((o) => (o.name?.startsWith(prefix) ? [o.name] : []));
          keys.push(...names);
          if (page.isTruncated !== true || names.length === 0) break;
          marker = names.at(-1)!;
        }
      } catch (error) {
        if (isNotFound(error)) return [];
        throw error;
      }
      const records = await Promise.all(keys.map(get));
      return records.filter((r): r is SecretRecord => r !== undefined);
    },
  };
}
