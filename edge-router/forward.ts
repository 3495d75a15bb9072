import { Agent, request, type IncomingMessage, type ServerResponse } from "node:http";
import type { BlockList } from "node:net";
import { hopByHop } from "../shared/hop-by-hop.js";
import { HttpError } from "../shared/http-error.js";

// Expect is answered by this server (Node sends the 100 Continue), so the gateway must not wait for one again.
const ANSWERED_HERE = "expect";
// What a client could send to pose as a proxy: dropped unless the peer is a trusted proxy.
const FORWARDING = /^(x-forwarded-|forwarded$|x-real-ip$)/;
const OURS = /^x-forwarded-(for|proto|host)$/;

/** Sends one request on to the gateway and its answer back, both bodies streamed. */
export interface Forwarder {
  /**
   * Resolves once the gateway's answer is streaming back (a failure after that cuts the client's response short);
   * rejects with an HttpError 502 when the gateway could not be reached or failed before answering.
   */
  forward(req: IncomingMessage, res: ServerResponse, path: string): Promise<void>;
  close(): void;
}

/** The fields of `raw` (rawHeaders' name, value, name, value…) a proxy passes on: hop-by-hop ones dropped. */
function endToEnd(raw: string[], drop: (name: string) => boolean, connection: string | undefined): string[] {
  const isHopByHop = hopByHop(connection);
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (isHopByHop(name) || name === ANSWERED_HERE || drop(name)) continue;
    out.push(raw[i]!, raw[i + 1]!);
  }
  return out;
}

/** A Forwarder to `gatewayUrl` over keep-alive connections, trusting forwarding headers from `trustedProxies` only. */
export function createForwarder(deps: { gatewayUrl: string; trustedProxies: BlockList }): Forwarder {
  const gateway = new URL(deps.gatewayUrl);
  const base = gateway.pathname.replace(/\/+$/, "");
  // The timeout lets Node honour a gateway's "Keep-Alive: timeout=N" hint (it applies the hint only under an agent
  // timeout): an idle pooled connection is dropped before the gateway drops it. 60 s stays under the OpenFaaS
  // gateway's idle timeout (its read_timeout, 65 s in the chart); on a busy connection it only emits an event.
  const agent = new Agent({ keepAlive: true, maxFreeSockets: 256, timeout: 60_000 });

  return {
    forward(req, res, path) {
      const peer = (req.socket.remoteAddress ?? "").replace(/^::ffff:(?=\d+\.)/, "");
      const trusted = peer !== "" && deps.trustedProxies.check(peer, peer.includes(":") ? "ipv6" : "ipv4");
      // Ours replace a trusted proxy's X-Forwarded-For/-Proto/-Host (read below); from anyone else every forwarding
      // field is dropped, so a client cannot pose as a proxy.
      const drop = (n: string) => n === "host" || OURS.test(n) || (!trusted && FORWARDING.test(n));
      const headers = endToEnd(req.rawHeaders, drop, req.headers.connection);
      const given = (name: string) => (trusted ? (req.headers[name] as string | undefined) : undefined);
      const forwardedFor = given("x-forwarded-for");
      headers.push(
        "Host",
        gateway.host,
        // The client's address, after those a trusted proxy in front of us recorded (it appended as we do).
        "X-Forwarded-For",
        forwardedFor ? `${forwardedFor}, ${peer}` : peer,
        "X-Forwarded-Proto",
        given("x-forwarded-proto") ?? "http",
        "X-Forwarded-Host",
        given("x-forwarded-host") ?? req.headers.host ?? "",
      );
      // A body of unknown length (chunked) stays chunked; Node would otherwise not frame it for GET or DELETE.
      if (req.headers["transfer-encoding"] !== undefined) headers.push("Transfer-Encoding", "chunked");

      const options = {
        host: gateway.hostname,
        port: gateway.port || 80,
        method: req.method,
        path: `${base}${path}`,
        headers,
        agent,
        setHost: false,
      };
      // A request without a body can be sent again as it was: once, when the gateway had closed the pooled
      // connection it went out on (the race every keep-alive client has; Node's http docs suggest this retry).
      const bodiless = req.headers["content-length"] === undefined || req.headers["content-length"] === "0";
      const replayable = bodiless && req.headers["transfer-encoding"] === undefined;
      return new Promise<void>((resolve, reject) => {
        const send = (retry: boolean) => {
          const upstream = request(options);
          // The client leaving mid-call ends the gateway call too (only then: a finished call's socket is pooled again).
          const cut = () => res.writableFinished || upstream.destroy();
          res.once("close", cut);
          let failed = false;
          upstream.on("error", (error: NodeJS.ErrnoException) => {
            if (failed) return;
            failed = true;
            res.off("close", cut);
            if (res.headersSent) return void res.destroy();
            if (retry && upstream.reusedSocket && error.code === "ECONNRESET") return send(false);
            reject(new HttpError(502, "the function gateway did not answer", { cause: error }));
          });
          upstream.once("response", (reply) => {
            res.writeHead(
              reply.statusCode ?? 502,
              reply.statusMessage,
              endToEnd(reply.rawHeaders, () => false, reply.headers.connection),
            );
            // A reply cut short by the gateway is cut short for the client too, never passed off as whole.
            reply.once("close", () => reply.complete || res.destroy());
            reply.pipe(res);
            resolve();
          });
          if (replayable) upstream.end();
          else req.pipe(upstream);
        };
        send(replayable);
      });
    },
    close: () => agent.destroy(),
  };
}
