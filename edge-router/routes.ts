import { HttpError } from "../shared/http-error.js";
import { servedName } from "../shared/naming.js";
import { SYSTEM_ROUTES } from "./system-routes.js";

/** Where a request goes: the router's own health, or a path (and query) on the gateway. */
export type Route = { kind: "health" } | { kind: "gateway"; path: string };

// The system's host label (original-spec: system.<domain>). A GitHub account named "system" has no pretty URL.
const SYSTEM = "system";
// After the function's segment, nothing may let a normaliser on the way (the gateway's router cleans paths, some
// decode first) climb out of /function/<name>/: no "." or ".." segment, raw or percent-encoded, and no encoded
// slash or backslash that decoding would turn into a separator. Double slashes stay: cleaning only merges them.
const ENCODED_SEPARATOR = /%2f|%5c|\\/i;
const DOT_SEGMENT = /^(\.|%2e){1,2}$/i;

const notFound = (message: string) => new HttpError(404, message);

/** The host's name: lowercased, without its port or a trailing dot ("Alice.Example.com.:443" → "alice.example.com"). */
function hostName(host: string): string {
  const h = host.trim().toLowerCase();
  const name = h.startsWith("[") ? h.slice(0, h.indexOf("]") + 1) : h.replace(/:\d*$/, "");
  return name.replace(/\.$/, "");
}

/** The rest of a path after the function's segment, or a 404 when it could leave that function's prefix. */
function safeRest(rest: string): string {
  if (ENCODED_SEPARATOR.test(rest) || rest.split("/").some((segment) => DOT_SEGMENT.test(segment))) {
    throw notFound('a path under a function may not hold "." or ".." segments, encoded slashes or backslashes');
  }
  return rest;
}

/** `/<first>/<rest>?<query>` split at the first segment; `first` is raw (never decoded). */
function splitTarget(target: string): { first: string; rest: string; query: string } {
  const q = target.indexOf("?");
  const path = q < 0 ? target : target.slice(0, q);
  const query = q < 0 ? "" : target.slice(q);
  const slash = path.indexOf("/", 1);
  return { first: slash < 0 ? path.slice(1) : path.slice(1, slash), rest: slash < 0 ? "" : path.slice(slash), query };
}

/** A system path (SYSTEM_ROUTES), or `/function/<system function>/…` as the App's webhook and log links were set. */
function systemRoute(target: string, domain: string): Route {
  const { first, rest, query } = splitTarget(target);
  const key = first.toLowerCase();
  if (key === "function") {
    const inner = splitTarget(rest || "/");
    const fn = inner.first.toLowerCase();
    // A route's function is its value up to the first "/" (dashboard-api/list-functions: dashboard-api).
    if (Object.values(SYSTEM_ROUTES).some((to) => to.split("/")[0] === fn)) {
      return { kind: "gateway", path: `/function/${fn}${safeRest(inner.rest)}${query}` };
    }
  } else if (Object.hasOwn(SYSTEM_ROUTES, key)) {
    return { kind: "gateway", path: `/function/${SYSTEM_ROUTES[key]}${safeRest(rest)}${query}` };
  }
  throw notFound(`${SYSTEM}.${domain}/${first} is not a system path`);
}

/** An owner's function: `/<fn>[--<key>]/<rest>?<query>` → `/function/<owner>--<fn>[--<key>]/<rest>?<query>` (shared/naming.ts). */
function ownerRoute(owner: string, target: string, domain: string): Route {
  const { first, rest, query } = splitTarget(target);
  if (first === "") throw notFound(`${owner}.${domain}/ names no function: use ${owner}.${domain}/<function>`);
  let name: string;
  try {
    // `<fn>` or a preview's `<fn>--<key>` (issue #17); always under this host's owner.
    name = servedName(owner, first);
  } catch (error) {
    // naming's message names the value and the rule it broke; here it means "no such function".
    throw notFound((error as Error).message);
  }
  return { kind: "gateway", path: `/function/${name}${safeRest(rest)}${query}` };
}

/**
 * Maps a request's Host and target (issue #13): `<owner>.<domain>/<fn>/<rest>` → the gateway's
 * `/function/<owner>--<fn>/<rest>`, `system.<domain>/<path>` → SYSTEM_ROUTES, `/healthz` on any host outside the
 * domain (probes call the pod's address) → the router's health. Anything else is an HttpError: 400 for a target
 * that is not a path, else 404 naming what was not found.
 */
export function resolveRoute(host: string | undefined, target: string, domain: string): Route {
  if (!target.startsWith("/")) throw new HttpError(400, "the request target must be a path (origin-form)");
  const name = hostName(host ?? "");
  const suffix = `.${domain}`;
  const unknownHost = () =>
    notFound(`no functions are served at ${name || "this host"}: use <owner>.${domain}/<function>`);
  if (!name.endsWith(suffix)) {
    // A function is always `/<fn>` on its owner's host, so /healthz there is the owner's function "healthz"; the
    // router's own health lives on the hosts that serve no functions: the pod's or container's address.
    if (/^\/healthz(\?|$)/.test(target)) return { kind: "health" };
    throw unknownHost();
  }
  const label = name.slice(0, -suffix.length);
  if (label.includes(".")) throw unknownHost();
  return label === SYSTEM ? systemRoute(target, domain) : ownerRoute(label, target, domain);
}
