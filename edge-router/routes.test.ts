import { HttpError } from "../shared/http-error.js";
import { resolveRoute } from "./routes.js";
import { SYSTEM_ROUTES } from "./system-routes.js";

const D = "example.com";
const to = (path: string) => ({ kind: "gateway", path });
/** The refusal resolveRoute throws, as [status, message]. */
function refusal(host: string | undefined, target: string, domain = D): [number, string] {
  try {
    const route = resolveRoute(host, target, domain);
    throw new Error(`expected a refusal, got ${JSON.stringify(route)}`);
  } catch (error) {
    if (!(error instanceof HttpError)) throw error;
    return [error.status, error.message];
  }
}

describe("resolveRoute: an owner's host", () => {
  it.each([
    ["alice.example.com", "/hello", "/function/alice--hello"],
    ["alice.example.com", "/hello/", "/function/alice--hello/"],
    ["alice.example.com", "/hello/a/b.txt", "/function/alice--hello/a/b.txt"],
    ["alice.example.com", "/hello?name=x&y=%2F", "/function/alice--hello?name=x&y=%2F"],
    ["alice.example.com", "/hello/sub?q=1", "/function/alice--hello/sub?q=1"],
    ["alice.example.com", "/hello?", "/function/alice--hello?"],
    ["alice.example.com:443", "/hello", "/function/alice--hello"],
    ["alice.example.com.", "/hello", "/function/alice--hello"],
    ["Alice.Example.COM", "/Hello", "/function/alice--hello"],
    ["alice-bob.example.com", "/api", "/function/alice-bob--api"],
    ["alice.example.com", "/bob-api", "/function/alice--bob-api"],
    // The gateway's own paths, asked on an owner's host, are that owner's functions of those names.
    ["alice.example.com", "/system/functions", "/function/alice--system/functions"],
    ["alice.example.com", "/async-function/x", "/function/alice--async-function/x"],
    ["alice.example.com", "/function/bob--x", "/function/alice--function/bob--x"],
    ["alice.example.com", "/healthz", "/function/alice--healthz"],
    ["alice.example.com", "/metrics", "/function/alice--metrics"],
    ["alice.example.com", "/ui/", "/function/alice--ui/"],
    // Double slashes after the function stay inside it: path cleaning only merges them.
    ["alice.example.com", "/hello//x", "/function/alice--hello//x"],
    ["alice.example.com", "/hello/a..b/.x/x.", "/function/alice--hello/a..b/.x/x."],
    ["demo.localhost:31112", "/hello", "/function/demo--hello"],
  ])("%s%s → %s", (host, target, path) => {
    expect(resolveRoute(host, target, host.includes("localhost") ? "localhost" : D)).toEqual(to(path));
  });

  // Issue #13: an owner's host reaches that owner's functions only, however the path is spelled.
  it.each([
    ["another owner's deployed name", "/bob--x", /function name "bob--x" must not contain "--"/],
    ["a system function's name with --", "/github--event", /must not contain "--"/],
    ["an encoded slash in the function", "/x%2F..%2Fbob-y", /function name "x%2F..%2Fbob-y" must be a DNS-1123 label/],
    ["an encoded slash after it", "/x/a%2F..%2F..%2Fbob--y", /may not hold "\." or "\.\." segments, encoded slashes/],
    ["a lowercase encoded slash", "/x/a%2f..", /encoded slashes/],
    ["an encoded backslash", "/x/a%5C..%5Cbob--y", /encoded slashes or backslashes/],
    ["a backslash", "/x/..\\bob--y", /backslashes/],
    ["a dot-dot segment", "/x/../bob--y", /"\.\." segments/],
    ["a dot-dot segment at the end", "/x/..", /segments/],
    ["a dot segment", "/x/./y", /segments/],
    ["an encoded dot-dot segment", "/x/%2e%2e/bob--y", /segments/],
    ["a half-encoded dot-dot segment", "/x/.%2E/bob--y", /segments/],
    ["a dot-dot as the function", "/../bob--y", /function name "\.\." must be a DNS-1123 label/],
    ["a double slash before the function", "//bob--y", /alice\.example\.com\/ names no function/],
    ["no function at all", "/", /names no function: use alice\.example\.com\/<function>/],
    ["an empty function before a query", "/?x=1", /names no function/],
    ["a function name with a dot", "/hello.openfaas-fn", /must be a DNS-1123 label/],
    ["an underscore", "/my_fn", /must be a DNS-1123 label/],
    ["a name too long", `/${"a".repeat(64)}`, /must be a DNS-1123 label/],
  ])("alice.example.com with %s → 404, never another owner's function", (_case, target, message) => {
    const [status, text] = refusal("alice.example.com", target);
    expect(status).toBe(404);
    expect(text).toMatch(message);
  });

  it.each([
    ["a login with --", "bob--x.example.com", /owner "bob--x" must be a GitHub login/],
    ["a login starting with -", "-bob.example.com", /owner "-bob" must be a GitHub login/],
    ["a login over 39 characters", `${"a".repeat(40)}.example.com`, /must be a GitHub login/],
    ["a punycode label", "xn--bcher-kva.example.com", /must be a GitHub login/],
    ["an underscore", "a_b.example.com", /must be a GitHub login/],
  ])("an owner label with %s → 404 naming the login rule", (_case, host, message) => {
    const [status, text] = refusal(host, "/hello");
    expect(status).toBe(404);
    expect(text).toMatch(message);
  });
});

