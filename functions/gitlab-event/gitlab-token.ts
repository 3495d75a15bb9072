import { createHash, timingSafeEqual } from "node:crypto";
import type { Precheck } from "../../shared/function-handler.js";

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

/**
 * Refuses a hook before its body is read (issue #10's rule for every caller that can be told apart unread): GitLab's
 * token is a header, not a signature over the body, so a caller without it is turned away without buffering up to the
 * 25 MiB cap. The router checks it again, for callers that do not come through a function server.
 */
export function tokenPrecheck(secret: string): Precheck {
  return ({ method, headers }) => {
    if (method !== "POST" || !secret) return undefined;
    const header = headers[GITLAB_TOKEN_HEADER];
    return verifyGitlabToken(secret, typeof header === "string" ? header : undefined)
      ? undefined
      : { status: 401, message: "invalid or missing X-Gitlab-Token" };
  };
}
