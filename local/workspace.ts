import { generateKeyPairSync, randomBytes, randomInt } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createSealingKey } from "../shared/sealed-secrets/certificate.js";

/** The local runtime's own state: secrets and the local GitHub App's keys, made once with fresh random values. */
export interface Workspace {
  dir: string;
  secretsDir: string;
  appId: number;
  publicKeyPem: string;
}

// Random values, each the only key to one service (issue #10): the internal services share the host network with
// user builds and functions, so these are what keeps user code out. The S3 access key is random too, so that
// s3rver's well-known S3RVER account is not a way in (local/services/s3.ts).
export const RANDOM_SECRETS = [
  "github-webhook-secret",
  "payload-secret",
  "basic-auth-password",
  "nats-password",
  "registry-password",
  "s3-access-key",
  "s3-secret-key",
  // The local GitHub App's OAuth client secret, known to the stand-in and edge-auth (issue #13).
  "oauth-client-secret",
  // The local GitLab's system hook token and API token (issue #19): gitlab-event checks the first on every hook; the
  // stand-in takes only the second on its API.
  "gitlab-webhook-secret",
  "gitlab-api-token",
] as const;
// Earlier versions wrote s3rver's fixed account here; a value everyone knows is no key: it is replaced.
const WELL_KNOWN = new Set(["S3RVER"]);

/** Creates `<dir>/secrets` on first run (mode 0600 files) and reads it back on later runs. */
export function prepareWorkspace(dir: string): Workspace {
  const secretsDir = join(dir, "secrets");
  const appFile = join(dir, "github-app.json");
  mkdirSync(secretsDir, { recursive: true, mode: 0o700 });
  // Also a folder an older version made with the default mode: only root may list or read the keys.
  chmodSync(secretsDir, 0o700);
  for (const name of RANDOM_SECRETS) {
    const path = join(secretsDir, name);
    if (!existsSync(path) || WELL_KNOWN.has(readFileSync(path, "utf8").trim())) {
      writeFileSync(path, randomBytes(24).toString("hex"), { mode: 0o600 });
    }
  }
  // edge-auth's session key pair (issue #13): EC P-256 for ES256, made once so sessions survive a restart.
  if (!existsSync(join(secretsDir, "jwt-private-key")) || !existsSync(join(secretsDir, "jwt-public-key"))) {
    const pair = generateKeyPairSync("ec", {
      namedCurve: "P-256",
      privateKeyEncoding: { type: "pkcs8", format: "pem" },
      publicKeyEncoding: { type: "spki", format: "pem" },
    });
    writeFileSync(join(secretsDir, "jwt-private-key"), pair.privateKey, { mode: 0o600 });
    writeFileSync(join(secretsDir, "jwt-public-key"), pair.publicKey, { mode: 0o600 });
  }
  // import-secrets' sealing key (issue #15), made once: secrets.yml files sealed with its certificate keep opening.
  // Rotation appends a newer pair to the same file (docs/secrets.md). 2048 bits, not the controller's 4096: a 4096-bit
  // key takes seconds of CPU, on every fresh start of a test's runtime; kubeseal takes any RSA size.
  if (!existsSync(join(secretsDir, "sealed-secrets-keys"))) {
    const pair = createSealingKey(new Date(), 2048);
    writeFileSync(join(secretsDir, "sealed-secrets-keys"), pair.privateKeyPem + pair.certificatePem, { mode: 0o600 });
  }
  // The local operator's user name: the password is what guards /system/*.
  if (!existsSync(join(secretsDir, "basic-auth-user"))) {
    writeFileSync(join(secretsDir, "basic-auth-user"), "admin", { mode: 0o600 });
  }
  if (!existsSync(appFile)) {
    const { privateKey, publicKey } = generateKeyPairSync("rsa", {
      modulusLength: 2048,
      privateKeyEncoding: { type: "pkcs1", format: "pem" },
      publicKeyEncoding: { type: "spki", format: "pem" },
    });
    writeFileSync(join(secretsDir, "private-key"), privateKey, { mode: 0o600 });
    writeFileSync(appFile, JSON.stringify({ appId: randomInt(100_000, 999_999), publicKeyPem: publicKey }, null, 2));
  }
  const app = JSON.parse(readFileSync(appFile, "utf8")) as { appId: number; publicKeyPem: string };
  return { dir, secretsDir, ...app };
}
