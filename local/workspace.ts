import { generateKeyPairSync, randomBytes, randomInt } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** The local runtime's own state: secrets and the local GitHub App's keys, made once with fresh random values. */
export interface Workspace {
  dir: string;
  secretsDir: string;
  appId: number;
  publicKeyPem: string;
}

const SECRETS = ["github-webhook-secret", "payload-secret", "basic-auth-password"] as const;

/** Creates `<dir>/secrets` on first run (mode 0600 files) and reads it back on later runs. */
export function prepareWorkspace(dir: string): Workspace {
  const secretsDir = join(dir, "secrets");
  const appFile = join(dir, "github-app.json");
  mkdirSync(secretsDir, { recursive: true, mode: 0o700 });
  for (const name of SECRETS) {
    const path = join(secretsDir, name);
    if (!existsSync(path)) writeFileSync(path, randomBytes(24).toString("hex"), { mode: 0o600 });
  }
  // Fixed values: the local user name, and s3rver's built-in account (local/services/s3.ts).
  for (const [name, value] of [
    ["basic-auth-user", "admin"],
    ["s3-access-key", "S3RVER"],
    ["s3-secret-key", "S3RVER"],
  ] as const) {
    if (!existsSync(join(secretsDir, name))) writeFileSync(join(secretsDir, name), value, { mode: 0o600 });
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
