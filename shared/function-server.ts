import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type {
  FunctionContext,
  FunctionEvent,
  FunctionHandler,
  Precheck,
  PrecheckedHandler,
  PreparableHandler,
} from "./function-handler.js";
import { CLOUD_SIGNATURE_HEADER, createHopVerifier, QUEUED_HOP_MAX_AGE_MS } from "./hmac.js";

/** The answer a handler produced, as the node template would send it. */
export interface FunctionResult {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** Runs a handler on an event in-process and collects its answer, with the node template's semantics. */
export async function invokeHandler(handler: FunctionHandler, event: FunctionEvent): Promise<FunctionResult> {
  let status = 200;
  let headers: Record<string, string> = {};
  let sent: unknown;
  let done = false;
  const context = {
    status(code?: number) {
      if (code === undefined) return status;
      status = code;
      return context;
    },
    headers(values?: Record<string, string>) {
      if (values === undefined) return headers;
      headers = { ...headers, ...values };
      return context;
    },
    succeed(value: unknown) {
      sent = value;
      done = true;
    },
    fail(error: unknown) {
      if (status === 200) status = 500;
      sent = String(error);
      done = true;
    },
  } as FunctionContext;
  try {
    const returned: unknown = await handler(event, context);
    if (!done) sent = returned;
  } catch (error) {
    context.fail(error);
  }
  return { status, headers, body: encode(sent) };
}

function encode(value: unknown): Buffer {
  if (value === undefined || value === null) return Buffer.alloc(0);
  if (Buffer.isBuffer(value)) return value;
  if (typeof value === "string") return Buffer.from(value);
  return Buffer.from(JSON.stringify(value));
}

/** `handler` with a {@link Precheck} the server runs before it reads a request's body. */
export function withPrecheck<H extends FunctionHandler>(handler: H, precheck: Precheck): H & { precheck: Precheck } {
  return Object.assign(handler, { precheck });
}

/**
 * The precheck of a stage only internal hops call (issue #10): a POST without a well-formed X-Cloud-Signature-256
 * at most an hour old (the queue's allowance, QUEUED_HOP_MAX_AGE_MS) is refused 401 before its body is read, so an
 * unsigned caller cannot make the stage buffer up to its cap. The handler still checks the HMAC, the target and
 * its own age limit; `exceptPaths` are signed otherwise (github-push's queue callback).
 */
export function hopPrecheck(target: string, options: { exceptPaths?: string[] } = {}): Precheck {
  return ({ method, path, headers }) => {
    if (method !== "POST" || options.exceptPaths?.includes(path)) return undefined;
    const header = headers[CLOUD_SIGNATURE_HEADER];
    const { ready } = createHopVerifier("", target, typeof header === "string" ? header : undefined, {
      maxAgeMs: QUEUED_HOP_MAX_AGE_MS,
    });
    return ready
      ? undefined
      : { status: 401, message: `invalid, stale or missing X-Cloud-Signature-256 for ${target}` };
  };
}

/** How much body a function buffers when `max_body_bytes` is not set. */
export const DEFAULT_MAX_BODY_BYTES = 100 * 1024 * 1024;

/**
 * Reads a request into a FunctionEvent, or undefined when its body is over `maxBytes` (issue #10): a declared
 * Content-Length over the cap is refused before a byte of the body is read, and a chunked body stops being read at
 * the chunk that crosses the cap. Answer undefined with {@link refuseBody}, which drops the connection.
 */
export async function readEvent(req: IncomingMessage, maxBytes: number): Promise<FunctionEvent | undefined> {
  const declared = Number(req.headers["content-length"]);
  if (declared > maxBytes) return undefined;
  const chunks: Buffer[] = [];
  const within = await new Promise<boolean>((resolve, reject) => {
    let size = 0;
    const stop = (outcome: boolean) => {
      req.off("data", onData).off("end", onEnd).off("error", reject).off("close", onClose);
      resolve(outcome);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBytes) return void chunks.push(chunk);
      // Stop pulling from the socket: what is still in flight is never read (refuseBody closes the connection).
      req.pause();
      stop(false);
    };
    const onEnd = () => stop(true);
    const onClose = () => reject(new Error("the client closed the connection before the body ended"));
    req.on("data", onData).once("end", onEnd).once("error", reject).once("close", onClose);
  });
  if (!within) return undefined;
  const url = new URL(req.url ?? "/", "http://function.local");
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return {
    body: Buffer.concat(chunks),
    headers,
    method: req.method ?? "GET",
    query: Object.fromEntries(url.searchParams),
    path: url.pathname,
  };
}

