import { createHash, timingSafeEqual } from "node:crypto";

/** The header a GitLab webhook carries its secret token in (docs.gitlab.com: "Validate requests with a secret token"). */
export const GITLAB_TOKEN_HEADER = "x-gitlab-token";

const digest = (value: string) => createHash("sha256").update(value, "utf8").digest();

/**
 * Whether X-Gitlab-Token is the configured secret. GitLab sends the secret itself, not a signature, so this is a
 * compare: of SHA-256 digests, which are always 32 bytes, in constant time, so neither the length nor a prefix of the
 * secret leaks through timing. A missing header or an empty secret never matches.
 */
export function verifyGitlabToken(secret: string, header: string | undefined): boolean {
  if (!secret || header === undefined) return false;
  return timingSafeEqual(digest(secret), digest(header));
}
