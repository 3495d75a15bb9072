import type { Logger } from "pino";
import { decideBranch } from "../../shared/branch-rule.js";
import { enqueueBuild, stackStatus, type EnqueueDeps } from "../../shared/enqueue-build.js";
import type { FunctionEvent, Reply } from "../../shared/function-handler.js";
import { isGitlabDeletion, parseGitlabPush, type GitlabPush } from "../../shared/gitlab-push.js";
import { requireHop } from "../../shared/hmac.js";
import { gitlabOwner, gitlabOwnerId } from "../../shared/naming.js";
import type { BuildRequest } from "../../shared/push.js";
import { stageTimer } from "../../shared/stage-timing.js";

export interface GitlabPushDeps extends EnqueueDeps {
  /** build_branch; when unset each project's default branch is built (DESIGN §10). */
  buildBranch?: string;
  log: Logger;
}

/**
 * The build request for a GitLab push (contract §3): the same shape as GitHub's, so git-tar and buildshiprun do not
 * care where it came from. The owner is the namespace's owner key, owned by its id; the project id is what GitLab's
 * API addresses, so it travels as the installation id.
 */
export function gitlabBuildRequest(push: GitlabPush, branch: string): BuildRequest {
  const { project } = push;
  return {
    scm: "gitlab",
    owner: gitlabOwner(project.namespace.fullPath),
    ownerId: gitlabOwnerId(project.namespace.id),
    repo: project.path,
    fullName: project.pathWithNamespace,
    repoUrl: project.webUrl,
    private: project.visibility !== "public",
    sha: push.after,
    ref: push.ref,
    branch,
    installationId: project.id,
    deliveryId: push.deliveryId,
  };
}

/** gitlab-push (contract §7): decide whether a push builds, mark it pending and hand it to git-tar, as github-push. */
export function createBuildStarter(deps: GitlabPushDeps): (event: FunctionEvent) => Promise<Reply> {
  return async (event) => {
    const began = deps.now();
    requireHop(deps.payloadSecret, "gitlab-push", event);
    const push = parseGitlabPush(event.body);
    const { project } = push;
    const log = deps.log.child({
      repo: project.pathWithNamespace,
      ref: push.ref,
      sha: push.after,
      delivery: push.deliveryId,
    });
    const timer = stageTimer(log, deps.now);
    const owner = gitlabOwner(project.namespace.fullPath);
    const commit = { scm: "gitlab" as const, installationId: project.id, owner, repo: project.path, sha: push.after };
    const status = stackStatus(deps, commit, log, timer);

    // A deleted branch or tag has no commit to build or to carry a status.
    if (isGitlabDeletion(push)) return { status: 200, body: `skipping build for: ${push.ref}: the ref was deleted` };

    // Previews are GitHub-only for now (contract §3): other branches are skipped with the rule's reason.
    const decision = decideBranch(deps.buildBranch, project.defaultBranch, push.ref, false);
    if (!decision.build) {
      await status("success", decision.message);
      return { status: 200, body: decision.message };
    }

    await enqueueBuild(deps, gitlabBuildRequest(push, decision.branch), { log, timer, status });
    timer.start("gitlab-push", began)();
    return { status: 202, body: `Push: ${project.pathWithNamespace}@${push.ref} [${project.webUrl}], git-tar: 202` };
  };
}
