import type { Logger } from "pino";
import { isHttpError } from "./http-error.js";

/** What an OpenFaaS node-template handler receives; `body` is the raw bytes, never parsed (signatures are over bytes). */
export interface FunctionEvent {
  body: Buffer;
  headers: Readonly<Record<string, string | undefined>>;
  method: string;
  query: Readonly<Record<string, string | undefined>>;
  path: string;
  /**
   * Aborts when nobody waits for the answer any more: `exec_timeout` passed (reason: a `TimeoutError`) or the caller
   * disconnected (an `AbortError`). Optional, so handlers written for the node template keep their signature; a
   * handler that holds resources for long threads it through its work (issue #10).
   */
  signal?: AbortSignal;
}

/** The node template's chainable response context (anchors §C). */
export interface FunctionContext {
  status(code: number): FunctionContext;
  status(): number;
  headers(values: Record<string, string>): FunctionContext;
  headers(): Record<string, string>;
  succeed(value: unknown): void;
  fail(error: unknown): void;
}

/** The signature every functions/<name>/handler.ts default-exports. */
export type FunctionHandler = (event: FunctionEvent, context: FunctionContext) => Promise<void>;

/** What a stage operation answers with; refusals are thrown as HttpError instead. */
export interface Reply {
  status: number;
  body: string | object;
  headers?: Record<string, string>;
}

/**
 * Runs one stage operation and maps its outcome to the response once (STYLE §2.8): an HttpError keeps its status
 * and public message; anything else is logged and becomes a generic 500.
 */
export async function respond(context: FunctionContext, log: Logger, work: () => Promise<Reply>): Promise<void> {
  try {
    const reply = await work();
    context
      .status(reply.status)
      .headers({
        "content-type": typeof reply.body === "string" ? "text/plain; charset=utf-8" : "application/json",
        ...reply.headers,
      })
      .succeed(reply.body);
  } catch (error) {
    if (isHttpError(error)) {
      if (error.status >= 500) log.warn({ err: error.cause ?? error }, error.message);
      context.status(error.status).headers({ "content-type": "text/plain; charset=utf-8" }).succeed(error.message);
      return;
    }
    log.error({ err: error }, "unhandled error");
    context.status(500).headers({ "content-type": "text/plain; charset=utf-8" }).succeed("internal error");
  }
}

/**
 * A refusal decided from a request's method, path and headers alone, so the server answers it before reading (and
 * buffering) the body (issue #10); undefined lets the request through to the handler.
 */
export type Precheck = (request: {
  method: string;
  path: string;
  headers: Readonly<Record<string, string | string[] | undefined>>;
}) => { status: number; message: string } | undefined;

/** A handler carrying its {@link Precheck}, which serveFunction and the local gateway run before reading a body. */
export type PrecheckedHandler = FunctionHandler & { precheck?: Precheck };

/** A handler whose dependencies can be built before the first request, so a bad configuration stops the start. */
export type PreparableHandler = FunctionHandler & { prepare(): void };

/**
 * Builds a handler's dependencies once, from the process environment: the composition root of a deployed function
 * (STYLE §2.5). Importing the module stays side-effect free, so tests build their own; a function image calls
 * `prepare()` at start (shared/function-server.ts runFunction), where a missing secret fails the start naming it.
 */
export function lazyHandler(build: () => FunctionHandler): PreparableHandler {
  let handler: FunctionHandler | undefined;
  const run = ((event, context) => (handler ??= build())(event, context)) as PreparableHandler;
  run.prepare = () => void (handler ??= build());
  (run as PrecheckedHandler).precheck = (request) => ((handler ??= build()) as PrecheckedHandler).precheck?.(request);
  return run;
}
