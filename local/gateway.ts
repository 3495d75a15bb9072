import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import type { FunctionHandler } from "../shared/function-handler.js";
import { DEFAULT_MAX_BODY_BYTES, readEvent, refuseBody, serveRequest } from "../shared/function-server.js";
import { isHttpError } from "../shared/http-error.js";
import { createGatewayMetrics } from "./gateway-metrics.js";
import { createBasicAuth, type Credentials } from "./provider/basic-auth.js";
import { NAMESPACE } from "./provider/deployment.js";
import type { FunctionLimits } from "./system-stack.js";
import { createSystemHandlers, type SystemHandlers, type SystemReply } from "./provider/handlers.js";
import type { LocalProvider } from "./provider/provider.js";
import { createProxy } from "./provider/proxy.js";
import { listen } from "./listen.js";

/** What `/async-function/<name>` hands to the queue (the gateway's QueueRequest, anchors §A). */
export interface QueuedRequest {
  callId: string;
  function: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  body: Buffer;
  callbackUrl?: string;
}

/** The async queue behind the gateway; resolves once the request is durably accepted. */
export interface AsyncQueue {
  enqueue(request: QueuedRequest): Promise<void>;
}

const ROUTE = /^\/(function|async-function)\/([-a-zA-Z_0-9.]+)(\/.*)?$/;
const FUNCTIONS = /^\/system\/functions$/;
const SECRETS = /^\/system\/secrets$/;
// The gateway's routes (anchors §A), each to its handler in local/provider/handlers.ts.
const SYSTEM: Array<[method: string, path: RegExp, handler: keyof SystemHandlers]> = [
  ["GET", FUNCTIONS, "listFunctions"],
  ["POST", FUNCTIONS, "deployFunction"],
  ["PUT", FUNCTIONS, "updateFunction"],
  ["DELETE", FUNCTIONS, "deleteFunction"],
  ["GET", /^\/system\/function\/([-a-zA-Z_0-9.]+)$/, "getFunction"],
  ["GET", SECRETS, "listSecrets"],
  ["POST", SECRETS, "createSecret"],
  ["PUT", SECRETS, "updateSecret"],
  ["DELETE", SECRETS, "deleteSecret"],
  ["GET", /^\/system\/info$/, "info"],
  ["GET", /^\/system\/namespaces$/, "listNamespaces"],
  ["POST", /^\/system\/scale-function\/([-a-zA-Z_0-9.]+)$/, "scaleFunction"],
  ["GET", /^\/system\/logs$/, "logs"],
];

/**
 * The local OpenFaaS-compatible gateway (DESIGN §7): `/function/<name>` runs a system function in-process, else
 * proxies to the provider's container for it; `/async-function/<name>` queues the call and answers 202 with its
 * X-Call-Id; `/system/*` is the provider API behind basic auth (501 without a provider); `/metrics` (Prometheus
 * text, the gateway's metric names); `/healthz`.
 */
