import type { Logger } from "pino";
import { buildResultUrl } from "./build-result.js";
import { STACK_CONTEXT, type CommitStatus, type Github } from "./github.js";
import { HttpError } from "./http-error.js";
import type { BuildRequest, GithubRepository } from "./push.js";
import type { StageTimer } from "./stage-timing.js";
import { statusLinks } from "./status-links.js";
import { closeOpenRuns } from "./check-runs.js";
import type { Gateway } from "./gateway.js";
import type { PendingBuilds } from "./pending-builds.js";

/** What accepting a build needs: github-push's and gitlab-push's deps both fit (issue #19). */
export interface EnqueueDeps {
  payloadSecret: string;
  /** The push function through the gateway: where the queue-worker reports how git-tar ended. */
  selfUrl: string;
  github: Github;
  gateway: Gateway;
  /** Where each accepted build is recorded until it ends, for build-reaper (issue #11). */
  pending: PendingBuilds;
  /** system_public_url: `stack-deploy` statuses link the owner's dashboard when set (issue #14). */
  systemPublicUrl?: string;
  /** use_checks: a queued `stack-deploy` check run for each accepted build (issue #17); off when absent. */
  useChecks?: boolean;
  /** The accepting function's name, for its stage timing (`<stage>.enqueue`); github-push when absent. */
  stage?: string;
  now: () => number;
}

/**
 * The build request for one commit of `repo` (shared/push.ts's contract), as a push and a re-run both make it from
 * the branch rule's decision.
 */
export function buildRequestOf(
  repo: GithubRepository,
  commit: { sha: string; ref: string; installationId: number; deliveryId: string },
  decision: { branch: string; preview?: true },
): BuildRequest {
  return {
    owner: repo.owner.login,
    ownerId: repo.owner.id,
    repo: repo.name,
    fullName: repo.full_name,
    repoUrl: repo.html_url,
    private: repo.private,
    sha: commit.sha,
    ref: commit.ref,
    branch: decision.branch,
    ...(decision.preview ? { preview: true } : {}),
    installationId: commit.installationId,
    deliveryId: commit.deliveryId,
  };
}

/** Posts the commit's `stack-deploy` status; best effort: a refusal is logged, never thrown. */
export type StackStatus = (state: CommitStatus["state"], description: string) => Promise<void>;

/** The commit a status goes on. */
export type StatusTarget = Pick<CommitStatus, "scm" | "installationId" | "owner" | "repo" | "sha">;

/** The `stack-deploy` status poster of one commit, linking the owner's dashboard when there is one (issue #14). */
export function stackStatus(deps: EnqueueDeps, commit: StatusTarget, log: Logger, timer: StageTimer): StackStatus {
  const targetUrl = statusLinks({ systemPublicUrl: deps.systemPublicUrl }).stack(commit.owner);
  return (state, description) =>
    timer
      .time(
        "status-post",
        () =>
          deps.github.setStatus({
            ...commit,
            state,
            context: STACK_CONTEXT,
            description,
            ...(targetUrl ? { targetUrl } : {}),
          }),
        { context: STACK_CONTEXT, state },
      )
      .catch((error: unknown) => log.warn({ err: error, state }, "could not post the commit status"));
}

/**
 * Accepts one build, for a push and for a re-run alike (issue #17): the pending status, the pending-build record
 * and git-tar queued with the signed callback URL. Throws HttpError 502 when the queue refuses, after a failure status.
 */
export async function enqueueBuild(
  deps: EnqueueDeps,
  request: BuildRequest,
  run: { log: Logger; timer: StageTimer; status: StackStatus },
): Promise<void> {
  const { log, timer, status } = run;
  const { installationId } = request;
  await status("pending", `${request.owner}-${request.repo} stack deploy is in progress`.toLowerCase());
  // The `stack-deploy` check run, queued; git-tar takes it over by id, or by name when this create failed (issue #17).
  const checkRunId = await createStackCheck(deps, request, log);
  if (checkRunId !== undefined) request.checkRunId = checkRunId;
  // Before the hand-off: however the queue loses the build from here on, build-reaper finds it (issue #11).
  const record = { owner: request.owner, repo: request.repo, sha: request.sha };
  await deps.pending
    .put({
      ...record,
      ...(request.scm ? { scm: request.scm } : {}),
      ownerId: request.ownerId,
      installationId,
      acceptedAt: new Date(deps.now()).toISOString(),
    })
    .catch((error: unknown) => log.warn({ err: error }, "could not record the pending build"));
  try {
    const enqueued = timer.start(`${deps.stage ?? "github-push"}.enqueue`);
    const { callId } = await deps.gateway.invokeAsync("git-tar", JSON.stringify(request), {
      "content-type": "application/json",
      "x-callback-url": buildResultUrl(deps.selfUrl, deps.payloadSecret, { ...record, installationId }),
    });
    // The queue-worker's queue-wait line carries the same call id.
    enqueued(callId ? { callId } : {});
  } catch (error) {
    // Never drop a push silently: the commit must end in a terminal status.
    const reason = error instanceof HttpError ? error.message : "internal error";
    await status("failure", `unable to start the build: ${reason}`);
    const checks = { github: deps.github, enabled: deps.useChecks ?? false, log };
    const output = { title: "unable to start the build", summary: `unable to start the build: ${reason}` };
    await closeOpenRuns(checks, request, [STACK_CONTEXT], "failure", output, new Date(deps.now()));
    await deps.pending
      .remove(record)
      .catch((err: unknown) => log.warn({ err }, "could not remove the pending-build record"));
    throw new HttpError(502, `unable to start the build: ${reason}`, { cause: error });
  }
  log.info("build queued");
}

/** Creates the queued `stack-deploy` check run when use_checks is on; a failure is logged (statuses stay the contract). */
async function createStackCheck(deps: EnqueueDeps, request: BuildRequest, log: Logger): Promise<number | undefined> {
  if (!deps.useChecks) return undefined;
  try {
    return await deps.github.createCheckRun(request, { name: STACK_CONTEXT, status: "queued" });
  } catch (error) {
    log.warn({ err: error }, "could not create the stack-deploy check run");
    return undefined;
  }
}
