import type { Logger } from "pino";
import type { FunctionEvent, Reply } from "../../shared/function-handler.js";
import type { InstallationRepo } from "../../shared/github.js";
import { requireHop } from "../../shared/hmac.js";
import { previewKey } from "../../shared/naming.js";
import { closesOwnBranch, parsePullRequest } from "../../shared/pull-request.js";
import type { GithubPushDeps } from "./start-build.js";

/** Whose preview of which branch to remove (issue #17). */
export interface PreviewTarget extends InstallationRepo {
  ownerId: number;
  branch: string;
}

/** The GitHub environment a branch's preview deploys to (issue #17). */
export const previewEnvironment = (branch: string) => `preview/${branch}`;

/**
 * Removes a branch's preview (issue #17): garbage-collect deletes that owner's (by id) functions of that repository
 * labelled with the branch's preview key, and each deployment to `preview/<branch>` is marked `inactive`. A branch
 * that never had a preview finds nothing to remove. Answers what was done; a failure to tell GitHub is logged.
 */
export async function removePreview(deps: GithubPushDeps, target: PreviewTarget, log: Logger): Promise<string> {
  const request = {
    functions: [],
    repo: target.repo.toLowerCase(),
    owner: target.owner.toLowerCase(),
    ownerId: target.ownerId,
    preview: previewKey(target.branch),
  };
  const gc = await deps.gateway.invoke("garbage-collect", JSON.stringify(request), {
    "content-type": "application/json",
  });
  const report = gc.body.toString("utf8");
  if (gc.status >= 300) log.warn({ status: gc.status, body: report }, "preview garbage collection refused");
  const environment = previewEnvironment(target.branch);
  let retired = 0;
  try {
    for (const id of await deps.github.listDeployments(target, environment)) {
      await deps.github.setDeploymentStatus(target, id, { state: "inactive", description: "the preview was removed" });
      retired++;
    }
  } catch (error) {
    log.warn({ err: error, environment }, "could not mark the preview's deployments inactive");
  }
  log.info({ environment, retired, gc: gc.status }, "preview removed");
  return `preview ${environment} removed: garbage-collect ${gc.status}, ${retired} deployment(s) inactive`;
}

/** github-push for `pull_request` webhooks (issue #17): closing a pull request removes its head branch's preview. */
export function createPullRequestHandler(deps: GithubPushDeps): (event: FunctionEvent) => Promise<Reply> {
  return async (event) => {
    requireHop(deps.payloadSecret, "github-push", event);
    const pr = parsePullRequest(event.body);
    const { repository: repo } = pr;
    const what = `pull_request ${pr.action} #${pr.pull_request.number}`;
    if (!deps.enablePreviews) return { status: 200, body: `${what}: previews are off (enable_previews)` };
    if (!closesOwnBranch(pr)) return { status: 200, body: `${what}: no preview to remove` };
    if (pr.installation === undefined) return { status: 200, body: `${what}: installation.id missing` };
    const branch = pr.pull_request.head.ref;
    // The build branch has no preview: its functions are the main ones.
    if (branch === (deps.buildBranch ?? repo.default_branch))
      return { status: 200, body: `${what}: no preview to remove` };
    const log = deps.log.child({ repo: repo.full_name, branch, delivery: event.headers["x-github-delivery"] ?? "" });
    const target = {
      installationId: pr.installation.id,
      owner: repo.owner.login,
      ownerId: repo.owner.id,
      repo: repo.name,
      branch,
    };
    return { status: 200, body: `${what}: ${await removePreview(deps, target, log)}` };
  };
}
