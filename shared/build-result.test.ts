import { signPayload } from "./hmac.js";
import { buildResultUrl, readBuildResultRef, type CommitRef } from "./build-result.js";

const SECRET = "payload-secret";
const ref: CommitRef = {
  owner: "Alice",
  repo: "Fns",
  sha: "04b8e44aaaabbbbccccddddeeeeffff000011112",
  installationId: 7,
};
const queryOf = (url: string) => Object.fromEntries(new URL(url).searchParams) as Record<string, string | undefined>;
const signed = () => queryOf(buildResultUrl("http://gateway:8080/function/github-push", SECRET, ref));

describe("buildResultUrl", () => {
  it.each([
    ["http://gateway:8080/function/github-push", "http://gateway:8080/function/github-push/build-result"],
    ["http://gateway:8080/function/github-push//", "http://gateway:8080/function/github-push/build-result"],
  ])("%s → %s?owner&repo&sha&installation&sig", (functionUrl, path) => {
    const url = buildResultUrl(functionUrl, SECRET, ref);
    expect(url.split("?")[0]).toBe(path);
    // Known answer: the signature covers `<owner>/<repo>@<sha>#<installation>`.
    expect(queryOf(url)).toEqual({
      owner: "Alice",
      repo: "Fns",
      sha: ref.sha,
      installation: "7",
      sig: signPayload(SECRET, `Alice/Fns@${ref.sha}#7`),
    });
  });
});

describe("readBuildResultRef", () => {
  it("the query of its own URL → the commit", () => {
    expect(readBuildResultRef(signed(), SECRET)).toEqual(ref);
  });

  // Issue #12: every field the callback acts on is covered by the signature, so one signed callback URL cannot mark
  // another repository's or another installation's commit as failed.
  it.each([
    ["another owner", { owner: "Bob" }],
    ["another repository", { repo: "Other" }],
    ["another commit", { sha: "0".repeat(40) }],
    ["another installation", { installation: "8" }],
  ])("%s under the same signature → undefined", (_, change) => {
    expect(readBuildResultRef({ ...signed(), ...change }, SECRET)).toBeUndefined();
  });

  it.each([
    ["no signature", { sig: undefined }],
    ["a signature made with another secret", { sig: signPayload("other", `Alice/Fns@${ref.sha}#7`) }],
    ["no owner", { owner: undefined }],
    ["no repo", { repo: undefined }],
    ["no sha", { sha: undefined }],
    ["no installation", { installation: undefined }],
    ["installation 0", { installation: "0" }],
    ["installation -1", { installation: "-1" }],
    ["installation 1.5", { installation: "1.5" }],
    ["installation abc", { installation: "abc" }],
  ])("%s → undefined", (_, change) => {
    expect(readBuildResultRef({ ...signed(), ...change }, SECRET)).toBeUndefined();
  });

  it("installation 0 signed as such → undefined: installation ids start at 1", () => {
    const query = { ...signed(), installation: "0", sig: signPayload(SECRET, `Alice/Fns@${ref.sha}#0`) };
    expect(readBuildResultRef(query, SECRET)).toBeUndefined();
  });

  it("installation 1 signed as such → accepted", () => {
    const query = { ...signed(), installation: "1", sig: signPayload(SECRET, `Alice/Fns@${ref.sha}#1`) };
    expect(readBuildResultRef(query, SECRET)).toEqual({ ...ref, installationId: 1 });
  });
});