describe("resolveRoute: the system host", () => {
  it.each([
    ["/github-event", "/function/github-event"],
    ["/github-event?x=1", "/function/github-event?x=1"],
    ["/GitHub-Event", "/function/github-event"],
    // Existing GitHub App settings and build-log links (shared/log-link.ts) keep their /function/ form.
    ["/function/github-event", "/function/github-event"],
    [
      "/function/pipeline-log?owner=a&repo=b&sha=c&function=d&sig=e",
      "/function/pipeline-log?owner=a&repo=b&sha=c&function=d&sig=e",
    ],
    ["/pipeline-log/x?sig=1", "/function/pipeline-log/x?sig=1"],
    // The dashboard's APIs keep the original's paths; one function, dashboard-api, serves the three (issue #11).
    ["/list-functions?owner=demo", "/function/dashboard-api/list-functions?owner=demo"],
    ["/System-Metrics?owner=demo&window=1h", "/function/dashboard-api/system-metrics?owner=demo&window=1h"],
    ["/function/dashboard-api/function-logs?owner=demo", "/function/dashboard-api/function-logs?owner=demo"],
    // issue #14: the build history and the live build log, in the same function.
    ["/builds?owner=demo&function=hello", "/function/dashboard-api/builds?owner=demo&function=hello"],
    ["/build-log?owner=demo&offset=10", "/function/dashboard-api/build-log?owner=demo&offset=10"],
  ])("system.example.com%s → %s", (target, path) => {
    expect(resolveRoute("system.example.com", target, D)).toEqual(to(path));
  });

  it("every SYSTEM_ROUTES entry → its function, by path and by /function/", () => {
    for (const [path, fn] of Object.entries(SYSTEM_ROUTES)) {
      expect(resolveRoute("system.example.com", `/${path}`, D)).toEqual(to(`/function/${fn}`));
      expect(resolveRoute("system.example.com", `/function/${fn}/`, D)).toEqual(to(`/function/${fn}/`));
    }
  });

  it.each([
    "/",
    "/system/functions",
    "/system/secrets",
    "/async-function/github-event",
    "/async-function/git-tar",
    "/metrics",
    "/ui/",
    "/healthz",
    "/function/git-tar",
    "/function/buildshiprun",
    "/function/alice--hello",
    // Not functions any more: dashboard-api serves them (issue #11); nor is dashboard-api a public path itself.
    "/function/list-functions",
    "/dashboard-api/list-functions",
    "/function/",
    "/function",
    "/git-tar",
    "/constructor",
    "/__proto__",
    "/toString",
  ])("system.example.com%s → 404", (target) => {
    const [status, text] = refusal("system.example.com", target);
    expect(status).toBe(404);
    expect(text).toMatch(/is not a system path$/);
  });

  it.each([
    "/github-event/../git-tar",
    "/function/github-event/%2e%2e/git-tar",
    "/pipeline-log/..%2Fgit-tar",
    "/list-functions/../../git-tar",
  ])("system.example.com%s → 404, never leaving the system function", (target) => {
    expect(refusal("system.example.com", target)[0]).toBe(404);
  });
});

describe("resolveRoute: other hosts and targets", () => {
  it.each([
    ["the pod's address", "10.42.0.7:8080", "/healthz"],
    ["loopback", "127.0.0.1:8080", "/healthz?probe=1"],
    ["an IPv6 address", "[::1]:8080", "/healthz"],
    ["the bare domain", "example.com", "/healthz"],
    ["no Host at all", undefined, "/healthz"],
  ])("/healthz on %s → the router's health", (_case, host, target) => {
    expect(resolveRoute(host, target, D)).toEqual({ kind: "health" });
  });

  it.each([
    ["the bare domain", "example.com", "/hello"],
    ["another domain", "alice.example.org", "/hello"],
    ["a domain merely ending in ours", "alice.notexample.com", "/hello"],
    ["a nested subdomain", "a.alice.example.com", "/hello"],
    ["a nested system subdomain", "x.system.example.com", "/github-event"],
    ["the pod's address", "10.42.0.7:8080", "/function/alice--hello"],
    ["no Host", undefined, "/hello"],
    ["the pod's address, under healthz", "10.42.0.7", "/healthz/x"],
  ])("%s (%s%s) → 404 unknown host", (_case, host, target) => {
    const [status, text] = refusal(host, target);
    expect(status).toBe(404);
    expect(text).toMatch(/^no functions are served at .+: use <owner>\.example\.com\/<function>$/);
  });

  it.each(["http://bob.example.com/x", "*", "bob--x"])("a target that is not a path (%s) → 400", (target) => {
    expect(refusal("alice.example.com", target)).toEqual([400, "the request target must be a path (origin-form)"]);
  });

  it("a domain of several labels → the owner is the one label before it", () => {
    expect(resolveRoute("alice.cloud.example.com", "/hi", "cloud.example.com")).toEqual(to("/function/alice--hi"));
    expect(refusal("alice.cloud.example.com", "/hi", "example.com")[0]).toBe(404);
  });
});
