import type { Logger } from "pino";
import type { FunctionEvent, Reply } from "../../shared/function-handler.js";
import { buildResultUrl } from "../../shared/build-result.js";
import type { Gateway } from "../../shared/gateway.js";
import { STACK_CONTEXT, type CommitStatus, type Github } from "../../shared/github.js";
import { requireHop } from "../../shared/hmac.js";
import { HttpError } from "../../shared/http-error.js";
import type { PendingBuilds } from "../../shared/pending-builds.js";
import { statusLinks } from "../../shared/status-links.js";
import { isDeletion, parseGithubPush, type BuildRequest } from "../../shared/push.js";
import { stageTimer } from "../../shared/stage-timing.js";

export interface GithubPushDeps {
  payloadSecret: string;
  /** build_branch; when unset each repository's default branch is built (DESIGN §10). */
  buildBranch?: string;
  /** This function through the gateway: where the queue-worker reports how git-tar ended. */
  selfUrl: string;
  github: Github;
  gateway: Gateway;
  /** Where each accepted build is recorded until it ends, for build-reaper (issue #11). */
  pending: PendingBuilds;
  /** system_public_url: `stack-deploy` statuses link the owner's dashboard when set (issue #14). */
  systemPublicUrl?: string;
  log: Logger;
  now: () => number;
}

/** github-push (original-spec §3): decide whether a push builds, mark it pending and hand it to git-tar. */
export function createBuildStarter(deps: GithubPushDeps): (event: FunctionEvent) => Promise<Reply> {
  return async (event) => {
    const began = deps.now();
    requireHop(deps.payloadSecret, "github-push", event);
    const name = event.headers["x-github-event"] ?? "";
    if (name !== "push") throw new HttpError(400, `github-push cannot handle event: ${name}`);
    const push = parseGithubPush(event.body);
    const installationId = push.installation?.id;
    if (installationId === undefined) throw new HttpError(400, "push event: installation.id missing");
    const { repository: repo } = push;
    const delivery = event.headers["x-github-delivery"] ?? "";
    const log = deps.log.child({ repo: repo.full_name, ref: push.ref, sha: push.after, delivery });
    const timer = stageTimer(log, deps.now);
    const targetUrl = statusLinks({ systemPublicUrl: deps.systemPublicUrl }).stack(repo.owner.login);

    const status = (state: CommitStatus["state"], description: string) =>
      timer
        .time(
          "status-post",
          () =>
            deps.github.setStatus({
              installationId,
              owner: repo.owner.login,
              repo: repo.name,
              sha: push.after,
              state,
              context: STACK_CONTEXT,
              description,
              ...(targetUrl ? { targetUrl } : {}),
            }),
          { context: STACK_CONTEXT, state },
        )
        .catch((error: unknown) => log.warn({ err: error, state }, "could not post the commit status"));

    // A deleted branch or tag has no commit to build or to carry a status (original-spec §12 left these unguarded).
    if (isDeletion(push)) return { status: 200, body: `skipping build for: ${push.ref}: the ref was deleted` };

    const branch = deps.buildBranch ?? repo.default_branch;
    if (push.ref !== `refs/heads/${branch}`) {
      const message = `skipping build for: ${push.ref} branch, the build branch is: ${branch}`;
      await status("success", message);
      return { status: 200, body: message };
    }

    await status("pending", `${repo.owner.login}-${repo.name} stack deploy is in progress`.toLowerCase());
    const request: BuildRequest = {
      owner: repo.owner.login,
      ownerId: repo.owner.id,
      repo: repo.name,
      fullName: repo.full_name,
      repoUrl: repo.html_url,
      private: repo.private,
      sha: push.after,
      ref: push.ref,
      branch,
      installationId,
      deliveryId: delivery,
    };
    // Before the hand-off: however the queue loses the build from here on, build-reaper finds it (issue #11).
    const record = { owner: request.owner, repo: request.repo, sha: request.sha };
    await deps.pending
      .put({ ...record, ownerId: request.ownerId, installationId, acceptedAt: new Date(deps.now()).toISOString() })
      .catch((error: unknown) => log.warn({ err: error }, "could not record the pending build"));
    try {
      const enqueued = timer.start("github-push.enqueue");
      const { callId } = await deps.gateway.invokeAsync("git-tar", JSON.stringify(request), {
        "content-type": "application/json",
        "x-callback-url": buildResultUrl(deps.selfUrl, deps.payloadSecret, {
          owner: request.owner,
          repo: request.repo,
          sha: request.sha,
          installationId,
        }),
      });
      // The queue-worker's queue-wait line carries the same call id.
      enqueued(callId ? { callId } : {});
    } catch (error) {
      // Never drop a push silently: the commit must end in a terminal status.
      const reason = error instanceof HttpError ? error.message : "internal error";
      await status("failure", `unable to start the build: ${reason}`);
      await deps.pending
        .remove(record)
        .catch((err: unknown) => log.warn({ err }, "could not remove the pending-build record"));
      throw new HttpError(502, `unable to start the build: ${reason}`, { cause: error });
    }
    log.info("build queued");
    timer.start("github-push", began)();
    return { status: 202, body: `Push: ${repo.full_name}@${push.ref} [${repo.clone_url}], git-tar: 202` };
  };
}
