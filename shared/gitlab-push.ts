import { z } from "zod";
import { parseJsonBody } from "./json-body.js";

// One path segment of a GitLab project or namespace: letters, digits, '.', '_', '-', never `.` or `..`, so
// `<gitlab_url>/<pathWithNamespace>.git` cannot leave the project's path on the instance (issue #10's rule).
const SEGMENT = /^[A-Za-z0-9._-]+$/;
const segment = z
  .string()
  .regex(SEGMENT, "expected a GitLab path: letters, digits, '.', '_', '-'")
  .refine((name) => name !== "." && name !== "..", "expected a GitLab path, not . or ..");
const nestedPath = (min: number) =>
  z
    .string()
    .refine(
      (path) => path.split("/").length >= min && path.split("/").every((s) => segment.safeParse(s).success),
      `expected ${min === 1 ? "a" : `${min} or more`} '/'-separated GitLab path segment${min === 1 ? "" : "s"}`,
    );
const sha = z.string().regex(/^[0-9a-f]{40}$/, "expected a 40-character hex SHA");

/**
 * The push gitlab-event forwards to gitlab-push (issue #19): normalised from the webhook's ref and SHAs and the
 * GitLab API's answer for the project, never the payload's project fields, so a forged body cannot claim another
 * namespace's id.
 */
const gitlabPush = z.object({
  project: z.object({
    /** What GitLab's API addresses the project by; the build request's installationId. */
    id: z.number().int().positive(),
    path: segment,
    pathWithNamespace: nestedPath(2),
    webUrl: z.url(),
    visibility: z.enum(["public", "internal", "private"]),
    defaultBranch: z.string().min(1),
    namespace: z.object({ id: z.number().int().positive(), fullPath: nestedPath(1) }),
  }),
  ref: z.string().min(1),
  before: sha,
  after: sha,
  /** X-Gitlab-Event-UUID, or a generated id when GitLab sent none. */
  deliveryId: z.string().min(1),
});
export type GitlabPush = z.infer<typeof gitlabPush>;

/** Parses gitlab-event's hop body; a 400 naming the bad fields otherwise. */
export function parseGitlabPush(body: Buffer): GitlabPush {
  return parseJsonBody(gitlabPush, body, "gitlab push");
}

/** A push that removed its branch or tag: GitLab sends `after` as 40 zeros. */
export function isGitlabDeletion(push: Pick<GitlabPush, "after">): boolean {
  return /^0{40}$/.test(push.after);
}
