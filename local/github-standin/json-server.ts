import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { listen } from "../listen.js";

/** A request as the stand-in's routes see it: lowercased headers, and the body parsed if it is JSON. */
export type JsonRequest = {
  method: string;
  path: string;
  /** The query string's parameters (GitHub's OAuth endpoints take theirs there). */
  query: URLSearchParams;
  headers: Record<string, string>;
  /** The body as sent, for form-encoded ones. */
  raw: string;
  /** Parsed JSON; the raw text when `malformed`; undefined when empty. */
  body: unknown;
  malformed: boolean;
};
/** A status and a JSON body to send. */
export type JsonReply = {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
  /** Sent as is instead of `body`'s JSON (GitHub's form-encoded token answer), with a content-type in `headers`. */
  text?: string;
};

/**
 * Serves JSON over node:http on 127.0.0.1, port 0. The Date header follows `now` (epoch ms) because
 * @octokit/auth-app reads it to correct JWT clock skew, so an injected clock must show there too.
 */
export async function startJsonServer(
  handle: (req: JsonRequest) => Promise<JsonReply>,
  now: () => number,
  port = 0,
): Promise<{ url: string; close: () => Promise<void> }> {
  const server = createServer((req, res) => {
    readBody(req)
      .then(async (raw) => {
        const reply = await handle({
          method: req.method ?? "GET",
          path: (req.url ?? "/").split("?")[0] ?? "/",
          query: new URL(req.url ?? "/", "http://standin.local").searchParams,
          headers: flattenHeaders(req),
          raw,
          ...parseJson(raw),
        });
        res.writeHead(reply.status, {
          "content-type": "application/json; charset=utf-8",
          date: new Date(now()).toUTCString(),
          ...reply.headers,
        });
        res.end(reply.text ?? JSON.stringify(reply.body));
      })
      // Only a broken connection lands here; there is no one left to answer.
      .catch(() => res.destroy());
  });
  await listen(server, port);
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // Keep-alive sockets (fetch, octokit) would otherwise hold close() open.
        server.closeAllConnections();
      }),
  };
}

function parseJson(raw: string): { body: unknown; malformed: boolean } {
  if (raw === "") return { body: undefined, malformed: false };
  try {
    return { body: JSON.parse(raw) as unknown, malformed: false };
  } catch {
    return { body: raw, malformed: true };
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function flattenHeaders(req: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(", ") : value;
  }
  return headers;
}
