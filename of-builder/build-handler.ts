import { mkdtemp, rm } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { join } from "node:path";
import type { Logger } from "pino";
import { unpackBuildContext } from "../shared/build-tar.js";
import { CLOUD_SIGNATURE_HEADER } from "../shared/hmac.js";
import { HttpError } from "../shared/http-error.js";
import { BuildFailure, type BuildBackend } from "./backend.js";
import { receiveSignedBody } from "./request-body.js";

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
}

// The original's text for a bad HMAC (original-spec §6), with a real 401 (DESIGN §10).
const BAD_SIGNATURE = "invalid message digest or secret";

/**
 * POST /build: body to a temp file (413 over the cap), signature (401), safe unpack (400), build and push, then the
 * temp folder is removed whatever happened. A failed build is a result (500, status "failure"), not an exception.
 */
export function createBuildHandler(deps: BuildHandlerDeps) {
  return async function handleBuild(req: IncomingMessage, res: ServerResponse, signal: AbortSignal): Promise<void> {
    const signature = req.headers[CLOUD_SIGNATURE_HEADER];
    if (typeof signature !== "string" || signature === "") throw new HttpError(401, BAD_SIGNATURE);
    const dir = await mkdtemp(join(deps.tmpDir, "buildctx-"));
    let answer: () => void;
    try {
      const tarFile = join(dir, "build.tar");
      const limits = { maxBytes: deps.maxBuildBytes, secret: deps.payloadSecret, signature };
      const { signed } = await receiveSignedBody(req, tarFile, limits);
      if (!signed) throw new HttpError(401, BAD_SIGNATURE);
      const { config, contextDir } = await unpackBuildContext(tarFile, join(dir, "build"), {
        maxBytes: deps.maxBuildBytes,
        maxFiles: deps.maxBuildFiles,
      });
      await rm(tarFile);
      answer = await runBuild(req, res, signal, {
        ref: config.ref,
        contextDir,
        buildArgs: { ...deps.baseBuildArgs, ...config.buildArgs },
      });
    } finally {
      // Before the answer, so a caller that has its answer never finds our files.
      await rm(dir, { recursive: true, force: true });
    }
    answer();
  };

  async function runBuild(
    req: IncomingMessage,
    res: ServerResponse,
    signal: AbortSignal,
    build: { ref: string; contextDir: string; buildArgs: Record<string, string> },
  ): Promise<() => void> {
    const log = deps.log.child({ ref: build.ref });
    const ndjson = (req.headers.accept ?? "").includes("application/x-ndjson");
    const result: BuildResult = { imageName: build.ref, status: "success", log: [] };
    if (ndjson) res.writeHead(200, { "Content-Type": "application/x-ndjson" });
    // BuildKit clips each step's output itself ("log limit 2MiB reached"), which bounds this array.
    const onLog = (line: string) => {
      result.log.push(line);
      if (ndjson) res.write(`${JSON.stringify({ log: line })}\n`);
    };
    try {
      const { digest } = await deps.backend.build({ ...build, onLog, signal });
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
}

/** Writes a JSON answer. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text) });
  res.end(text);
}
