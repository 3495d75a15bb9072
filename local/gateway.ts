import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import type { FunctionHandler } from "../shared/function-handler.js";
import { invokeHandler, readEvent } from "../shared/function-server.js";

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

/**
 * The local OpenFaaS-compatible gateway (DESIGN §7): `/function/<name>` runs a system function in-process,
 * `/async-function/<name>` queues the call and answers 202 with its X-Call-Id, like the real gateway.
 */
export async function startGateway(deps: {
  functions: ReadonlyMap<string, FunctionHandler>;
  queue: AsyncQueue;
  log: Logger;
  port?: number;
  maxBodyBytes?: number;
}): Promise<{ url: string; server: Server; close(): Promise<void> }> {
  const maxBytes = deps.maxBodyBytes ?? 100 * 1024 * 1024;
  const server = createServer((req, res) => {
    void (async () => {
      const match = ROUTE.exec(new URL(req.url ?? "/", "http://gateway.local").pathname);
      if (!match) return res.writeHead(404, { "content-type": "text/plain" }).end("not found");
      const [, kind, name = "", rest = "/"] = match;
      const event = await readEvent(req, maxBytes);
      if (!event)
        return res.writeHead(413, { "content-type": "text/plain" }).end(`request body over ${maxBytes} bytes`);
      const callId = event.headers["x-call-id"] ?? randomUUID();
      if (kind === "async-function") {
        if (event.method !== "POST") return res.writeHead(405, { "content-type": "text/plain" }).end("POST only");
        const callbackUrl = event.headers["x-callback-url"];
        const headers = Object.fromEntries(Object.entries(event.headers).filter(([, v]) => v !== undefined)) as Record<
          string,
          string
        >;
        const query = Object.fromEntries(Object.entries(event.query).filter(([, v]) => v !== undefined)) as Record<
          string,
          string
        >;
        await deps.queue.enqueue({
          callId,
          function: name,
          path: rest,
          query,
          headers,
          body: event.body,
          ...(callbackUrl ? { callbackUrl } : {}),
        });
        return res.writeHead(202, { "x-call-id": callId }).end();
      }
      const handler = deps.functions.get(name);
      if (!handler) return res.writeHead(404, { "content-type": "text/plain" }).end(`function ${name} not found`);
      const result = await invokeHandler(handler, { ...event, path: rest });
      res.writeHead(result.status, { ...result.headers, "x-call-id": callId }).end(result.body);
    })().catch((error: unknown) => {
      deps.log.error({ err: error }, "gateway request failed");
      if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" }).end("internal error");
      else res.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(deps.port ?? 0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
