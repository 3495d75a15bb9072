import { generateKeyPairSync, randomInt } from "node:crypto";

/** A GitHub App identity for tests: its id and an RSA key pair like the one GitHub hands out. */
export type TestApp = { appId: number; privateKeyPem: string; publicKeyPem: string };

/**
 * Creates a fresh test App. The private key is PKCS#1 (`-----BEGIN RSA PRIVATE KEY-----`) because that is the
 * form GitHub's "Generate a private key" download has, so the code under test reads the same bytes it will in
 * production; the public key is SPKI, the form `jose.importSPKI` takes.
 */
export function createTestApp(appId: number = randomInt(100_000, 1_000_000)): TestApp {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    privateKeyEncoding: { type: "pkcs1", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  });
  return { appId, privateKeyPem: privateKey, publicKeyPem: publicKey };
}
