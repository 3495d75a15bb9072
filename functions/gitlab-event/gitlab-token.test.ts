import { tokenPrecheck, verifyGitlabToken } from "./gitlab-token.js";

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

describe("tokenPrecheck: refused before the body is read", () => {
  const precheck = tokenPrecheck("s3cret-token");
  const request = (method: string, token?: string | string[]) => ({
    method,
    path: "/",
    headers: token === undefined ? {} : { "x-gitlab-token": token },
  });

  it.each([
    ["no token", undefined],
    ["a wrong token", "s3cret-tokem"],
    ["the token twice (an array header)", ["s3cret-token", "s3cret-token"]],
  ])("a POST with %s → 401", (_, token) => {
    expect(precheck(request("POST", token))).toEqual({ status: 401, message: "invalid or missing X-Gitlab-Token" });
  });

  it("a POST with the token, and any other method (the router answers 405), pass", () => {
    expect(precheck(request("POST", "s3cret-token"))).toBeUndefined();
    expect(precheck(request("GET"))).toBeUndefined();
  });

  it("without a secret it lets the router answer 503 (GitLab not configured)", () => {
    expect(tokenPrecheck("")(request("POST"))).toBeUndefined();
  });
});
