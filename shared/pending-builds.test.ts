import { pendingKey } from "./pending-builds.js";

const SHA = "6113728F27AE82C7B1A177C8D03F9E96E0ADF246";

describe("pendingKey", () => {
  it("owner, repository and SHA → _pending/<owner>/<repo>/<sha>.json, lower case (GitHub names ignore case)", () => {
    expect(pendingKey({ owner: "Alice", repo: "My-Fns", sha: SHA })).toBe(
      `_pending/alice/my-fns/${SHA.toLowerCase()}.json`,
    );
  });

  it.each([
    ["an owner that climbs", { owner: "..", repo: "fns", sha: SHA }],
    ["a repository with a slash", { owner: "alice", repo: "fns/../../x", sha: SHA }],
    ["a short SHA", { owner: "alice", repo: "fns", sha: "6113728" }],
    ["an empty owner", { owner: "", repo: "fns", sha: SHA }],
  ])("%s → refused, no key built", (_, ref) => {
    expect(() => pendingKey(ref)).toThrow();
  });
});
