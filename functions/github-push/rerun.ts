import type { Logger } from "pino";
import type { FunctionEvent, Reply } from "../../shared/function-handler.js";
import { STACK_CONTEXT, type CheckCommit } from "../../shared/github.js";
import { requireHop } from "../../shared/hmac.js";
import { HttpError } from "../../shared/http-error.js";
import { parseGithubRerun } from "../../shared/rerun.js";
import { stageTimer } from "../../shared/stage-timing.js";
import { decideBranch } from "../../shared/branch-rule.js";
import { buildRequestOf, enqueueBuild, stackStatus, type StackStatus } from "../../shared/enqueue-build.js";
import type { GithubPushDeps } from "./start-build.js";

/**
 * github-push for check_run / check_suite webhooks (issue #17): "Re-run" builds the commit again as its push did,
 * when its branch is the build branch and the commit is still that branch's tip. `check_suite.requested` comes with
 * every push, so it builds only a commit no build was accepted for.
 */
export function createRerunStarter(deps: GithubPushDeps): (event: FunctionEvent) => Promise<Reply> {
  return async (event) => {
    const began = deps.now();
    requireHop(deps.payloadSecret, "github-push", event);
    const rerun = parseGithubRerun(event.headers["x-github-event"] ?? "", event.body);
    const { repository: repo, installationId, sha, branch } = rerun;
    const delivery = event.headers["x-github-delivery"] ?? "";
    const what = `${rerun.event}.${rerun.action}`;
    const log = deps.log.child({ repo: repo.full_name, sha, delivery, event: what });
    const timer = stageTimer(log, deps.now);
    if (branch === null) return { status: 200, body: `${what}: ${short(sha)} is on no branch: nothing to build` };

    const ref = `refs/heads/${branch}`;
    // The push rule, not a second one: a re-run never builds what the push would not have. The push already posted
    // its "skipping build" status, so none is posted again.
    const decision = decideBranch(deps.buildBranch, repo.default_branch, ref, deps.enablePreviews);
    if (!decision.build) return { status: 200, body: `${what}: ${decision.message}` };

    const commit: CheckCommit = { installationId, owner: repo.owner.login, repo: repo.name, sha };
    const status = stackStatus(deps, commit, log, timer);
    if (rerun.action === "requested" && (await alreadyAccepted(deps, commit, log))) {
      return { status: 200, body: `${what}: ${short(sha)} was already built: not built again` };
    }
    const tip = await deps.github.branchTip(commit, branch);
    if (tip !== sha) return refuseStale(deps, { commit, branch, tip, what, status, log });

    const request = buildRequestOf(repo, { sha, ref, installationId, deliveryId: delivery }, decision);
    await enqueueBuild(deps, request, { log, timer, status });
    timer.start("github-push", began)();
    return { status: 202, body: `Re-run (${what}): ${repo.full_name}@${ref} ${short(sha)}, git-tar: 202` };
  };
}

const short = (sha: string) => sha.slice(0, 7);

/**
 * Whether a build of the commit was accepted already: its pending-build record (a build under way) or a
 * `stack-deploy` status (a build that ran). Unknown is a 503 rather than a guess: a wrong "no" builds a push twice.
 */
async function alreadyAccepted(deps: GithubPushDeps, commit: CheckCommit, log: Logger): Promise<boolean> {
  try {
    if (await deps.pending.get(commit)) return true;
    return (await deps.github.latestStatuses(commit)).has(STACK_CONTEXT);
  } catch (error) {
    log.warn({ err: error }, "could not tell whether the commit was built");
    throw new HttpError(503, `cannot tell whether ${short(commit.sha)} was already built: redeliver later`, {
      cause: error,
    });
  }
}

/**
 * A re-run of a commit its branch has moved past is refused: building it would deploy older code over the tip's.
 * The refusal is a completed `stack-deploy` check run, conclusion `neutral` (the code is not at fault, so it must not
 * read as a failure, and `cancelled` would say a build was stopped; `stale` is GitHub's own). No commit status: the
 * commit's `stack-deploy` status says how its own build went, and a refused re-run must not overwrite a success.
 * Only with use_checks off, where no check run can carry it, is the refusal an `error` status (statuses have no
 * neutral state; `error` says the build could not run, `failure` would blame the code).
 */
async function refuseStale(
  deps: GithubPushDeps,
  stale: {
    commit: CheckCommit;
    branch: string;
    tip: string | undefined;
    what: string;
    status: StackStatus;
    log: Logger;
  },
): Promise<Reply> {
  const { commit, branch, tip, log } = stale;
  const title =
    tip === undefined
      ? `Not re-run: branch ${branch} no longer exists`
      : `Not re-run: ${short(commit.sha)} is no longer the tip of ${branch} (now ${short(tip)})`;
  const summary =
    "Re-run builds only the commit at the tip of the build branch, so that older code is never deployed over newer. " +
    "Re-run the checks of the branch's latest commit, or push again.";
  if (!deps.useChecks) await stale.status("error", title);
  await completeNeutral(deps, commit, title, summary).catch((error: unknown) =>
    log.warn({ err: error }, "could not post the stale re-run's check run"),
  );
  log.info({ branch, tip }, "stale re-run refused");
  return { status: 200, body: `${stale.what}: ${title}` };
}

/** The one check-run call of a refused re-run, kept apart so it follows the check-run API as that grows. */
async function completeNeutral(deps: GithubPushDeps, commit: CheckCommit, title: string, summary: string) {
  if (!deps.useChecks) return;
  const id = await deps.github.createCheckRun(commit, { name: STACK_CONTEXT, status: "in_progress" });
  if (id === undefined) return;
  await deps.github.updateCheckRun(commit, id, {
    status: "completed",
    conclusion: "neutral",
    output: { title, summary },
    completedAt: new Date(deps.now()),
  });
}
