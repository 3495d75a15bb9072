import { decideBranch } from "./branch-rule.js";

// The rule on its own (github-push's branch-rule.test.ts shows it behind the front door): github-push and gitlab-push
// both ask it (issue #19), so it lives here.
describe("decideBranch", () => {
  it.each([
    [undefined, "main", "refs/heads/main", { build: true, branch: "main" }],
    ["staging", "main", "refs/heads/staging", { build: true, branch: "staging" }],
    ["release/1.x", "main", "refs/heads/release/1.x", { build: true, branch: "release/1.x" }],
  ])("build branch %s (default %s), push to %s → built", (buildBranch, defaultBranch, ref, decision) => {
    expect(decideBranch(buildBranch, defaultBranch, ref)).toEqual(decision);
  });

  it.each([
    [undefined, "main", "refs/heads/staging", "main"],
    [undefined, "main", "refs/tags/main", "main"],
    [undefined, "main", "refs/heads/x/main", "main"],
    [undefined, "main", "refs/heads/Main", "main"],
    ["staging", "main", "refs/heads/main", "staging"],
  ])("build branch %s (default %s), push to %s → skipped, the message naming the build branch", (b, d, ref, named) => {
    expect(decideBranch(b, d, ref)).toEqual({
      build: false,
      message: `skipping build for: ${ref} branch, the build branch is: ${named}`,
    });
  });

  it.each([
    ["refs/heads/feature", { build: true, branch: "feature", preview: true }],
    ["refs/heads/", { build: false, message: "skipping build for: refs/heads/ branch, the build branch is: main" }],
    ["refs/tags/v1", { build: false, message: "skipping build for: refs/tags/v1 branch, the build branch is: main" }],
  ])("previews on, push to %s → %j", (ref, decision) => {
    expect(decideBranch(undefined, "main", ref, true)).toEqual(decision);
  });
});
