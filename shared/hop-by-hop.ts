// RFC 9110 §7.6.1: a proxy does not forward connection-specific fields, nor any field the Connection header names.
// Shared by the local gateway's proxy to function containers and the edge router.
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

/** A predicate: is this (lower-case) field hop-by-hop for a message whose Connection header is `connection`? */
export function hopByHop(connection: string | string[] | undefined): (name: string) => boolean {
  const named = String(connection ?? "")
    .split(",")
    .map((token) => token.trim().toLowerCase())
    .filter(Boolean);
  return (name) => HOP_BY_HOP.has(name) || named.includes(name);
}
