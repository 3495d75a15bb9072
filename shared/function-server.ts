import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { FunctionContext, FunctionEvent, FunctionHandler } from "./function-handler.js";

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

/** Serves one handler over HTTP, as the OpenFaaS node template does; binds to 127.0.0.1 unless told otherwise. */
export async function serveFunction(
  handler: FunctionHandler,
  options: { port?: number; host?: string; maxBodyBytes?: number } = {},
): Promise<{ url: string; server: Server; close(): Promise<void> }> {
  const maxBytes = options.maxBodyBytes ?? 100 * 1024 * 1024;
  const server = createServer((req, res) => {
    void (async () => {
      const event = await readEvent(req, maxBytes);
      if (!event) {
        res.writeHead(413, { "content-type": "text/plain" }).end(`request body over ${maxBytes} bytes`);
        return;
      }
      const result = await invokeHandler(handler, event);
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
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
