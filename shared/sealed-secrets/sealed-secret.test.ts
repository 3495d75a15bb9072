import { constants, createDecipheriv, createPrivateKey, privateDecrypt, type KeyObject } from "node:crypto";
import { createSealingKey, publicKeyOfCertificate } from "./certificate.js";
import { hybridDecrypt, hybridEncrypt } from "./hybrid.js";
import {
  CLUSTER_WIDE_ANNOTATION,
  NAMESPACE_WIDE_ANNOTATION,
  openSealedSecret,
  scopeLabel,
  scopeOf,
  sealSecret,
  type Scope,
} from "./sealed-secret.js";

const NOW = new Date("2026-01-01T00:00:00Z");
// 2048-bit keys keep the suite fast; the layout is the same for the 4096-bit keys the cloud makes.
const oldPair = createSealingKey(NOW, 2048);
const newPair = createSealingKey(NOW, 2048);
const oldPublic = publicKeyOfCertificate(oldPair.certificatePem, NOW);
const newPublic = publicKeyOfCertificate(newPair.certificatePem, NOW);
const oldPrivate = createPrivateKey(oldPair.privateKeyPem);
const newPrivate = createPrivateKey(newPair.privateKeyPem);
const PLAINTEXT = Buffer.from("s3cr3t-api-token");
const TARGET = { name: "alice--api-key", namespace: "openfaas-fn" };

function opened(keys: KeyObject[], secret: ReturnType<typeof sealSecret>): string | undefined {
  const result = openSealedSecret(keys, secret);
  return result.ok ? result.data.token!.toString() : undefined;
}

describe("scopeLabel (kubeseal's EncryptionLabel)", () => {
  it.each<[Scope, string]>([
    ["strict", "openfaas-fn/alice--api-key"],
    ["namespace-wide", "openfaas-fn"],
    ["cluster-wide", ""],
  ])("%s → %j", (scope, label) => {
    expect(scopeLabel(scope, TARGET.namespace, TARGET.name).toString()).toBe(label);
  });
});

describe("hybridEncrypt: kubeseal's byte layout", () => {
  it("2-byte length, RSA-OAEP(SHA-256, label) of a 32-byte key, AES-256-GCM with a zero nonce and a 16-byte tag", () => {
    const label = Buffer.from("openfaas-fn/alice--api-key");
    const sealed = hybridEncrypt(newPublic, PLAINTEXT, label);
    // Decoded here with Node's primitives from the layout alone, not with hybridDecrypt.
    const rsaLength = sealed.readUInt16BE(0);
    expect(rsaLength).toBe(256);
    expect(sealed.length).toBe(2 + 256 + PLAINTEXT.length + 16);
    const wrapped = sealed.subarray(2, 2 + rsaLength);
    const oaep = { key: newPrivate, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: "sha256" };
    const sessionKey = privateDecrypt({ ...oaep, oaepLabel: label }, wrapped);
    expect(sessionKey.length).toBe(32);
    expect(() => privateDecrypt({ ...oaep, oaepLabel: Buffer.from("openfaas-fn") }, wrapped)).toThrow();
    const decipher = createDecipheriv("aes-256-gcm", sessionKey, Buffer.alloc(12));
    decipher.setAuthTag(sealed.subarray(sealed.length - 16));
    const body = sealed.subarray(2 + rsaLength, sealed.length - 16);
    expect(Buffer.concat([decipher.update(body), decipher.final()])).toEqual(PLAINTEXT);
  });

  it("the same value sealed twice → different bytes (a fresh session key each time)", () => {
    const label = Buffer.alloc(0);
    expect(hybridEncrypt(newPublic, PLAINTEXT, label).equals(hybridEncrypt(newPublic, PLAINTEXT, label))).toBe(false);
  });

  it.each([
    ["the length prefix", 1],
    ["the wrapped key", 100],
    ["the AES ciphertext", 2 + 256 + 3],
    ["the GCM tag", -1],
  ])("a flipped byte in %s → does not open", (_, at) => {
    const label = Buffer.from("x");
    const sealed = hybridEncrypt(newPublic, PLAINTEXT, label);
    const index = at < 0 ? sealed.length + at : at;
    sealed[index] = sealed[index]! ^ 0x01;
    expect(hybridDecrypt([newPrivate], sealed, label)).toBeUndefined();
  });

  it.each([
    ["empty", Buffer.alloc(0)],
    ["one byte", Buffer.from([1])],
    ["a length past the end", Buffer.from([0xff, 0xff, 1, 2, 3])],
  ])("%s → does not open (no throw)", (_, sealed) => {
    expect(hybridDecrypt([newPrivate], sealed, Buffer.alloc(0))).toBeUndefined();
  });
});

