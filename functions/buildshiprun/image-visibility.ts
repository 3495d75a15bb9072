import { BlockList, isIP } from "node:net";
import type { AxiosInstance, AxiosResponse } from "axios";

/**
 * Whether anyone may pull an image: `public` (its manifest answered 200 without credentials), `private` (the
 * registry answered, and not with the manifest: faas-netes CE would refuse it), `unknown` (no answer: unreachable,
 * 5xx, a redirect, a token service on another domain), left to the gateway to decide.
 */
export type Visibility = { outcome: "public" } | { outcome: "private" | "unknown"; detail: string };

// What go-containerregistry's remote.Head accepts (pkg/v1/remote/descriptor.go), so a registry answers as it would to
// faas-netes.
const ACCEPT = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.docker.distribution.manifest.v2+json",
  "application/vnd.docker.distribution.manifest.v1+prettyjws",
  "application/vnd.docker.distribution.manifest.v1+json",
].join(", ");

/**
 * Checks an image the way faas-netes CE does before every deploy and update (pkg/handlers/validate.go isAnonymous(),
 * go-containerregistry v0.21.5 as vendored by faas-netes 0.18.17): HEAD its manifest without credentials, trading a
 * Bearer challenge for an anonymous token. Only the image's own registry is contacted, and its token service only on
 * the same domain (registry-1.docker.io → auth.docker.io).
 */
export function createImageVisibility(deps: { http: AxiosInstance; timeoutMs?: number }) {
  const request = (method: "HEAD" | "GET", url: string, headers: Record<string, string>) =>
    deps.http.request<string>({
      method,
      url,
      headers,
      responseType: "text",
      validateStatus: () => true,
      maxRedirects: 0,
      timeout: deps.timeoutMs ?? 5000,
    });

  async function overScheme(scheme: "https" | "http", ref: ImageRef): Promise<Visibility> {
    const url = `${scheme}://${ref.registry}/v2/${ref.repository}/manifests/${ref.reference}`;
    const first = await request("HEAD", url, { accept: ACCEPT });
    if (first.status !== 401) return judge(first, url);
    const challenge = parseChallenge(header(first, "www-authenticate"));
    if (challenge?.scheme !== "bearer") {
      const offered = challenge?.scheme ?? "no challenge";
      return { outcome: "private", detail: `${url} answered 401 and offers no anonymous token (${offered})` };
    }
    const realm = realmProblem(challenge.params.realm, scheme, ref.registry);
    if (realm) return realm;
    const tokenUrl = new URL(challenge.params.realm!);
    if (challenge.params.service) tokenUrl.searchParams.set("service", challenge.params.service);
    tokenUrl.searchParams.set("scope", challenge.params.scope ?? `repository:${ref.repository}:pull`);
    const tokenRes = await request("GET", tokenUrl.toString(), {});
    if (tokenRes.status !== 200) return judge(tokenRes, `the token service ${tokenUrl.origin}`);
    const token = tokenOf(tokenRes.data);
    if (!token) return { outcome: "private", detail: `the token service ${tokenUrl.origin} gave no anonymous token` };
    return judge(await request("HEAD", url, { accept: ACCEPT, authorization: `Bearer ${token}` }), url);
  }

  return async function visibility(image: string): Promise<Visibility> {
    const ref = parseImage(image);
    // go-containerregistry tries https first, and plain http as well for a registry it takes as local (Scheme()).
    const schemes = insecureAllowed(ref.registry) ? (["https", "http"] as const) : (["https"] as const);
    let failure = "";
    for (const scheme of schemes) {
      try {
        return await overScheme(scheme, ref);
      } catch (error) {
        // No HTTP answer at all (refused, TLS spoken to a plain-HTTP registry, timeout): the next scheme may answer.
        failure = `${scheme}://${ref.registry}: ${(error as Error).message}`;
      }
    }
    return { outcome: "unknown", detail: `registry unreachable: ${failure}` };
  };
}

interface ImageRef {
  registry: string;
  repository: string;
  reference: string;
}

/** Splits an image name as Docker does: the first part is a registry when it has a dot or a port or is localhost. */
function parseImage(image: string): ImageRef {
  const [name = "", digest] = image.split("@");
  const slash = name.lastIndexOf("/");
  const colon = name.lastIndexOf(":");
  const tagged = colon > slash;
  const path = tagged ? name.slice(0, colon) : name;
  const reference = digest ?? (tagged ? name.slice(colon + 1) : "latest");
  const first = path.split("/")[0] ?? "";
  const hasRegistry = path.includes("/") && (/[.:]/.test(first) || first === "localhost");
  let registry = hasRegistry ? first : "index.docker.io";
  if (registry === "docker.io") registry = "index.docker.io";
  let repository = hasRegistry ? path.slice(first.length + 1) : path;
  if (registry === "index.docker.io" && !repository.includes("/")) repository = `library/${repository}`;
  return { registry, repository, reference };
}

