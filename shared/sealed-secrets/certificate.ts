import { createPublicKey, generateKeyPairSync, randomBytes, sign, X509Certificate, type KeyObject } from "node:crypto";

// kubeseal --cert reads a PEM X.509 certificate and refuses an expired one; the controller makes its own with a
// 10-year validity and CN "sealed-secret". Node can parse certificates but not issue them, so this writes the few DER
// structures a self-signed v1 certificate needs (RFC 5280 §4.1); the signature is Node's RSA PKCS#1 v1.5 SHA-256.
const VALIDITY_MS = 10 * 365 * 24 * 3600 * 1000;
const SHA256_WITH_RSA = "2a864886f70d01010b"; // 1.2.840.113549.1.1.11
const COMMON_NAME = "550403"; // 2.5.4.3

function der(tag: number, content: Buffer): Buffer {
  const n = content.length;
  const length =
    n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]);
  if (n > 0xffff) throw new RangeError("certificate field too long");
  return Buffer.concat([Buffer.from([tag]), length, content]);
}
const seq = (...items: Buffer[]) => der(0x30, Buffer.concat(items));
const oid = (hex: string) => der(0x06, Buffer.from(hex, "hex"));

/** UTCTime until 2049, GeneralizedTime from 2050 on (RFC 5280 §4.1.2.5). */
function time(at: Date): Buffer {
  const iso = at.toISOString().replace(/[-:T]/g, "").slice(0, 14) + "Z";
  return at.getUTCFullYear() < 2050 ? der(0x17, Buffer.from(iso.slice(2))) : der(0x18, Buffer.from(iso));
}

function name(commonName: string): Buffer {
  return seq(der(0x31, seq(oid(COMMON_NAME), der(0x0c, Buffer.from(commonName)))));
}

/** A new sealing key: a 4096-bit RSA private key (PKCS#8 PEM) and its self-signed certificate (PEM), as the controller makes. */
export function createSealingKey(now: Date, bits = 4096): { privateKeyPem: string; certificatePem: string } {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: bits });
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) | 0x40; // A positive INTEGER, minimally encoded (Go refuses a leading zero).
  const algorithm = seq(oid(SHA256_WITH_RSA), Buffer.from([0x05, 0x00]));
  const subject = name("sealed-secret");
  const tbs = seq(
    der(0x02, serial),
    algorithm,
    subject,
    seq(time(now), time(new Date(now.getTime() + VALIDITY_MS))),
    subject,
    publicKey.export({ type: "spki", format: "der" }),
  );
  const signature = sign("sha256", tbs, privateKey);
  const certificate = seq(tbs, algorithm, der(0x03, Buffer.concat([Buffer.from([0]), signature])));
  const body = certificate.toString("base64").replace(/.{1,64}/g, "$&\n");
  return {
    privateKeyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    certificatePem: `-----BEGIN CERTIFICATE-----\n${body}-----END CERTIFICATE-----\n`,
  };
}

/** The RSA public key of a PEM certificate that is valid at `now`; throws naming what is wrong (as kubeseal does). */
export function publicKeyOfCertificate(pem: string, now: Date): KeyObject {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(pem);
  } catch (cause) {
    throw new Error("sealed-secrets: the certificate is not a PEM X.509 certificate", { cause });
  }
  const key = createPublicKey(certificate.publicKey.export({ type: "spki", format: "pem" }));
  if (key.asymmetricKeyType !== "rsa") throw new Error("sealed-secrets: the certificate's key is not an RSA key");
  if (now.getTime() > new Date(certificate.validTo).getTime()) {
    throw new Error(`sealed-secrets: the certificate expired on ${certificate.validTo}`);
  }
  return key;
}
