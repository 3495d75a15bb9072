import type { PushEvent } from "@octokit/webhooks-types";
import { z } from "zod";
import { parseJsonBody } from "./json-body.js";

/** The parts of GitHub's push payload the pipeline reads; validated once at the front door. */
const githubPush = z.object({
  ref: z.string().min(1),
  after: z.string().regex(/^[0-9a-f]{40}$/, "expected a 40-character hex SHA"),
  deleted: z.boolean().optional(),
  repository: z.object({
    name: z.string().min(1),
    full_name: z.string().min(1),
    clone_url: z.url(),
    html_url: z.url(),
    private: z.boolean(),
    default_branch: z.string().min(1),
    owner: z.object({ login: z.string().min(1), id: z.number().int() }),
  }),
  installation: z.object({ id: z.number().int().positive() }).optional(),
});
export type GithubPush = z.infer<typeof githubPush>;

// Compile-time guard: GitHub's own payload type (from @octokit/webhooks-types) fits the schema above.
const fits = (event: PushEvent): z.input<typeof githubPush> => ({ ...event, installation: event.installation });
void fits;

/** The body github-push sends to git-tar (and git-tar to later stages): one normalised push to build. */
const buildRequest = z.object({
  owner: z.string().min(1),
  ownerId: z.number().int(),
  repo: z.string().min(1),
  fullName: z.string().min(1),
  cloneUrl: z.url(),
  repoUrl: z.url(),
  private: z.boolean(),
  sha: z.string().regex(/^[0-9a-f]{40}$/),
  ref: z.string().min(1),
  branch: z.string().min(1),
  installationId: z.number().int().positive(),
  deliveryId: z.string(),
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
