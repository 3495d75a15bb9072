import { signPayload, verifyGithubSignature, verifyPayload } from "./hmac.js";

// Known answer from GitHub's "Validating webhook deliveries" documentation.
const DOC_SECRET = "It's a Secret to Everybody";
const DOC_BODY = Buffer.from("Hello, World!");
const DOC_SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

describe("verifyGithubSignature", () => {
  it("GitHub's documented vector → true", async () => {
    await expect(verifyGithubSignature(DOC_SECRET, DOC_BODY, DOC_SIGNATURE)).resolves.toBe(true);
  });

  it.each([
    ["another secret", "wrong", DOC_BODY, DOC_SIGNATURE],
    ["a missing header", DOC_SECRET, DOC_BODY, undefined],
    ["an empty header", DOC_SECRET, DOC_BODY, ""],
    ["a SHA-1 signature", DOC_SECRET, DOC_BODY, "sha1=01dc10d0c83e72ed246219cdd91669667fe2ca59"],
    ["a truncated body", DOC_SECRET, DOC_BODY.subarray(0, 5), DOC_SIGNATURE],
    ["an empty body", DOC_SECRET, Buffer.alloc(0), DOC_SIGNATURE],
    ["a body that is not UTF-8", DOC_SECRET, Buffer.from([0xff, 0xfe, 0x41]), DOC_SIGNATURE],
    ["upper-case hex", DOC_SECRET, DOC_BODY, DOC_SIGNATURE.toUpperCase()],
  ])("%s → false", async (_, secret, body, signature) => {
    await expect(verifyGithubSignature(secret, body, signature)).resolves.toBe(false);
  });
});

describe("signPayload / verifyPayload", () => {
  it("signs like GitHub does (same vector) → the documented value", () => {
    expect(signPayload(DOC_SECRET, DOC_BODY)).toBe(DOC_SIGNATURE);
  });

  it("binary body signed then verified → true", () => {
    const tar = Buffer.from([0, 1, 2, 255, 254, 0, 10]);
    expect(verifyPayload("s3cret", tar, signPayload("s3cret", tar))).toBe(true);
  });

  it.each([
    ["missing header", undefined],
    ["empty header", ""],
    ["other secret", signPayload("other", DOC_BODY)],
    ["one byte changed", DOC_SIGNATURE.slice(0, -1) + "f"],
    ["prefix only", "sha256="],
  ])("%s → false", (_, signature) => {
    expect(verifyPayload(DOC_SECRET, DOC_BODY, signature)).toBe(false);
  });
});
