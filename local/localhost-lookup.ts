import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from "node:dns";
import { Agent } from "node:http";

type Callback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for Node's sockets that resolves `localhost` and every `*.localhost` to 127.0.0.1, as browsers and curl
 * do (RFC 6761 §6.3) and Node's resolver does not, so `http://demo.localhost:<edge port>/hello` works from Node too.
 * Other names go to the system resolver.
 */
export function localhostLookup(hostname: string, options: LookupOptions, callback: Callback): void {
  if (!/(^|\.)localhost\.?$/i.test(hostname)) return void dnsLookup(hostname, options, callback as never);
  if (options.all) callback(null, [{ address: "127.0.0.1", family: 4 }]);
  else callback(null, "127.0.0.1", 4);
}

/** A keep-alive http.Agent whose connections to `*.localhost` go to 127.0.0.1 (the edge router's local hosts). */
export function localhostAgent(): Agent {
  return new Agent({ keepAlive: true, lookup: localhostLookup });
}