/**
 * Answers 413 to a request whose body was not (fully) read, then closes the connection once the answer
 * is out: the rest of the body is never read, so a 60 MB upload costs what was read before the refusal.
 */
export function refuseBody(req: IncomingMessage, res: ServerResponse, maxBytes: number): void {
  refuseUnread(req, res, { status: 413, message: `request body over ${maxBytes} bytes` });
}

/** Answers a request whose body is not read to its end, then closes the connection: the rest is never read. */
function refuseUnread(req: IncomingMessage, res: ServerResponse, refusal: { status: number; message: string }): void {
  if (!req.complete) res.once("finish", () => req.socket.destroy());
  const headers = { "content-type": "text/plain; charset=utf-8", ...(req.complete ? {} : { connection: "close" }) };
  res.writeHead(refusal.status, headers).end(refusal.message);
}

/** Where and how {@link serveFunction} serves. */
export interface ServeOptions {
  port?: number;
  /** 127.0.0.1 unless told otherwise; a container image sets `http_host=0.0.0.0`. */
  host?: string;
  maxBodyBytes?: number;
  /**
   * A handler still running after this gets a 504, as the watchdog's exec_timeout does, and its event's `signal`
   * aborts with a `TimeoutError`; unset: no limit.
   */
  execTimeoutMs?: number;
}

/** A running function server. */
export interface FunctionServer {
  url: string;
  server: Server;
  /**
   * Graceful stop: refuses new connections (so health probes fail), lets the requests in flight finish for up to
   * `drainMs` (default: wait for them all), then cuts what is left.
   */
  close(drainMs?: number): Promise<void>;
}

// The watchdog's reserved health path, which kubelet and faasd probe.
const HEALTH_PATH = "/_/health";

