import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { FunctionContext, FunctionEvent, FunctionHandler, PreparableHandler } from "./function-handler.js";

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

/** Reads a request into a FunctionEvent; bodies over `maxBytes` are refused rather than buffered without bound. */
export async function readEvent(req: IncomingMessage, maxBytes: number): Promise<FunctionEvent | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) return undefined;
    chunks.push(chunk as Buffer);
  }
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

/** Where and how {@link serveFunction} serves. */
export interface ServeOptions {
  port?: number;
  /** 127.0.0.1 unless told otherwise; a container image sets `http_host=0.0.0.0`. */
  host?: string;
  maxBodyBytes?: number;
  /** A handler still running after this gets a 504, as the watchdog's exec_timeout does; unset: no limit. */
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
  const maxBytes = options.maxBodyBytes ?? 100 * 1024 * 1024;
  const server = createServer((req, res) => {
    if (req.url === HEALTH_PATH) {
      res.writeHead(200, { "content-type": "text/plain" }).end("OK");
      return;
    }
    void (async () => {
      const event = await readEvent(req, maxBytes);
      if (!event) {
        res.writeHead(413, { "content-type": "text/plain" }).end(`request body over ${maxBytes} bytes`);
        return;
      }
      const result = await withTimeout(invokeHandler(handler, event), options.execTimeoutMs);
      res.writeHead(result.status, result.headers).end(result.body);
    })().catch(() => {
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

async function withTimeout(work: Promise<FunctionResult>, ms: number | undefined): Promise<FunctionResult> {
  if (ms === undefined) return work;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<FunctionResult>((resolve) => {
    timer = setTimeout(
      () =>
        resolve({
          status: 504,
          headers: { "content-type": "text/plain" },
          body: Buffer.from(`exec_timeout of ${ms / 1000}s exceeded`),
        }),
      ms,
    );
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
 * The entry point of a function image: builds the handler's configuration and clients first (a bad one rejects,
 * naming the key, and the container exits before it ever reports healthy), then serves `handler` on `http_port`
 * (default 8080) and `http_host` (default 0.0.0.0, a pod's address), with `exec_timeout` per request. On SIGTERM (a
 * rollout, a scale-down) it drains for up to `write_timeout` (default 10s), then exits, so a build hand-off in
 * flight is not cut mid-way.
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
  const served = await serveFunction(handler, {
    port,
    host: env.http_host ?? "0.0.0.0",
    ...(execTimeoutMs === undefined ? {} : { execTimeoutMs }),
  });
  const drainMs = parseDuration(env.write_timeout) ?? 10_000;
  const stop = () => void served.close(drainMs).then(() => processLike.exit(0));
  processLike.once("SIGTERM", stop);
  processLike.once("SIGINT", stop);
  return served;
}
