import type { Logger } from "pino";
import type { FunctionEvent, Reply } from "../../shared/function-handler.js";
import { requireHop } from "../../shared/hmac.js";
import { HttpError } from "../../shared/http-error.js";
import { isDeletion, parseGithubPush } from "../../shared/push.js";
import { stageTimer } from "../../shared/stage-timing.js";
import { decideBranch } from "../../shared/branch-rule.js";
import { removePreview } from "./remove-preview.js";
import { buildRequestOf, enqueueBuild, stackStatus, type EnqueueDeps } from "../../shared/enqueue-build.js";

export interface GithubPushDeps extends EnqueueDeps {
  /** build_branch; when unset each repository's default branch is built (DESIGN §10). */
  buildBranch?: string;
  /** enable_previews (issue #17): other branches build as previews, and a deleted branch's preview is removed. */
  enablePreviews?: boolean;
  log: Logger;
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
    const commit = { installationId, owner: repo.owner.login, repo: repo.name, sha: push.after };
    const status = stackStatus(deps, commit, log, timer);

    // A deleted branch or tag has no commit to build or to carry a status (original-spec §12 left these unguarded).
    if (isDeletion(push)) {
      // A deleted branch's preview goes with it (issue #17); the build branch and tags have none.
      const branch = push.ref.replace(/^refs\/heads\//, "");
      const previewed = decideBranch(deps.buildBranch, repo.default_branch, push.ref, deps.enablePreviews);
      if (previewed.build && previewed.preview) {
        const target = { installationId, owner: repo.owner.login, ownerId: repo.owner.id, repo: repo.name, branch };
        return { status: 200, body: await removePreview(deps, target, log) };
      }
      return { status: 200, body: `skipping build for: ${push.ref}: the ref was deleted` };
    }

    const decision = decideBranch(deps.buildBranch, repo.default_branch, push.ref, deps.enablePreviews);
    if (!decision.build) {
      await status("success", decision.message);
      return { status: 200, body: decision.message };
    }

    const request = buildRequestOf(
      repo,
      { sha: push.after, ref: push.ref, installationId, deliveryId: delivery },
      decision,
    );
    await enqueueBuild(deps, request, { log, timer, status });
    timer.start("github-push", began)();
    return { status: 202, body: `Push: ${repo.full_name}@${push.ref} [${repo.clone_url}], git-tar: 202` };
  };
}
