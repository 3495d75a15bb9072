import { createServer, request, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { buffer } from "node:stream/consumers";

/** An answer the proxy gives itself instead of forwarding the request. */
export interface ProxyReply {
  status: number;
  body: string;
}

/** What a test may do to one request: act (or answer, or never answer) before it reaches S3, or edit S3's answer. */
export interface S3ProxyHooks {
  before?: (method: string, url: string) => Promise<ProxyReply | undefined> | undefined;
  answer?: (method: string, url: string, body: string) => string;
}

/**
 * A forwarding proxy on 127.0.0.1 in front of a real S3 server (issue #12): it records every request's method and
 * URL, so a test can say what an operation costs, and its hooks play an S3 that changes between two requests, refuses
 * one, hangs or answers oddly. The Host header is passed on untouched, so the client's signature still holds.
 */
export async function startS3Proxy(target: string, hooks: S3ProxyHooks = {}) {
  const requests: string[] = [];
  const [host, port] = target.split(":");
  const server = createServer((req, res) => {
    const method = req.method ?? "";
    const url = req.url ?? "/";
    requests.push(`${method} ${url}`);
    void Promise.resolve(hooks.before?.(method, url)).then((reply) => {
      if (reply) {
        req.resume();
        res.writeHead(reply.status, { "content-type": "application/xml" }).end(reply.body);
        return;
      }
      const upstream = request({ host, port, method, path: url, headers: req.headers }, (answer) => {
        const edit = hooks.answer;
        if (!edit) {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
          return;
        }
        void buffer(answer).then((body) => {
          const edited = Buffer.from(edit(method, url, body.toString()));
          const headers: IncomingHttpHeaders = { ...answer.headers, "content-length": String(edited.length) };
          delete headers["transfer-encoding"];
          res.writeHead(answer.statusCode ?? 502, headers).end(edited);
        });
      });
      req.pipe(upstream);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    endpoint: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    /** `METHOD /path?query` of each request, in the order they came. */
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
