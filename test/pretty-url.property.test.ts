import fc from "fast-check";
import { resolveRoute } from "../edge-router/routes.js";
import { functionUrl } from "../functions/buildshiprun/deployment.js";
import type { DeploySpec } from "../shared/deploy-spec.js";
import { functionName } from "../shared/naming.js";

// Issue #13: the URL a success status links to (buildshiprun's functionUrl with gateway_pretty_url) is one the edge
// router serves, and it reaches exactly the function that was deployed, on a cluster and on the local runtime.
const PRETTY = [
  ["https://user.example.com/function", "example.com"],
  ["https://user.cloud.example.com/function/", "cloud.example.com"],
  ["http://user.localhost:31112/function", "localhost"],
] as const;

const ALNUM = [..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"];
const hyphenated = (chars: string[], max: number) =>
  fc
    .array(fc.string({ unit: fc.constantFrom(...chars), minLength: 1, maxLength: max }), { minLength: 1, maxLength: 5 })
    .map((runs) => runs.join("-"))
    .filter((s) => s.length <= max);
/** GitHub logins, any case; "user" (the placeholder) and "system" (the system's host) among them. */
const login = fc.oneof(hyphenated(ALNUM, 39), fc.constantFrom("alice", "Alice-Bob", "user", "function", "system"));
/** stack.yml function names: DNS-1123 labels without "--". */
const fnName = fc.oneof(
  hyphenated([..."abcdefghijklmnopqrstuvwxyz0123456789"], 40),
  fc.constantFrom("function", "healthz", "user", "system"),
);

const spec = (owner: string, fn: string) =>
  ({ owner, function: fn, service: functionName(owner, fn) }) as unknown as DeploySpec;

describe("status links ↔ edge router", () => {
  it.each(PRETTY)("gateway_pretty_url %s → every status link routes to the deployed function", (pretty, domain) => {
    fc.assert(
      fc.property(login, fnName, (owner, fn) => {
        // What buildshiprun deploys; a pair too long for a DNS label is refused before any status links to it.
        let deployed = "";
        try {
          deployed = functionName(owner, fn);
        } catch {
          fc.pre(false);
        }
        const url = new URL(functionUrl(spec(owner, fn), "https://gateway.example.com/", pretty));
        if (owner.toLowerCase() === "system") {
          expect(url.href).toBe(`https://gateway.example.com/function/${deployed}`);
          return;
        }
        expect(url.hostname).toBe(`${owner.toLowerCase()}.${domain}`);
        expect(resolveRoute(url.host, url.pathname + url.search, domain)).toEqual({
          kind: "gateway",
          path: `/function/${deployed}`,
        });
      }),
      { numRuns: 300 },
    );
  });

  it("demo's hello on the local runtime → http://demo.localhost:<edge port>/hello", () => {
    expect(functionUrl(spec("demo", "hello"), "http://127.0.0.1:8080/", "http://user.localhost:31112/function")).toBe(
      "http://demo.localhost:31112/hello",
    );
  });
});
