import { resolveRoute } from "./routes.js";

// Issue #17: a preview is served at <owner>.<domain>/<fn>--<key>, always under the host's owner.
const DOMAIN = "example.com";
const KEY = "feature-x-0123456789";

describe("resolveRoute: previews", () => {
  it.each([
    [`/api--${KEY}`, `/function/alice--api--${KEY}`],
    [`/api--${KEY}/deep/path?q=1`, `/function/alice--api--${KEY}/deep/path?q=1`],
    ["/API--0123456789", "/function/alice--api--0123456789"],
  ])("alice.example.com%s → %s", (target, path) => {
    expect(resolveRoute(`alice.${DOMAIN}`, target, DOMAIN)).toEqual({ kind: "gateway", path });
  });

  it.each([
    [`/bob--api--${KEY}`, "bob's preview name"],
    [`/api--${KEY}--x`, "a third --"],
    [`/api--${KEY}/../../bob--api`, "a dot-dot segment after it"],
  ])("alice.example.com%s (%s) → 404, never another owner's function", (target) => {
    let status: number | undefined;
    try {
      resolveRoute(`alice.${DOMAIN}`, target, DOMAIN);
    } catch (error) {
      status = (error as { status?: number }).status;
    }
    expect(status).toBe(404);
  });
});
