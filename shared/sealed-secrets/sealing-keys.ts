import { createPrivateKey, createPublicKey, X509Certificate, type KeyObject } from "node:crypto";

/** The cloud's sealing keys: every private key opens (rotation), the newest certificate is the one users seal with. */
export interface SealingKeys {
  privateKeys: KeyObject[];
  /** PEM of the last certificate in the bundle: the one published for `seal` and `kubeseal --cert`. */
  certificatePem: string;
}

const PEM_BLOCK = /-----BEGIN ([A-Z ]+)-----[\s\S]*?-----END \1-----/g;

/**
 * Reads the `sealed-secrets-keys` secret: PEM blocks, each private key followed by its certificate, oldest first
 * (docs/secrets.md, rotation appends a pair). Throws naming what is missing; never quotes a key.
 */
export function parseSealingKeys(bundle: string): SealingKeys {
  const privateKeys: KeyObject[] = [];
  const certificates: string[] = [];
  for (const [block, type] of bundle.matchAll(PEM_BLOCK)) {
    if (type === "CERTIFICATE") certificates.push(`${block}\n`);
    else if (type === "PRIVATE KEY" || type === "RSA PRIVATE KEY") {
      try {
        privateKeys.push(createPrivateKey(block));
      } catch (cause) {
        throw new Error(`sealed-secrets-keys: private key ${privateKeys.length + 1} is not a readable PEM key`, {
          cause,
        });
      }
    }
  }
  const certificatePem = certificates.at(-1);
  if (privateKeys.length === 0 || certificatePem === undefined) {
    throw new Error("sealed-secrets-keys: expected PEM private keys, each followed by its certificate");
  }
  const published = createPublicKey(
    new X509Certificate(certificatePem).publicKey.export({ type: "spki", format: "pem" }),
  );
  const spki = (key: KeyObject) => createPublicKey(key).export({ type: "spki", format: "der" });
  const publishedDer = published.export({ type: "spki", format: "der" });
  if (!privateKeys.some((key) => spki(key).equals(publishedDer))) {
    throw new Error("sealed-secrets-keys: the newest certificate matches none of the private keys");
  }
  return { privateKeys, certificatePem };
}
