import { Agent, request, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import { pipeline } from "node:stream/promises";
import { hopByHop } from "../../shared/hop-by-hop.js";

/** Forwards one call to a function's container on 127.0.0.1, streaming both bodies. */
export interface Proxy {
  /**
   * Sends `req` (its method, headers and body) to `port` at `path` (path rest plus query) and streams the answer
   * back, with `headers` added both ways; a 502 naming the function when the container does not answer. Resolves
   * when the exchange is over.
   */
  forward(
    req: IncomingMessage,
    res: ServerResponse,
    target: { name: string; port: number; path: string; headers?: Record<string, string> },
  ): Promise<void>;
  close(): void;
}

/** A Proxy with its own keep-alive connections to the functions. */
export function createProxy(): Proxy {
  const agent = new Agent({ keepAlive: true });

  return {
    async forward(req, res, target) {
      const headers = { ...withoutHopByHop(req.headers), ...target.headers };
      delete headers.host;
      const upstream = request({
        host: "127.0.0.1",
        port: target.port,
        method: req.method,
        path: target.path,
        headers,
        agent,
      });
      const answer = new Promise<IncomingMessage>((resolve, reject) => {
        upstream.once("response", resolve);
        upstream.on("error", reject);
      });
      // The client leaving mid-call ends the upstream call too (only then: a finished call's socket is back in the pool).
      res.once("close", () => res.writableFinished || upstream.destroy());
      const sent = pipeline(req, upstream).catch(() => undefined);
      let reply: IncomingMessage;
      try {
        reply = await answer;
      } catch (err) {
        if (!res.headersSent) {
          const message = `function ${target.name} did not answer: ${(err as Error).message}`;
          res.writeHead(502, { "content-type": "text/plain" }).end(message);
        } else res.destroy();
        return;
      }
      res.writeHead(reply.statusCode ?? 502, reply.statusMessage, {
        ...withoutHopByHop(reply.headers),
        ...target.headers,
      });
      await pipeline(reply, res).catch(() => res.destroy());
      await sent;
    },
    close: () => agent.destroy(),
  };
}

function withoutHopByHop(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const isHopByHop = hopByHop(headers.connection);
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !isHopByHop(name)));
}
