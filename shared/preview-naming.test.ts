import { functionName, imageName, previewFunctionName, previewImageName, previewKey, servedName } from "./naming.js";

// Issue #17: a preview's names are its own, and keep within the limits main names keep.
describe("previewKey", () => {
  it.each([
    ["feature/login", /^feature-login-[0-9a-f]{10}$/],
    ["Feature/Login", /^feature-login-[0-9a-f]{10}$/],
    ["fix--double", /^fix-double-[0-9a-f]{10}$/],
    ["a-very-long-branch-name-that-goes-on-and-on", /^a-very-long-branch-n-[0-9a-f]{10}$/],
    ["日本語", /^[0-9a-f]{10}$/],
  ])("%j → %s", (branch, shape) => {
    expect(previewKey(branch)).toMatch(shape);
  });

  it("branches whose slugs agree (case, punctuation) → different keys", () => {
    const keys = ["feature/login", "Feature/Login", "feature-login", "feature_login"].map(previewKey);
    expect(new Set(keys).size).toBe(4);
  });
});

describe("previewFunctionName", () => {
  it("alice + api on feature/login → alice--api--feature-login-<hash>", () => {
    expect(previewFunctionName("Alice", "api", "feature/login")).toBe(`alice--api--${previewKey("feature/login")}`);
  });

  it("a long owner and function → the slug shortened, the hash kept, 63 characters at most", () => {
    const owner = "o".repeat(39);
    const name = previewFunctionName(owner, "f".repeat(4), "feature/some-long-branch");
    expect(name.length).toBeLessThanOrEqual(63);
    expect(name.endsWith(previewKey("feature/some-long-branch").slice(-10))).toBe(true);
    expect(name.split("--")).toHaveLength(3);
    expect(name).toMatch(/--featu-[0-9a-f]{10}$/);
  });

  it("no room even for the hash → refused with a 400 naming the rule", () => {
    expect(() => previewFunctionName("o".repeat(39), "f".repeat(15), "x")).toThrow(/shorten the function name/);
  });

  it("never the main name, and the main name of no other function", () => {
    const name = previewFunctionName("alice", "api", "main");
    expect(name).not.toBe(functionName("alice", "api"));
    expect(() => functionName("alice", name.slice("alice--".length))).toThrow(/must not contain "--"/);
  });
});

describe("previewImageName", () => {
  it("same repository as the main image, its own preview-<key>-<sha7> tag", () => {
    const sha = "0123456789abcdef0123456789abcdef01234567";
    const main = imageName("registry:5000", "alice", "fns", "api", sha);
    const preview = previewImageName("registry:5000", "alice", "fns", "api", sha, "feature/x");
    expect(main).toBe("registry:5000/alice/fns--api:latest-0123456");
    expect(preview).toBe(`registry:5000/alice/fns--api:preview-${previewKey("feature/x")}-0123456`);
  });
});

describe("servedName (edge-router paths)", () => {
  it.each([
    ["alice", "api", "alice--api"],
    ["alice", "api--feature-x-0123456789", "alice--api--feature-x-0123456789"],
    ["Alice", "API--Feature-X-0123456789", "alice--api--feature-x-0123456789"],
  ])("%s.<domain>/%s → %s", (owner, segment, expected) => {
    expect(servedName(owner, segment)).toBe(expected);
  });

  it.each([
    ["api--", "an empty key"],
    ["api--x", "a key without the hash"],
    ["bob--x", "another owner's main name"],
    ["api--x--y", "a key holding --"],
    ["--bob--api", "an empty function"],
    ["api--x_y", "a key that is no DNS label"],
    [`api--${"k".repeat(60)}`, "a name over 63 characters"],
  ])("%s (%s) → refused", (segment) => {
    expect(() => servedName("alice", segment)).toThrow();
  });
});
