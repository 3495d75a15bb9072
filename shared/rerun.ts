import type {
  CheckRunRerequestedEvent,
  CheckSuiteRequestedEvent,
  CheckSuiteRerequestedEvent,
} from "@octokit/webhooks-types";
import { z } from "zod";
import { HttpError } from "./http-error.js";
import { parseJsonBody } from "./json-body.js";
import { githubRepository } from "./push.js";

/**
 * The check webhooks that (re)build a commit (issue #17): "Re-run" on a check run or on the suite, and the suite
 * GitHub requests on each push to an App with the checks permission. Every other action (created, completed,
 * requested_action…) is ignored.
 */
const ACTIONS: Readonly<Record<string, readonly string[]>> = {
  check_run: ["rerequested"],
  check_suite: ["requested", "rerequested"],
};

const sha = z.string().regex(/^[0-9a-f]{40}$/, "expected a 40-character hex SHA");
// head_branch is null when the commit is on no branch of the repository (a fork's pull request).
const suite = z.object({ head_sha: sha, head_branch: z.string().min(1).nullable() });
const installation = z.object({ id: z.number().int().positive() });
const checkSuiteEvent = z.object({
  action: z.enum(["requested", "rerequested"]),
  check_suite: suite,
  repository: githubRepository,
  installation,
});
const checkRunEvent = z.object({
  action: z.literal("rerequested"),
  check_run: z.object({ check_suite: suite }),
  repository: githubRepository,
  installation,
});

// Compile-time guard: GitHub's own payload types fit the schemas above (installation is optional in the types: an
// App always gets one, and the schema insists).
type Fits<T extends { installation: unknown }> = Omit<T, "installation">;
const fits = (
  suiteEvent: CheckSuiteRequestedEvent | CheckSuiteRerequestedEvent,
  runEvent: CheckRunRerequestedEvent,
): [Fits<z.input<typeof checkSuiteEvent>>, Fits<z.input<typeof checkRunEvent>>] => [suiteEvent, runEvent];
void fits;

/** One re-run request, whichever webhook carried it: the commit, its branch, repository and installation. */
export interface GithubRerun {
  event: "check_run" | "check_suite";
  action: "requested" | "rerequested";
  sha: string;
  /** null when GitHub names no branch for the commit. */
  branch: string | null;
  repository: z.infer<typeof githubRepository>;
  installationId: number;
}

/** Whether a webhook asks for a (re)build; parses only `action`, so ignored events need no full payload. */
export function wantsRerun(event: string, body: Buffer): boolean {
  const { action } = parseJsonBody(z.object({ action: z.string() }), body, `${event} event`);
  return ACTIONS[event]?.includes(action) === true;
}

/** Parses a check_run or check_suite re-run webhook; a 400 naming the bad fields otherwise. */
export function parseGithubRerun(event: string, body: Buffer): GithubRerun {
  if (event === "check_suite") {
    const e = parseJsonBody(checkSuiteEvent, body, "check_suite event");
    const { head_sha, head_branch } = e.check_suite;
    const common = { repository: e.repository, installationId: e.installation.id };
    return { event, action: e.action, sha: head_sha, branch: head_branch, ...common };
  }
  if (event === "check_run") {
    const e = parseJsonBody(checkRunEvent, body, "check_run event");
    const { head_sha, head_branch } = e.check_run.check_suite;
    const common = { repository: e.repository, installationId: e.installation.id };
    return { event, action: e.action, sha: head_sha, branch: head_branch, ...common };
  }
  throw new HttpError(400, `not a re-run event: ${event}`);
}
