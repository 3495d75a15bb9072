import { createPrivateKey, X509Certificate } from "node:crypto";
import { createSealingKey, publicKeyOfCertificate } from "./certificate.js";
import { parseSealingKeys } from "./sealing-keys.js";

const NOW = new Date("2026-01-01T00:00:00Z");
const first = createSealingKey(NOW, 2048);
const second = createSealingKey(NOW, 2048);

describe("createSealingKey", () => {
  it("→ a self-signed certificate of the key, CN sealed-secret, valid ten years from now", () => {
    const certificate = new X509Certificate(first.certificatePem);
    expect(certificate.subject).toBe("CN=sealed-secret");
    expect(certificate.issuer).toBe("CN=sealed-secret");
    expect(certificate.verify(certificate.publicKey)).toBe(true);
    expect(certificate.checkPrivateKey(createPrivateKey(first.privateKeyPem))).toBe(true);
    expect(new Date(certificate.validFrom).toISOString()).toBe("2026-01-01T00:00:00.000Z");
    expect(new Date(certificate.validTo).getUTCFullYear()).toBe(2035);
  });

  it("a validity past 2049 → GeneralizedTime, still readable", () => {
    const late = createSealingKey(new Date("2045-06-01T00:00:00Z"), 2048);
    expect(new Date(new X509Certificate(late.certificatePem).validTo).getUTCFullYear()).toBe(2055);
  });
});

describe("publicKeyOfCertificate", () => {
  it("a valid certificate → its RSA key", () => {
    expect(publicKeyOfCertificate(first.certificatePem, NOW).asymmetricKeyDetails?.modulusLength).toBe(2048);
  });

  it.each([
    ["an expired certificate", first.certificatePem, new Date("2040-01-01T00:00:00Z"), /expired/],
    ["a private key", first.privateKeyPem, NOW, /not a PEM X.509 certificate/],
    ["garbage", "hello", NOW, /not a PEM X.509 certificate/],
  ])("%s → throws", (_, pem, at, message) => {
    expect(() => publicKeyOfCertificate(pem, at)).toThrow(message);
  });
});

describe("parseSealingKeys", () => {
  it("two pairs, oldest first → both keys open, the newest certificate is published", () => {
    const keys = parseSealingKeys(
      [first.privateKeyPem, first.certificatePem, second.privateKeyPem, second.certificatePem].join(""),
    );
    expect(keys.privateKeys).toHaveLength(2);
    expect(keys.certificatePem.trim()).toBe(second.certificatePem.trim());
  });

  it.each([
    ["nothing", "", /expected PEM private keys/],
    ["keys without a certificate", first.privateKeyPem, /expected PEM private keys/],
    ["a certificate of another key", first.privateKeyPem + second.certificatePem, /matches none/],
    [
      "a broken key",
      "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n" + first.certificatePem,
      /private key 1 is not a readable PEM key/,
    ],
  ])("%s → throws naming the problem", (_, bundle, message) => {
    expect(() => parseSealingKeys(bundle)).toThrow(message);
  });

  it("an error never quotes key material", () => {
    const bundle = first.privateKeyPem.replace("MII", "XXX") + first.certificatePem;
    let message = "";
    try {
      parseSealingKeys(bundle);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).not.toMatch(/BEGIN|[A-Za-z0-9+/]{40}/);
  });
});
