import { createHash, timingSafeEqual } from "node:crypto";

/** The gateway's `/system/*` credentials (the `basic-auth-user` and `basic-auth-password` secrets, DESIGN §4). */
export interface Credentials {
  user: string;
  password: string;
}

/**
 * A check of an `Authorization` header against `credentials`, as faas-provider's `auth/basic_auth.go` does, with
 * both user and password compared in constant time (over SHA-256 digests, so lengths do not leak either).
 */
export function createBasicAuth(credentials: Credentials): (authorization: string | undefined) => boolean {
  const user = digest(credentials.user);
  const password = digest(credentials.password);
  return (authorization) => {
    const match = /^Basic\s+(\S+)$/i.exec(authorization ?? "");
    if (!match) return false;
    const decoded = Buffer.from(match[1] ?? "", "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon === -1) return false;
    const userOk = timingSafeEqual(digest(decoded.slice(0, colon)), user);
    const passwordOk = timingSafeEqual(digest(decoded.slice(colon + 1)), password);
    return userOk && passwordOk;
  };
}

function digest(value: string): Buffer {
  return createHash("sha256").update(value, "utf8").digest();
}