export async function startGateway(deps: {
  functions: ReadonlyMap<string, FunctionHandler>;
  queue: AsyncQueue;
  log: Logger;
  port?: number;
  /** Cap on a request body the gateway buffers (/system/*, queued calls to other functions); default 100 MB. */
  maxBodyBytes?: number;
  /**
   * Each in-process system function's own limits (its stack.yml `max_body_bytes` and `exec_timeout`), as its image
   * would enforce them: a body over the cap is refused 413 before it is buffered, for sync and async calls alike,
   * and the handler's work is aborted at the deadline or when the caller goes away (issue #10).
   */
  functionLimits?: Readonly<Record<string, FunctionLimits>>;
  /** Runs user functions and answers /system/*. */
  provider?: LocalProvider;
  /** Basic auth on /system/* only, as the real gateway (anchors §A); none when absent. */
  auth?: Credentials;
}): Promise<{ url: string; server: Server; close(): Promise<void> }> {
  const maxBytes = deps.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const capOf = (name: string) => deps.functionLimits?.[name]?.bodyBytes ?? maxBytes;
  const system = deps.provider && createSystemHandlers(deps.provider);
  const metrics = createGatewayMetrics({
    replicas: async () =>
      (await deps.provider?.functions.list())?.map(({ name, replicas }) => ({ name, replicas: replicas ?? 0 })) ?? [],
  });
  const authorized = deps.auth ? createBasicAuth(deps.auth) : () => true;
  const proxy = createProxy();
  const text = (res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}) =>
    void res.writeHead(status, { "content-type": "text/plain", ...headers }).end(body);

  async function systemCall(req: IncomingMessage, res: ServerResponse, url: URL) {
    if (!authorized(req.headers.authorization)) {
      return text(res, 401, "invalid credentials", { "www-authenticate": 'Basic realm="Restricted"' });
    }
    if (!system) return text(res, 501, "no provider configured");
    const routes = SYSTEM.filter(([, path]) => path.test(url.pathname));
    const route = routes.find(([method]) => method === req.method);
    if (!route) return routes.length ? text(res, 405, "method not allowed") : text(res, 404, "not found");
    const event = await readEvent(req, maxBytes);
    if (!event) return refuseBody(req, res, maxBytes);
    const name = route[1].exec(url.pathname)?.[1];
    const gone = new AbortController();
    res.once("close", () => gone.abort());
    const reply: SystemReply = await system[route[2]]({
      body: event.body,
      query: url.searchParams,
      ...(name ? { name } : {}),
      signal: gone.signal,
    });
    if (reply.lines) return streamLines(res, reply.status, reply.lines, gone.signal);
    if (reply.json === undefined) return void res.writeHead(reply.status).end();
    res.writeHead(reply.status, { "content-type": "application/json" }).end(JSON.stringify(reply.json));
  }

  /** Exposition text of the gateway's metrics; behind the /system/* account (docs/local.md#metrics-logs-and-scaling). */
  async function serveMetrics(req: IncomingMessage, res: ServerResponse) {
    if (!authorized(req.headers.authorization)) {
      return text(res, 401, "invalid credentials", { "www-authenticate": 'Basic realm="Restricted"' });
    }
    if (req.method !== "GET") return text(res, 405, "method not allowed");
    const { contentType, body } = await metrics.render();
    res.writeHead(200, { "content-type": contentType }).end(body);
  }

  /** Counts a call that reaches a function as upstream's notifier does: started, then its status code and time. */
  async function counted(name: string, res: ServerResponse, call: () => Promise<void>) {
    const started = performance.now();
    metrics.started(name);
    try {
      await call();
    } finally {
      // A throw before the headers went out becomes the 500 the caller gets (the route's catch below).
      const code = res.headersSent ? res.statusCode : 500;
      metrics.completed(name, code, (performance.now() - started) / 1000);
    }
  }

  async function invoke(req: IncomingMessage, res: ServerResponse, name: string, rest: string, url: URL) {
    const callId = (req.headers["x-call-id"] as string | undefined) ?? randomUUID();
    const handler = deps.functions.get(name);
    if (handler) {
      // Answered as the function's own server would (shared/function-server.ts), with the gateway's call id.
      const limits = { maxBytes: capOf(name), execTimeoutMs: deps.functionLimits?.[name]?.execTimeoutMs };
      return counted(name, res, () =>
        serveRequest(req, res, handler, { path: rest, ...limits, headers: { "x-call-id": callId } }),
      );
    }
    const target = await deps.provider?.functions.target(name.replace(new RegExp(`\\.${NAMESPACE}$`), ""));
    if (!target) return text(res, 404, `function ${name} not found`);
    // Held by the provider until the container answered or its readiness timeout passed (issue #18).
    if (target === "not-ready") {
      return text(
        res,
        503,
        `function ${name} is not ready: its container did not answer HTTP in time (faas-cli logs ${name} shows why)`,
      );
    }
    try {
      const headers = { "x-call-id": callId };
      // Unknown and not-ready functions are not counted: upstream's scaling handler answers those before the proxy.
      await counted(name, res, () =>
        proxy.forward(req, res, { name, port: target.port, path: rest + url.search, headers }),
      );
    } finally {
      target.release();
    }
  }

  async function enqueue(req: IncomingMessage, res: ServerResponse, name: string, rest: string) {
    const event = await readEvent(req, capOf(name));
    if (!event) return refuseBody(req, res, capOf(name));
    if (event.method !== "POST") return text(res, 405, "POST only");
    const callId = event.headers["x-call-id"] ?? randomUUID();
    const callbackUrl = event.headers["x-callback-url"];
    const defined = (record: Readonly<Record<string, string | undefined>>) =>
      Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined)) as Record<string, string>;
    await deps.queue.enqueue({
      callId,
      function: name,
      path: rest,
      query: defined(event.query),
      headers: defined(event.headers),
      body: event.body,
      ...(callbackUrl ? { callbackUrl } : {}),
    });
    res.writeHead(202, { "x-call-id": callId }).end();
  }

  async function route(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? "/", "http://gateway.local");
    if (url.pathname === "/healthz") return text(res, 200, "OK");
    if (url.pathname === "/metrics") return serveMetrics(req, res);
    if (url.pathname.startsWith("/system/")) return systemCall(req, res, url);
    const match = ROUTE.exec(url.pathname);
    if (!match) return text(res, 404, "not found");
    const [, kind, name = "", rest = "/"] = match;
    if (kind === "async-function") return enqueue(req, res, name, rest);
    return invoke(req, res, name, rest, url);
  }

  /** ndjson, each line written as it comes (faas-provider flushes every message), until the caller goes away. */
  async function streamLines(res: ServerResponse, status: number, lines: AsyncIterable<unknown>, gone: AbortSignal) {
    res.writeHead(status, { "content-type": "application/x-ndjson" });
    res.flushHeaders();
    try {
      for await (const line of lines) {
        if (!res.write(JSON.stringify(line) + "\n")) await once(res, "drain", { signal: gone });
      }
    } catch (error) {
      if (gone.aborted) return;
      // The status is out: cut the stream so the client sees it end early rather than a truncated success.
      deps.log.error({ err: error }, "log stream failed");
      return void res.destroy();
    }
    res.end();
  }

  const server = createServer((req, res) => {
    route(req, res).catch((error: unknown) => {
      if (isHttpError(error) && !res.headersSent) return text(res, error.status, error.message);
      deps.log.error({ err: error }, "gateway request failed");
      if (!res.headersSent) text(res, 500, "internal error");
      else res.destroy();
    });
  });
  await listen(server, deps.port ?? 0);
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        proxy.close();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
