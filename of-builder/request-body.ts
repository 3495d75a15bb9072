import { createWriteStream } from "node:fs";
import type { IncomingMessage } from "node:http";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { HttpError } from "../shared/http-error.js";

/** The streaming half of a hop check (shared/hmac.ts createHopVerifier) the body is fed through. */
export interface BodyVerifier {
  update(chunk: Buffer): void;
  matches(): boolean;
}

/**
 * Streams a request body into `file` (mode 0600), refusing more than `maxBytes` with 413, and feeds the exact bytes
 * to `verifier` as they pass (DESIGN §2). Streaming keeps a 500 MB context out of memory, which a whole-buffer
 * check would not. Resolves to whether the signature matched; a body cut short rejects.
 */
export async function receiveSignedBody(
  req: IncomingMessage,
  file: string,
  limits: { maxBytes: number; verifier: BodyVerifier },
): Promise<{ bytes: number; signed: boolean }> {
  const declared = Number(req.headers["content-length"]);
  if (declared > limits.maxBytes) throw tooLarge(limits.maxBytes);
  let bytes = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      if (bytes > limits.maxBytes) return done(tooLarge(limits.maxBytes));
      limits.verifier.update(chunk);
      done(null, chunk);
    },
  });
  const written = pipeline(meter, createWriteStream(file, { mode: 0o600 }));
  // Not pipeline(req, …): on a refusal that would destroy the socket before the 413 could be sent.
  req.pipe(meter);
  // An aborted request always ends in "close" with `complete` false ("error" comes before it only when listened to),
  // so this one handler covers it.
  req.on("close", () => {
    if (!req.complete) meter.destroy(new Error("the client closed the connection before the body ended"));
  });
  await written.finally(
    // Stryker disable next-line ArrowFunction: pipe() unpipes by itself once meter finishes or closes, as it has here.
    () => req.unpipe(meter),
  );
  if (bytes === 0) throw new HttpError(400, "the request has no body: expected a build tar");
  return { bytes, signed: limits.verifier.matches() };
}

/** The 413 for a build tar over max_build_mb. */
export function tooLarge(maxBytes: number): HttpError {
  return new HttpError(413, `the build tar is over max_build_mb (${maxBytes / (1024 * 1024)} MB)`);
}
