import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { BlockList } from "node:net";
import type { Logger } from "pino";
import { isHttpError } from "../shared/http-error.js";
import { sendErrorPage } from "./error-page.js";
import { createForwarder } from "./forward.js";
import { resolveRoute } from "./routes.js";

/** What the edge router needs: its domain, the gateway, the proxies it trusts and a logger. */
export interface EdgeRouterDeps {
  /** Owners' hosts are `<owner>.<domain>`, the system's `system.<domain>`. */
  domain: string;
  gatewayUrl: string;
  trustedProxies: BlockList;
  log: Logger;
}

/** A running edge router: the HTTP server (not yet listening) and its shutdown. */
export interface EdgeRouter {
  server: Server;
  /** Stops accepting, lets calls in flight finish for up to `graceMs`, then cuts the rest. */
  close(graceMs?: number): Promise<void>;
}

// Longer than the idle timeout of the proxies in front (60 s is common), so that the proxy, never the router, closes
// an idle connection: a connection the router closed while the proxy sent on it would fail that request.
const KEEP_ALIVE_MS = 75_000;

/**
 * The edge router (issue #13): `<owner>.<domain>/<fn>/…` to the owner's function on the gateway, `system.<domain>/…`
 * to the system's public functions, `/healthz` on the pod's address; anything else a 404 page.
 */
export function createEdgeRouter(deps: EdgeRouterDeps): EdgeRouter {
  const forwarder = createForwarder(deps);

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const route = resolveRoute(req.headers.host, req.url ?? "", deps.domain);
    if (route.kind === "gateway") return forwarder.forward(req, res, route.path);
    // The original's exact behaviour (as of-builder's): GET → "OK", anything else → 405 with an empty body.
    const get = req.method === "GET" || req.method === "HEAD";
    res.writeHead(get ? 200 : 405, get ? { "Content-Type": "text/plain" } : { Allow: "GET, HEAD" });
    res.end(get && req.method === "GET" ? "OK" : "");
  }

  const server = createServer((req, res) => {
    // A write to a response whose client left must not crash the process.
    res.on("error", (err) => deps.log.debug({ err }, "response error"));
    handle(req, res).catch((error: unknown) => {
      // The one place errors become answers: an HttpError keeps its status and message, anything else is a 500.
      const status = isHttpError(error) ? error.status : 500;
      if (status >= 500) deps.log.warn({ err: error, host: req.headers.host, url: req.url }, "request failed");
      sendErrorPage(req, res, status, isHttpError(error) ? error.message : "unexpected failure");
    });
  });
  server.keepAliveTimeout = KEEP_ALIVE_MS;
  server.headersTimeout = KEEP_ALIVE_MS + 1_000;

  return {
    server,
    async close(graceMs = 10_000) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const timer = setTimeout(() => server.closeAllConnections(), graceMs);
      await closed;
      clearTimeout(timer);
      forwarder.close();
    },
  };
}
