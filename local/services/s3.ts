import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

// s3rver ships CommonJS without types; only the part used here is described.
interface S3rver {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}
type S3rverClass = new (options: {
  address: string;
  port: number;
  directory: string;
  silent: boolean;
  resetOnClose?: boolean;
}) => S3rver;
const S3rver = createRequire(import.meta.url)("s3rver") as S3rverClass;

/** s3rver's built-in account (lib/models/account.js): every request must be signed with it. */
const CREDENTIALS = { accessKey: "S3RVER", secretKey: "S3RVER" };

/**
 * A real S3-compatible server (s3rver) on 127.0.0.1, for the minio client (DESIGN §8). `port` 0 (the default) picks a
 * free one. Without `directory` it works in a temporary folder removed on close; with one (the local runtime), the
 * objects stay there across restarts.
 */
export async function startS3Server(options: { port?: number; directory?: string } = {}) {
  const owned = options.directory === undefined;
  const directory = options.directory ?? (await mkdtemp(join(tmpdir(), "ofc-s3-")));
  await mkdir(directory, { recursive: true });
  const server = new S3rver({ address: "127.0.0.1", port: options.port ?? 0, directory, silent: true });
  let address: AddressInfo;
  try {
    address = await server.run();
  } catch (error) {
    if (owned) await rm(directory, { recursive: true, force: true });
    throw error;
  }
  return {
    endpoint: `127.0.0.1:${address.port}`,
    ...CREDENTIALS,
    directory,
    async close() {
      await server.close();
      if (owned) await rm(directory, { recursive: true, force: true });
    },
  };
}
