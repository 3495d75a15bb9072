import type { PushEvent } from "@octokit/webhooks-types";
import { z } from "zod";
import { parseJsonBody } from "./json-body.js";

/** The parts of a webhook's `repository` the pipeline reads (pushes and re-runs, issue #17). */
export const githubRepository = z.object({
  name: z.string().min(1),
  full_name: z.string().min(1),
  clone_url: z.url(),
  html_url: z.url(),
  private: z.boolean(),
  default_branch: z.string().min(1),
  owner: z.object({ login: z.string().min(1), id: z.number().int() }),
});
export type GithubRepository = z.infer<typeof githubRepository>;

/** The parts of GitHub's push payload the pipeline reads; validated once at the front door. */
const githubPush = z.object({
  ref: z.string().min(1),
  after: z.string().regex(/^[0-9a-f]{40}$/, "expected a 40-character hex SHA"),
  deleted: z.boolean().optional(),
  repository: githubRepository,
  installation: z.object({ id: z.number().int().positive() }).optional(),
});
export type GithubPush = z.infer<typeof githubPush>;

// Compile-time guard: GitHub's own payload type (from @octokit/webhooks-types) fits the schema above.
const fits = (event: PushEvent): z.input<typeof githubPush> => ({ ...event, installation: event.installation });
void fits;

// Path segments of `<github_url>/<owner>/<repo>.git`: no slash, and never `.` or `..`, so a payload cannot steer the
// clone to another path on the git host (issue #10). Loose enough for GitHub Enterprise logins (`_`) and `.github`.
const owner = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "expected a login: letters, digits, '.', '_', '-'");
const repo = z
  .string()
  .regex(/^[A-Za-z0-9._-]+$/, "expected a repository name: letters, digits, '.', '_', '-'")
  .refine((name) => name !== "." && name !== "..", "expected a repository name, not . or ..");

/**
 * The body github-push sends to git-tar (and git-tar to later stages): one normalised push to build. It carries no
 * clone URL: git-tar clones `<github_url>/<owner>/<repo>.git`, so no payload can point it (and the installation
 * token) at another host (issue #10).
 */
const buildRequest = z.object({
  owner,
  ownerId: z.number().int(),
  repo,
  fullName: z.string().min(1),
  repoUrl: z.url(),
  private: z.boolean(),
  sha: z.string().regex(/^[0-9a-f]{40}$/),
  ref: z.string().min(1),
  branch: z.string().min(1),
  installationId: z.number().int().positive(),
  deliveryId: z.string(),
  /**
   * A branch other than the build branch, built as a preview (issue #17, docs/previews.md) when enable_previews is on;
   * git-tar builds it only when the repository's .openfaas-cloud.yml opts in.
   */
  preview: z.boolean().optional(),
  /** The `stack-deploy` check run github-push created queued (issue #17); absent when it could not. */
  checkRunId: z.number().int().positive().optional(),
});
export type BuildRequest = z.infer<typeof buildRequest>;

/** Parses a GitHub push payload; a 400 naming the bad fields otherwise. */
export function parseGithubPush(body: Buffer): GithubPush {
  return parseJsonBody(githubPush, body, "push event");
}

/** Parses the internal build request hop body; a 400 naming the bad fields otherwise. */
export function parseBuildRequest(body: Buffer): BuildRequest {
  return parseJsonBody(buildRequest, body, "build request");
}

/** A push that removed its ref (a deleted branch or tag): nothing to build, and no commit to put a status on. */
export function isDeletion(push: GithubPush): boolean {
  return push.deleted === true || /^0{40}$/.test(push.after);
}
