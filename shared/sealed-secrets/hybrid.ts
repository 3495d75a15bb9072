import {
  constants,
  createCipheriv,
  createDecipheriv,
  privateDecrypt,
  publicEncrypt,
  randomBytes,
  type KeyObject,
} from "node:crypto";

// kubeseal's per-value layout (bitnami-labs/sealed-secrets pkg/crypto): a 2-byte big-endian length of the RSA
// ciphertext, the RSA-OAEP (SHA-256) wrapped session key, then the AES-256-GCM ciphertext with its 16-byte tag.
const SESSION_KEY_BYTES = 32;
const TAG_BYTES = 16;
// Each session key encrypts exactly one value, so kubeseal uses an all-zero 12-byte nonce; reusing it is never
// possible because the key is fresh (and the controller decrypts with the same zero nonce).
const ZERO_NONCE = Buffer.alloc(12);

function oaep(key: KeyObject, label: Buffer) {
  return { key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: "sha256", oaepLabel: label };
}

/** Seals one value as kubeseal does: a fresh session key, wrapped under `publicKey` with the scope's `label`. */
export function hybridEncrypt(publicKey: KeyObject, plaintext: Buffer, label: Buffer): Buffer {
  const sessionKey = randomBytes(SESSION_KEY_BYTES);
  const wrapped = publicEncrypt(oaep(publicKey, label), sessionKey);
  const cipher = createCipheriv("aes-256-gcm", sessionKey, ZERO_NONCE);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  const length = Buffer.alloc(2);
  length.writeUInt16BE(wrapped.length);
  return Buffer.concat([length, wrapped, body]);
}

/**
 * Opens one sealed value with the first of `privateKeys` that can (key rotation: every key opens, like the
 * controller). Undefined when none can: a wrong key, another label (scope, namespace or name) or a changed byte
 * all look the same, by design of OAEP and GCM.
 */
export function hybridDecrypt(privateKeys: readonly KeyObject[], sealed: Buffer, label: Buffer): Buffer | undefined {
  // Stryker disable next-line EqualityOperator: a 2-byte value fails the length check below instead
  if (sealed.length < 2) return undefined;
  const rsaLength = sealed.readUInt16BE(0);
  // Stryker disable next-line ConditionalExpression,EqualityOperator,ArithmeticOperator: a value shorter than its layout fails OAEP or GCM below anyway; this says so before any RSA work
  if (sealed.length < 2 + rsaLength + TAG_BYTES) return undefined;
  const wrapped = sealed.subarray(2, 2 + rsaLength);
  const body = sealed.subarray(2 + rsaLength, sealed.length - TAG_BYTES);
  const tag = sealed.subarray(sealed.length - TAG_BYTES);
  for (const key of privateKeys) {
    let sessionKey: Buffer;
    try {
      sessionKey = privateDecrypt(oaep(key, label), wrapped);
    } catch {
      continue; // Not this key (or not this label): try the next one.
    }
    // Stryker disable next-line ConditionalExpression: createDecipheriv refuses another key length too, caught below
    if (sessionKey.length !== SESSION_KEY_BYTES) continue;
    try {
      const decipher = createDecipheriv("aes-256-gcm", sessionKey, ZERO_NONCE);
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(body), decipher.final()]);
    } catch {
      // Like the controller, the next key gets its turn; with OAEP a wrong key practically never unwraps.
    }
  }
  return undefined;
}
