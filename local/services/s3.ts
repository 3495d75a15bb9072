import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkSignature, type S3Keys } from "./s3-signature.js";
import { listen } from "../listen.js";

// s3rver ships CommonJS without types; only the part used here is described. `getMiddleware()` is its documented
// way to serve from another HTTP server (Koa's `callback()`).
interface S3rver {
  getMiddleware(): (req: IncomingMessage, res: ServerResponse) => void;
}
type S3rverClass = new (options: { directory: string; silent: boolean }) => S3rver;
const S3rver = createRequire(import.meta.url)("s3rver") as S3rverClass;

/** Where the local S3 listens and keeps its objects, and its one key pair. */
export interface S3ServerOptions {
  /** 0 (the default) picks a free one. */
  port?: number;
  /** Without one, a temporary folder removed on close; the runtime passes one, so objects survive restarts. */
  directory?: string;
  /** Defaults to a fresh random pair (the runtime passes the `s3-access-key` and `s3-secret-key` secrets). */
  keys?: S3Keys;
  /** The clock signatures are checked against. */
  now?: () => Date;
}

/**
 * A real S3-compatible server (s3rver) on 127.0.0.1, for the minio client (DESIGN §8), that accepts only requests
 * signed with `keys` (issue #10). s3rver cannot enforce that itself: it lets unsigned requests through, checks only
 * that a Signature V4 names a known access key (its lib/middleware/authentication.js: "V4 signatures have
 * incomplete support"), and knows one hard-coded account, S3RVER/S3RVER (lib/models/account.js). So s3rver listens
 * on no port of its own: this front door checks each request's signature (./s3-signature.ts), answers a refusal
 * with S3's 403 XML, and hands a signed request to s3rver without its Authorization header, which s3rver would
 * otherwise reject for naming a key it does not know. Requests for one object are served one at a time: s3rver
 * rewrites an object in place, so a read racing a write could see a cut-off body or hang on its declared length,
 * where S3 and MinIO replace objects atomically (the pending-build records are read while git-tar rewrites them).
 */
export async function startS3Server(options: S3ServerOptions = {}) {
  const owned = options.directory === undefined;
  const directory = options.directory ?? (await mkdtemp(join(tmpdir(), "ofc-s3-")));
  await mkdir(directory, { recursive: true });
  const keys = options.keys ?? {
    accessKey: randomBytes(10).toString("hex"),
    secretKey: randomBytes(24).toString("hex"),
  };
  const now = options.now ?? (() => new Date());
  const s3rver = new S3rver({ directory, silent: true }).getMiddleware();
  const inTurn = createTurns();
  const server = createServer((req, res) => {
    const refusal = checkSignature(
      { method: req.method ?? "", url: req.url ?? "/", headers: req.headers },
      keys,
      now(),
    );
    if (refusal) {
      req.resume();
      res.writeHead(403, { "content-type": "application/xml", connection: "close" });
      res.end(
        `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${refusal.code}</Code>` +
          `<Message>${refusal.message.replace(/[<>&]/g, "")}</Message></Error>`,
      );
      return;
    }
    delete req.headers.authorization;
    inTurn(new URL(req.url ?? "/", "http://s3.local").pathname, (done) => {
      res.once("close", done);
      s3rver(req, res);
    });
  });
  try {
    await listen(server, options.port ?? 0);
  } catch (error) {
    if (owned) await rm(directory, { recursive: true, force: true });
    throw error;
  }
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `127.0.0.1:${port}`,
    ...keys,
    directory,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (owned) await rm(directory, { recursive: true, force: true });
    },
  };
}

/** Runs the work given for one name in the order given, each once the previous one called its `done`. */
function createTurns(): (name: string, work: (done: () => void) => void) => void {
  const last = new Map<string, Promise<void>>();
  return (name, work) => {
    const previous = last.get(name) ?? Promise.resolve();
    const finished = new Promise<void>((resolve) => void previous.then(() => work(resolve)));
    last.set(name, finished);
    void finished.then(() => {
      if (last.get(name) === finished) last.delete(name);
    });
  };
}
