import { createHmac } from "node:crypto";
import { buildLogUrl, verifyLogLink } from "./log-link.js";

const SECRET = "payload-secret";
const key = { owner: "Alice", repo: "Fns", sha: "04b8e44aaaabbbbccccddddeeeeffff000011112", function: "api" };
// Known answer: HMAC-SHA256 of the lower-cased object key `<owner>/<repo>/<sha>/<fn>/build.log`.
const SIG = createHmac("sha256", SECRET).update(`alice/fns/${key.sha}/api/build.log`).digest("hex");

describe("buildLogUrl", () => {
  it.each([
    ["https://cloud.example.com/", "https://cloud.example.com/"],
    ["https://cloud.example.com", "https://cloud.example.com/"],
  ])("public URL %s → pipeline-log under %s with the lower-cased key and its signature", (publicUrl, base) => {
    expect(buildLogUrl(publicUrl, SECRET, key)).toBe(
      `${base}function/pipeline-log?owner=alice&repo=fns&sha=${key.sha}&function=api&sig=${SIG}`,
    );
  });

  it("the link's own signature → verifies", () => {
    const sig = new URL(buildLogUrl("https://cloud.example.com/", SECRET, key)).searchParams.get("sig") ?? undefined;
    expect(verifyLogLink(SECRET, key, sig)).toBe(true);
  });
});

describe("verifyLogLink", () => {
  it("the known signature → true", () => {
    expect(verifyLogLink(SECRET, key, SIG)).toBe(true);
  });

  // Issue #12: compared as a prefix, one hex character would open any private build log.
  it.each([
    ["missing", undefined],
    ["empty", ""],
    ["its first hex character only", SIG.slice(0, 1)],
    ["all but its last character", SIG.slice(0, -1)],
    ["one character appended", `${SIG}0`],
    ["its last character changed", SIG.slice(0, -1) + (SIG.endsWith("0") ? "1" : "0")],
    [
      "made with another secret",
      createHmac("sha256", "other").update(`alice/fns/${key.sha}/api/build.log`).digest("hex"),
    ],
    [
      "for another function of the same commit",
      createHmac("sha256", SECRET).update(`alice/fns/${key.sha}/web/build.log`).digest("hex"),
    ],
  ])("a signature %s → false", (_, sig) => {
    expect(verifyLogLink(SECRET, key, sig)).toBe(false);
  });
});
