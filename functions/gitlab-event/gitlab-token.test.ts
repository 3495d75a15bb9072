import { verifyGitlabToken } from "./gitlab-token.js";

describe("verifyGitlabToken", () => {
  it.each([
    ["the secret", "s3cret-token", true],
    ["another token of the same length", "s3cret-tokem", false],
    // timingSafeEqual throws on buffers of unequal length: digests make every compare 32 bytes against 32.
    ["a longer token", "s3cret-token-and-more", false],
    ["a prefix", "s3cret", false],
    ["a differently cased token", "S3CRET-TOKEN", false],
    ["an empty token", "", false],
    ["no header", undefined, false],
  ])("%s → %s", (_, header, expected) => {
    expect(verifyGitlabToken("s3cret-token", header)).toBe(expected);
  });

  it("an empty secret matches nothing, not even an empty header", () => {
    expect(verifyGitlabToken("", "")).toBe(false);
  });
});
