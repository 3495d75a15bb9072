import { createHmac } from "node:crypto";
import {
  createHopVerifier,
  QUEUED_HOP_MAX_AGE_MS,
  requireHop,
  signHop,
  signPayload,
  verifyGithubSignature,
  verifyHop,
  verifyPayload,
} from "./hmac.js";

// Known answer from GitHub's "Validating webhook deliveries" documentation.
const DOC_SECRET = "It's a Secret to Everybody";
const DOC_BODY = Buffer.from("Hello, World!");
const DOC_SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
const NOT_UTF8 = Buffer.from([0x7b, 0xff, 0xfe, 0x7d]);

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
    // Signed over what a string-based check would see (the lossy UTF-8 decoding, U+FFFD for each bad byte): only the
    // round-trip check refuses it, so this fails if that check goes (issue #12).
    ["a body that is not UTF-8", DOC_SECRET, NOT_UTF8, signPayload(DOC_SECRET, NOT_UTF8.toString("utf8"))],
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

describe("signHop / verifyHop", () => {
  const NOW = Date.UTC(2026, 10, 30, 12, 0, 0);
  const body = Buffer.from([0, 1, 2, 255, 254, 0, 10]);
  const header = signHop("s3cret", "buildshiprun", body, NOW);

  it("the header is t=<unix seconds>,sha256=<HMAC of '<t>.<target>.' + body>", () => {
    const t = NOW / 1000;
    const mac = createHmac("sha256", "s3cret").update(`${t}.buildshiprun.`).update(body).digest("hex");
    expect(header).toBe(`t=${t},sha256=${mac}`);
  });

  it("a fresh hop for this target → true, also fed chunk by chunk", () => {
    expect(verifyHop("s3cret", "buildshiprun", body, header, { nowMs: NOW + 1000 })).toBe(true);
    const streaming = createHopVerifier("s3cret", "buildshiprun", header, { nowMs: NOW });
    expect(streaming.ready).toBe(true);
    streaming.update(body.subarray(0, 3));
    streaming.update(body.subarray(3));
    expect(streaming.matches()).toBe(true);
  });

  it.each([
    ["another target (re-targeted)", "garbage-collect", body, header, NOW],
    ["another secret", "buildshiprun", body, signHop("other", "buildshiprun", body, NOW), NOW],
    ["one byte changed", "buildshiprun", Buffer.from([0, 1, 2, 255, 254, 0, 11]), header, NOW],
    ["5 minutes and 1 s old (replayed)", "buildshiprun", body, header, NOW + 301_000],
    ["61 s in the future", "buildshiprun", body, header, NOW - 61_000],
    ["the timestamp edited", "buildshiprun", body, header.replace(/^t=\d+/, `t=${NOW / 1000 + 10}`), NOW],
    ["an unstamped sha256= signature", "buildshiprun", body, signPayload("s3cret", body), NOW],
    ["a missing header", "buildshiprun", body, undefined, NOW],
    ["upper-case hex", "buildshiprun", body, header.toUpperCase(), NOW],
    ["text before the header", "buildshiprun", body, `x${header}`, NOW],
    ["a 65th hex digit after the signature", "buildshiprun", body, `${header}0`, NOW],
    ["another field after the signature", "buildshiprun", body, `${header},v1=00`, NOW],
  ])("%s → false", (_, target, bytes, given, now) => {
    expect(verifyHop("s3cret", target, bytes, given, { nowMs: now })).toBe(false);
  });

  it("exactly 5 minutes old → still true; a longer window (queued hops) admits an hour", () => {
    expect(verifyHop("s3cret", "buildshiprun", body, header, { nowMs: NOW + 300_000 })).toBe(true);
    expect(verifyHop("s3cret", "buildshiprun", body, header, { nowMs: NOW + 3_600_000 })).toBe(false);
    const queued = { nowMs: NOW + 3_600_000, maxAgeMs: QUEUED_HOP_MAX_AGE_MS };
    expect(verifyHop("s3cret", "buildshiprun", body, header, queued)).toBe(true);
  });

  it("exactly 60 s in the future (clock skew between pods) → still true", () => {
    expect(verifyHop("s3cret", "buildshiprun", body, header, { nowMs: NOW - 60_000 })).toBe(true);
  });

  it("a stale or malformed header is refused before any body byte is read (ready = false)", () => {
    expect(createHopVerifier("s3cret", "of-builder", undefined).ready).toBe(false);
    expect(createHopVerifier("s3cret", "of-builder", "sha256=abc").ready).toBe(false);
    expect(createHopVerifier("s3cret", "of-builder", header, { nowMs: NOW + 600_000 }).ready).toBe(false);
  });
});

describe("requireHop", () => {
  const body = Buffer.from('{"owner":"alice"}');
  const event = (header?: string) => ({ body, headers: { "x-cloud-signature-256": header } });

  it("a fresh hop for this target → returns", () => {
    expect(() => requireHop("s3cret", "git-tar", event(signHop("s3cret", "git-tar", body)))).not.toThrow();
  });

  it.each([
    ["missing", undefined],
    ["for another target", signHop("s3cret", "buildshiprun", Buffer.from('{"owner":"alice"}'))],
  ])("a signature %s → 401 naming the target", (_, header) => {
    let thrown: unknown;
    try {
      requireHop("s3cret", "git-tar", event(header));
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({
      status: 401,
      message: "invalid, stale or missing X-Cloud-Signature-256 for git-tar",
    });
  });

  it("an hour-old hop → 401 by default, accepted with the queued window", () => {
    const NOW = Date.UTC(2026, 10, 30, 12, 0, 0);
    const old = event(signHop("s3cret", "git-tar", body, NOW - 3_000_000));
    expect(() => requireHop("s3cret", "git-tar", old, { nowMs: NOW })).toThrow(/for git-tar/);
    expect(() => requireHop("s3cret", "git-tar", old, { nowMs: NOW, maxAgeMs: QUEUED_HOP_MAX_AGE_MS })).not.toThrow();
  });
});
