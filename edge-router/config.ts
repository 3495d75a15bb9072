import { BlockList, isIP } from "node:net";
import { z } from "zod";

const text = z.string().trim().min(1, "expected a value");
// A DNS name the owners' hosts sit under: `example.com`, `cloud.example.com` or `localhost`; no scheme, port or path.
const DOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
// An address or a CIDR block of either family: 10.0.0.0/8, 192.168.1.7, fd00::/8.
const CIDR = /^([^/\s]+)(?:\/(\d{1,3}))?$/;

/** edge-router's settings (issue #13); each doc line is mirrored in docs/configuration.md. */
const settings = {
  domain: text
    .transform((v) => v.toLowerCase().replace(/\.$/, ""))
    .refine((v) => DOMAIN.test(v), "expected a DNS name such as example.com or localhost, without scheme or port"),
  gateway_url: z
    .url({ protocol: /^http$/, message: "expected the gateway's http:// URL" })
    .default("http://gateway.openfaas:8080/"),
  port: z.coerce.number({ message: "expected a port number" }).int().min(0).max(65535).default(8080),
  host: text.default("127.0.0.1"), // production sets 0.0.0.0 explicitly
  // Peers whose X-Forwarded-For/-Proto/-Host are kept (appended to); from anyone else they are overwritten.
  trusted_proxies: z.string().default(""),
  log_level: z
    .enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"], {
      message: "expected fatal, error, warn, info, debug, trace or silent",
    })
    .default("info"),
} as const;

const schema = z.object(settings);

/** The parsed, frozen edge-router configuration. */
export type RouterConfig = Readonly<
  Omit<z.infer<typeof schema>, "trusted_proxies"> & {
    /** trusted_proxies as written, one entry each. */
    trusted_proxies: readonly string[];
    /** trusted_proxies as a matcher for peer addresses. */
    trustedProxies: BlockList;
  }
>;

/** The peers `entries` name (addresses or CIDR blocks) as a BlockList; throws naming the first bad entry. */
export function trustedProxyList(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [, address = "", bits] = CIDR.exec(entry) ?? [];
    const family = isIP(address);
    const max = family === 6 ? 128 : 32;
    if (family === 0 || (bits !== undefined && Number(bits) > max)) {
      throw new Error(`${JSON.stringify(entry)} is not an IP address or CIDR block (10.0.0.0/8, fd00::/8)`);
    }
    const type = family === 6 ? "ipv6" : "ipv4";
    if (bits === undefined) list.addAddress(address, type);
    else list.addSubnet(address, Number(bits), type);
  }
  return list;
}

/**
 * Parses edge-router's environment once; a missing or malformed value throws one error naming every bad key and
 * the form it expects.
 */
export function loadRouterConfig(env: Record<string, string | undefined>): RouterConfig {
  // Empty strings count as unset, as they do in an environment file that leaves a value blank.
  const present = Object.fromEntries(Object.keys(settings).map((k) => [k, env[k]?.trim() ? env[k] : undefined]));
  const problems: string[] = [];
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    for (const i of parsed.error.issues) {
      const key = String(i.path[0]);
      const message = i.code === "invalid_type" && present[key] === undefined ? "required, not set" : i.message;
      problems.push(`${key}: ${message} (got ${JSON.stringify(present[key])})`);
    }
  }
  const proxies = (present.trusted_proxies ?? "")
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean);
  let trustedProxies = new BlockList();
  try {
    trustedProxies = trustedProxyList(proxies);
  } catch (error) {
    problems.push(`trusted_proxies: ${(error as Error).message}`);
  }
  if (!parsed.success || problems.length > 0) {
    throw new Error(`invalid edge-router configuration:\n  ${problems.join("\n  ")}`);
  }
  return Object.freeze({ ...parsed.data, trusted_proxies: Object.freeze(proxies), trustedProxies });
}