describe("sealSecret → openSealedSecret", () => {
  it.each<Scope>(["strict", "namespace-wide", "cluster-wide"])("%s: seal then open → the plaintext", (scope) => {
    const secret = sealSecret(newPublic, { ...TARGET, scope }, { token: PLAINTEXT });
    expect(opened([newPrivate], secret)).toBe(PLAINTEXT.toString());
  });

  it.each<[Scope, Partial<typeof TARGET>, boolean]>([
    ["strict", { name: "bob--api-key" }, false],
    ["strict", { namespace: "default" }, false],
    ["namespace-wide", { name: "bob--api-key" }, true],
    ["namespace-wide", { namespace: "default" }, false],
    ["cluster-wide", { name: "bob--api-key", namespace: "default" }, true],
  ])("%s secret moved to %j → opens: %s", (scope, moved, opens) => {
    const secret = sealSecret(newPublic, { ...TARGET, scope }, { token: PLAINTEXT });
    expect(opened([newPrivate], { ...secret, ...moved }) !== undefined).toBe(opens);
  });

  it("a strict secret relabelled cluster-wide → does not open", () => {
    const secret = sealSecret(newPublic, { ...TARGET, scope: "strict" }, { token: PLAINTEXT });
    expect(opened([newPrivate], { ...secret, scope: "cluster-wide" })).toBeUndefined();
  });

  it("rotation: old and new secrets open with both keys; an old one does not open once its key is dropped", () => {
    const sealedOld = sealSecret(oldPublic, { ...TARGET, scope: "strict" }, { token: PLAINTEXT });
    const sealedNew = sealSecret(newPublic, { ...TARGET, scope: "strict" }, { token: PLAINTEXT });
    expect(opened([oldPrivate, newPrivate], sealedOld)).toBe(PLAINTEXT.toString());
    expect(opened([oldPrivate, newPrivate], sealedNew)).toBe(PLAINTEXT.toString());
    expect(opened([newPrivate], sealedOld)).toBeUndefined();
  });

  it("a failure names the key and the reasons, never the value", () => {
    const secret = sealSecret(newPublic, { ...TARGET, scope: "strict" }, { token: PLAINTEXT });
    const result = openSealedSecret([oldPrivate], secret);
    expect(result).toEqual({
      ok: false,
      reason:
        'value "token" does not open with the cloud\'s keys: sealed with another certificate, for another name or ' +
        "namespace, or changed",
    });
  });

  it("a value that is not base64 → does not open", () => {
    const secret = { ...TARGET, scope: "strict" as const, encryptedData: { token: "not base64!" } };
    expect(openSealedSecret([newPrivate], secret).ok).toBe(false);
  });
});

describe("scopeOf (the SealedSecret's annotations)", () => {
  it.each<[string, Record<string, string>, Scope]>([
    ["none", {}, "strict"],
    ["namespace-wide", { [NAMESPACE_WIDE_ANNOTATION]: "true" }, "namespace-wide"],
    ["cluster-wide", { [CLUSTER_WIDE_ANNOTATION]: "true" }, "cluster-wide"],
    [
      "both: cluster-wide wins",
      { [NAMESPACE_WIDE_ANNOTATION]: "true", [CLUSTER_WIDE_ANNOTATION]: "true" },
      "cluster-wide",
    ],
    ['both "false"', { [NAMESPACE_WIDE_ANNOTATION]: "false", [CLUSTER_WIDE_ANNOTATION]: "false" }, "strict"],
  ])("%s → %s", (_, annotations, scope) => {
    expect(scopeOf(annotations)).toBe(scope);
  });
});

describe("openSealedSecret: which values fail, and why", () => {
  it("two values that fail and one that opens → not ok, both failing keys named, the good one not", () => {
    const good = sealSecret(newPublic, { ...TARGET, scope: "strict" }, { token: PLAINTEXT });
    const bad = sealSecret(oldPublic, { ...TARGET, scope: "strict" }, { a: PLAINTEXT, b: PLAINTEXT });
    const result = openSealedSecret([newPrivate], {
      ...good,
      encryptedData: { ...bad.encryptedData, ...good.encryptedData },
    });
    expect(result).toEqual({
      ok: false,
      reason:
        'value "a", "b" does not open with the cloud\'s keys: sealed with another certificate, for another name or ' +
        "namespace, or changed",
    });
  });

  it("a namespace-wide secret that fails → the reason says another scope, not another name", () => {
    const secret = sealSecret(oldPublic, { ...TARGET, scope: "namespace-wide" }, { token: PLAINTEXT });
    expect(openSealedSecret([newPrivate], secret)).toEqual({
      ok: false,
      reason:
        'value "token" does not open with the cloud\'s keys: sealed with another certificate, for another scope, or changed',
    });
  });

  it("two values that open → both, each its own plaintext", () => {
    const secret = sealSecret(newPublic, { ...TARGET, scope: "strict" }, { a: Buffer.from("1"), b: Buffer.from("2") });
    const result = openSealedSecret([newPrivate], secret);
    expect(result.ok && Object.fromEntries(Object.entries(result.data).map(([k, v]) => [k, v.toString()]))).toEqual({
      a: "1",
      b: "2",
    });
  });

  it("a good value with a stray character inside → does not open: only strict base64 is read", () => {
    const secret = sealSecret(newPublic, { ...TARGET, scope: "strict" }, { token: PLAINTEXT });
    const value = secret.encryptedData.token!;
    const stray = `${value.slice(0, 10)}!${value.slice(10)}`;
    // Node's base64 decoder skips the "!", so only the pattern check refuses it.
    expect(Buffer.from(stray, "base64").equals(Buffer.from(value, "base64"))).toBe(true);
    expect(openSealedSecret([newPrivate], { ...secret, encryptedData: { token: stray } }).ok).toBe(false);
  });
});
