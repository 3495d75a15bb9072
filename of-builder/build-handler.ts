import { mkdtemp, readFile, rm } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { join } from "node:path";
import type { Logger } from "pino";
import { unpackBuildContext } from "../shared/build-tar.js";
import { CLOUD_SIGNATURE_HEADER, createHopVerifier } from "../shared/hmac.js";
import { HttpError } from "../shared/http-error.js";
import { BuildFailure, type BuildBackend } from "./backend.js";
import { checkImageReferences } from "./image-references.js";
import { receiveSignedBody, tooLarge, type BodyVerifier } from "./request-body.js";
import { stageTimer, type StageTimer } from "../shared/stage-timing.js";

/** The of-builder answer (DESIGN §6); with `Accept: application/x-ndjson`, the last line of the stream. */
export interface BuildResult {
  imageName: string;
  status: "success" | "failure";
  log: string[];
  digest?: string;
  error?: string;
}

/** What POST /build needs. */
export interface BuildHandlerDeps {
  backend: BuildBackend;
  payloadSecret: string;
  /** max_build_mb in bytes: caps the request body and the tar's declared contents. */
  maxBuildBytes: number;
  maxBuildFiles: number;
  /** Build args every build starts from (the proxy variables, original-spec §6); the tar's buildArgs override them. */
  baseBuildArgs: Readonly<Record<string, string>>;
  /** Where each build's own temp folder (`buildctx-*`) is made. */
  tmpDir: string;
  log: Logger;
  /** A clock in ms for the stage timings (issue #16); Date.now unless a test fixes it. */
  now?: () => number;
}

// The original's text for a bad HMAC (original-spec §6), with a real 401 (DESIGN §10).
const BAD_SIGNATURE = "invalid message digest or secret";

/** A build request whose signature checked out, spooled to `tarFile` in its own temp folder `dir`. */
export interface ReceivedBuild {
  dir: string;
  tarFile: string;
}

/**
 * POST /build in two steps, so a request takes a build slot only once it is known to be signed (issue #10):
 * `receive` checks the X-Cloud-Signature-256 header (401 before a byte of the body is read when it is missing,
 * malformed or stale), spools the body to a temp file while hashing it (413 over the cap) and verifies it (401);
 * `build` then unpacks safely (400), builds and pushes, and answers. The temp folder is removed whatever happened. A
 * failed build is a result (500, status "failure"), not an exception.
 */
export function createBuildHandler(deps: BuildHandlerDeps) {
  /** Refusals that need no body: a header that cannot be a fresh hop for of-builder, a declared size over the cap. */
  function precheck(req: IncomingMessage) {
    const header = req.headers[CLOUD_SIGNATURE_HEADER];
    const verifier = createHopVerifier(
      deps.payloadSecret,
      "of-builder",
      typeof header === "string" ? header : undefined,
    );
    if (!verifier.ready) throw new HttpError(401, BAD_SIGNATURE);
    if (Number(req.headers["content-length"]) > deps.maxBuildBytes) throw tooLarge(deps.maxBuildBytes);
    return verifier;
  }

  async function receive(req: IncomingMessage, verifier: BodyVerifier): Promise<ReceivedBuild> {
    const dir = await mkdtemp(join(deps.tmpDir, "buildctx-"));
    const tarFile = join(dir, "build.tar");
    try {
      const { signed } = await receiveSignedBody(req, tarFile, { maxBytes: deps.maxBuildBytes, verifier });
      if (!signed) throw new HttpError(401, BAD_SIGNATURE);
      return { dir, tarFile };
    } catch (error) {
      await discard({ dir, tarFile });
      throw error;
    }
  }

  function discard(received: ReceivedBuild): Promise<void> {
    return rm(received.dir, {
      recursive: true,
      // Stryker disable next-line BooleanLiteral: called once per request, on the folder it made, which is always there
      force: true,
    });
  }

  async function build(
    received: ReceivedBuild,
    req: IncomingMessage,
    res: ServerResponse,
    signal: AbortSignal,
  ): Promise<void> {
    let answer: () => void;
    const began = (deps.now ?? Date.now)();
    try {
      // Stryker disable next-line StringLiteral: unpacked into the folder itself, context/ lies beside build.tar, which is removed next
      const { config, contextDir } = await unpackBuildContext(received.tarFile, join(received.dir, "build"), {
        maxBytes: deps.maxBuildBytes,
        maxFiles: deps.maxBuildFiles,
      });
      await rm(received.tarFile);
      const buildArgs = { ...deps.baseBuildArgs, ...config.buildArgs };
      // The builder can read every tenant's images in the push registry: a Dockerfile may name only its own.
      const dockerfile = await readFile(join(contextDir, "Dockerfile"), "utf8").catch(() => undefined);
      if (dockerfile !== undefined) {
        checkImageReferences(dockerfile, { ref: config.ref, buildArgs, allowed: Object.values(deps.baseBuildArgs) });
      }
      // One timer per build, on a logger naming the image (its tag carries the push's sha).
      const timer = stageTimer(deps.log.child({ ref: config.ref }), deps.now ?? Date.now);
      timer.start("of-builder.unpack", began)();
      answer = await runBuild(req, res, signal, { ref: config.ref, contextDir, buildArgs }, timer);
    } finally {
      // Before the answer, so a caller that has its answer never finds our files.
      await discard(received);
    }
    answer();
  }

  async function runBuild(
    req: IncomingMessage,
    res: ServerResponse,
    signal: AbortSignal,
    build: { ref: string; contextDir: string; buildArgs: Record<string, string> },
    timer: StageTimer,
  ): Promise<() => void> {
    const log = deps.log.child({ ref: build.ref });
    const ndjson = req.headers.accept?.includes("application/x-ndjson") === true;
    const result: BuildResult = { imageName: build.ref, status: "success", log: [] };
    if (ndjson) res.writeHead(200, { "Content-Type": "application/x-ndjson" });
    // BuildKit clips each step's output itself ("log limit 2MiB reached"), which bounds this array.
    const onLog = (line: string) => {
      result.log.push(line);
      if (ndjson) res.write(`${JSON.stringify({ log: line })}\n`);
    };
    try {
      const { digest } = await deps.backend.build({ ...build, onLog, signal, timer });
      if (digest !== undefined) result.digest = digest;
    } catch (error) {
      result.status = "failure";
      if (error instanceof BuildFailure) result.error = error.message;
      else {
        // A fault (daemon unreachable, build cancelled): the detail goes to our log, not to the caller.
        log.error({ err: error }, "build did not run to completion");
        result.error = signal.aborted ? "unexpected failure: the build was cancelled" : "unexpected failure";
      }
    }
    log.info({ status: result.status, digest: result.digest, error: result.error }, "build finished");
    return () => {
      if (ndjson) res.end(`${JSON.stringify(result)}\n`);
      else sendJson(res, result.status === "success" ? 200 : 500, result);
    };
  }

  return { precheck, receive, discard, build };
}

/** Writes a JSON answer. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text) });
  res.end(text);
}
