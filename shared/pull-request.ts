import { z } from "zod";
import { parseJsonBody } from "./json-body.js";
import { githubRepository } from "./push.js";

/**
 * The parts of GitHub's `pull_request` webhook a preview's removal reads (issue #17): a closed pull request ends the
 * preview of its head branch, when that branch is in the same repository (a fork's branch never had a preview here).
 */
const pullRequestEvent = z.object({
  action: z.string().min(1),
  pull_request: z.object({
    number: z.number().int(),
    head: z.object({
      ref: z.string().min(1),
      // null when the fork was deleted.
      repo: z.object({ id: z.number().int() }).nullable(),
    }),
  }),
  repository: githubRepository.extend({ id: z.number().int() }),
  installation: z.object({ id: z.number().int().positive() }).optional(),
});
export type PullRequestEvent = z.infer<typeof pullRequestEvent>;

/** Parses a `pull_request` webhook; a 400 naming the bad fields otherwise. */
export function parsePullRequest(body: Buffer): PullRequestEvent {
  return parseJsonBody(pullRequestEvent, body, "pull_request event");
}

/** Whether the event closes a pull request whose head branch lives in the repository itself. */
export function closesOwnBranch(event: PullRequestEvent): boolean {
  return event.action === "closed" && event.pull_request.head.repo?.id === event.repository.id;
}