// go-containerregistry v0.21.5 name.Registry.Scheme(): RFC 1918 addresses, localhost:, *.local and *.localhost, and
// any name containing 127.0.0.1 or ::1 may be reached over plain http.
function insecureAllowed(registry: string): boolean {
  const host = registry.split(":")[0] ?? "";
  if (isIP(host) === 4 && RFC1918.check(host, "ipv4")) return true;
  return (
    registry.startsWith("localhost:") ||
    /.*\.local(?:host)?(?::\d{1,5})?$/.test(registry) ||
    registry.includes("127.0.0.1") ||
    registry.includes("::1")
  );
}

const RFC1918 = new BlockList();
for (const [net, prefix] of [
  ["10.0.0.0", 8],
  ["172.16.0.0", 12],
  ["192.168.0.0", 16],
] as const) {
  RFC1918.addSubnet(net, prefix, "ipv4");
}
// go-containerregistry's validateRealmURL refuses token services at loopback, private and link-local IP literals.
const PRIVATE_REALM = new BlockList();
for (const [net, prefix, type] of [
  ["10.0.0.0", 8, "ipv4"],
  ["172.16.0.0", 12, "ipv4"],
  ["192.168.0.0", 16, "ipv4"],
  ["127.0.0.0", 8, "ipv4"],
  ["169.254.0.0", 16, "ipv4"],
  ["224.0.0.0", 24, "ipv4"],
  ["::1", 128, "ipv6"],
  ["fc00::", 7, "ipv6"],
  ["fe80::", 10, "ipv6"],
  ["ff02::", 16, "ipv6"],
] as const) {
  PRIVATE_REALM.addSubnet(net, prefix, type);
}

/**
 * Why the token service may not be asked: as go-containerregistry refuses it (faas-netes fails the same way:
 * private), or because it is on another domain than the registry (we contact nothing else: unknown).
 */
function realmProblem(realm: string | undefined, scheme: string, registry: string): Visibility | undefined {
  let url: URL;
  try {
    url = new URL(realm ?? "");
  } catch {
    return { outcome: "private", detail: `${registry} names no usable token service (realm ${realm ?? "missing"})` };
  }
  const insecureRealm = url.protocol === "http:" && scheme !== "http";
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const ipType = isIP(host);
  if (!["https:", "http:"].includes(url.protocol) || insecureRealm) {
    return { outcome: "private", detail: `${registry}'s token service ${url.origin} is refused: use https` };
  }
  if (ipType && PRIVATE_REALM.check(host, ipType === 4 ? "ipv4" : "ipv6")) {
    return { outcome: "private", detail: `${registry}'s token service ${url.origin} is at a private address` };
  }
  const registryHost = registry.replace(/:\d+$/, "");
  const site = (h: string) => h.split(".").slice(-2).join(".");
  if (host !== registryHost && (ipType || site(host) !== site(registryHost))) {
    return { outcome: "unknown", detail: `${registry}'s token service ${url.origin} is on another domain: not asked` };
  }
  return undefined;
}

/** The outcome of a final answer: 200 is public, 5xx, 429 and redirects say nothing, anything else is a refusal. */
function judge(res: AxiosResponse<string>, what: string): Visibility {
  if (res.status === 200) return { outcome: "public" };
  const detail = `${what} answered ${res.status} without credentials`;
  const silent = res.status >= 500 || res.status === 429 || (res.status >= 300 && res.status < 400);
  return { outcome: silent ? "unknown" : "private", detail };
}

/** The token of a token service's answer (`token`, or `access_token` as some registries name it). */
function tokenOf(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as { token?: unknown; access_token?: unknown } | null;
    const token = parsed?.token ?? parsed?.access_token;
    return typeof token === "string" && token ? token : undefined;
  } catch {
    return undefined;
  }
}

function header(res: AxiosResponse<string>, name: string): string {
  const value: unknown = res.headers[name];
  return typeof value === "string" ? value : "";
}

/** `Bearer realm="…",service="…",scope="…"` → its scheme (lower case) and parameters. */
function parseChallenge(value: string): { scheme: string; params: Record<string, string> } | undefined {
  const match = /^\s*(\S+)\s*(.*)$/.exec(value);
  if (!match) return undefined;
  const params: Record<string, string> = {};
  for (const [, key, quoted, bare] of match[2]!.matchAll(/([a-zA-Z_]+)=(?:"([^"]*)"|([^,\s]*))/g)) {
    params[key!.toLowerCase()] = quoted ?? bare ?? "";
  }
  return { scheme: match[1]!.toLowerCase(), params };
}