/** Serves one handler over HTTP, as the OpenFaaS node template does, with a health path and a graceful stop. */
export async function serveFunction(handler: FunctionHandler, options: ServeOptions = {}): Promise<FunctionServer> {
  const maxBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const server = createServer((req, res) => {
    if (req.url === HEALTH_PATH) {
      res.writeHead(200, { "content-type": "text/plain" }).end("OK");
      return;
    }
    const path = new URL(req.url ?? "/", "http://function.local").pathname;
    serveRequest(req, res, handler, { path, maxBytes, execTimeoutMs: options.execTimeoutMs }).catch(() => {
      if (!res.headersSent) res.writeHead(500).end("internal error");
      else res.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    async close(drainMs) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Keep-alive sockets with no request in flight would hold close() open until they time out.
      server.closeIdleConnections();
      if (drainMs === undefined) return closed;
      const timer = setTimeout(() => server.closeAllConnections(), drainMs);
      await closed;
      clearTimeout(timer);
    },
  };
}

/**
 * One request to a handler, as its function's own server answers it: what the handler's precheck refuses is refused
 * unread, a body over `maxBytes` is cut off (413), then the handler runs under {@link invokeFor}. The local gateway,
 * which hosts the system functions in-process, answers their calls through this too.
 */
export async function serveRequest(
  req: IncomingMessage,
  res: ServerResponse,
  handler: FunctionHandler,
  options: { path: string; maxBytes: number; execTimeoutMs?: number | undefined; headers?: Record<string, string> },
): Promise<void> {
  const refusal = (handler as PrecheckedHandler).precheck?.({
    method: req.method ?? "GET",
    path: options.path,
    headers: req.headers,
  });
  if (refusal) return refuseUnread(req, res, refusal);
  const event = await readEvent(req, options.maxBytes);
  if (!event) return refuseBody(req, res, options.maxBytes);
  const result = await invokeFor(res, handler, { ...event, path: options.path }, options.execTimeoutMs);
  res.writeHead(result.status, { ...result.headers, ...options.headers }).end(result.body);
}

/**
 * Runs a handler for one HTTP exchange, as the watchdog does: the event's `signal` aborts when the caller goes away
 * or at `execTimeoutMs` (answered 504), so the handler's work stops, not just its reply (issue #10). The local
 * gateway reaches it through {@link serveRequest}.
 */
function invokeFor(
  res: ServerResponse,
  handler: FunctionHandler,
  event: FunctionEvent,
  execTimeoutMs: number | undefined,
): Promise<FunctionResult> {
  const controller = new AbortController();
  res.once("close", () => {
    if (!res.writableFinished) controller.abort(new DOMException("the caller disconnected", "AbortError"));
  });
  return withTimeout(invokeHandler(handler, { ...event, signal: controller.signal }), execTimeoutMs, controller);
}

async function withTimeout(
  work: Promise<FunctionResult>,
  ms: number | undefined,
  controller: AbortController,
): Promise<FunctionResult> {
  if (ms === undefined) return work;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<FunctionResult>((resolve) => {
    timer = setTimeout(() => {
      const message = `exec_timeout of ${ms / 1000}s exceeded`;
      controller.abort(new DOMException(message, "TimeoutError"));
      resolve({ status: 504, headers: { "content-type": "text/plain" }, body: Buffer.from(message) });
    }, ms);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A Go duration as the watchdog's `exec_timeout`/`write_timeout` take them ("15m", "1m30s", "500ms"), or a bare
 * number of seconds; undefined for unset, "0" or a form it cannot read.
 */
export function parseDuration(value: string | undefined): number | undefined {
  const text = value?.trim();
  if (!text) return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000 || undefined;
  const unit: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001, µs: 0.001, ns: 1e-6 };
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|us|µs|ns|h|m|s)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join("") !== text) return undefined;
  const ms = parts.reduce((sum, [, n, u]) => sum + Number(n) * (unit[u as string] as number), 0);
  return ms > 0 ? ms : undefined;
}

/**
 * `max_body_bytes` as bytes: a whole number, optionally with a `Ki`, `Mi` or `Gi` suffix (stack.yml says `25Mi`);
 * undefined when unset. A malformed value throws naming the key, so the function does not start.
 */
export function parseByteSize(value: string | undefined): number | undefined {
  const text = value?.trim();
  if (!text) return undefined;
  const match = /^([1-9]\d*)(Ki|Mi|Gi)?$/.exec(text);
  if (!match)
    throw new Error(
      `max_body_bytes: expected a whole number of bytes, optionally with Ki, Mi or Gi, got ${JSON.stringify(text)}`,
    );
  const unit = { Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 }[match[2] as "Ki" | "Mi" | "Gi"] ?? 1;
  return Number(match[1]) * unit;
}

/**
 * The entry point of a function image: builds the handler's configuration and clients first (a bad one rejects,
 * naming the key, and the container exits before it ever reports healthy), then serves `handler` on `http_port`
 * (default 8080) and `http_host` (default 0.0.0.0, a pod's address), with `exec_timeout` per request and bodies
 * capped at `max_body_bytes` (default 100 MB). On SIGTERM (a rollout, a scale-down) it drains for up to
 * `write_timeout` (default 10s), then exits, so a build hand-off in flight is not cut mid-way.
 */
export async function runFunction(
  handler: FunctionHandler,
  env: Record<string, string | undefined>,
  processLike: Pick<NodeJS.Process, "once" | "exit"> = process,
): Promise<FunctionServer> {
  const port = Number(env.http_port ?? 8080);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`http_port: expected a port, got ${port}`);
  (handler as Partial<PreparableHandler>).prepare?.();
  const execTimeoutMs = parseDuration(env.exec_timeout);
  const maxBodyBytes = parseByteSize(env.max_body_bytes);
  const served = await serveFunction(handler, {
    port,
    host: env.http_host ?? "0.0.0.0",
    ...(execTimeoutMs === undefined ? {} : { execTimeoutMs }),
    ...(maxBodyBytes === undefined ? {} : { maxBodyBytes }),
  });
  const drainMs = parseDuration(env.write_timeout) ?? 10_000;
  const stop = () => void served.close(drainMs).then(() => processLike.exit(0));
  processLike.once("SIGTERM", stop);
  processLike.once("SIGINT", stop);
  return served;
}
