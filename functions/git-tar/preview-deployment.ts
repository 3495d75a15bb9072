import type { Logger } from "pino";
import type { DeployResult } from "../../shared/deploy-spec.js";
import type { DeploymentStatus, Github } from "../../shared/github.js";
import { previewFunctionName, previewImageName, previewKey, functionName, imageName } from "../../shared/naming.js";
import type { BuildRequest } from "../../shared/push.js";

/** A preview build's GitHub deployment (issue #17); inert for a build of the build branch. */
export interface PreviewDeployment {
  /** Creates the deployment of the commit to `preview/<branch>` and marks it in_progress. */
  start(): Promise<void>;
  /** The functions' answers, whose URLs the success status links. */
  deployed(results: DeployResult[]): void;
  /** The terminal stack-deploy status ends the deployment with the same outcome (once). */
  onStackStatus(state: "success" | "failure" | "error" | "canceled", description: string): Promise<void>;
}

/** The deployed name of a function of this build: its preview's (shared/naming.ts) when the build is a preview. */
export function deployedName(request: BuildRequest, fn: string): string {
  return request.preview ? previewFunctionName(request.owner, fn, request.branch) : functionName(request.owner, fn);
}

/** The image a function of this build is built into: a preview's has its own tag. */
export function builtImage(request: BuildRequest, registry: string, fn: string): string {
  const { owner, repo, sha, branch } = request;
  return request.preview
    ? previewImageName(registry, owner, repo, fn, sha, branch)
    : imageName(registry, owner, repo, fn, sha);
}

/** The preview key a build's specs and garbage collection carry; undefined for the build branch. */
export function previewOf(request: BuildRequest): string | undefined {
  return request.preview ? previewKey(request.branch) : undefined;
}

/**
 * The deployment of a preview build, reported through GitHub's Deployments API so the pull request shows "View
 * deployment": environment `preview/<branch>`, the first function's URL as environment_url, every function's in
 * the description. Failures to tell GitHub are logged: the commit's statuses still say what happened.
 */
export function createPreviewDeployment(
  deps: { github: Github; log: Logger },
  request: BuildRequest,
  logUrl?: string,
): PreviewDeployment {
  const repo = {
    ...(request.scm ? { scm: request.scm } : {}),
    installationId: request.installationId,
    owner: request.owner,
    repo: request.repo,
  };
  const environment = `preview/${request.branch}`;
  let id: number | undefined;
  let ended = false;
  let urls: string[] = [];
  const post = async (status: DeploymentStatus) => {
    if (id === undefined) return;
    await deps.github
      .setDeploymentStatus(repo, id, { ...status, ...(logUrl ? { logUrl } : {}) })
      .catch((error: unknown) =>
        deps.log.warn({ err: error, state: status.state }, "could not post the deployment status"),
      );
  };
  return {
    async start() {
      if (!request.preview) return;
      const commit = { ...repo, sha: request.sha };
      id = await deps.github
        .createDeployment(commit, environment, `preview of ${request.branch} at ${request.sha.slice(0, 7)}`)
        .catch(
          (error: unknown) => (
            deps.log.warn({ err: error, environment }, "could not create the deployment"),
            undefined
          ),
        );
      await post({ state: "in_progress", description: "building the preview" });
    },
    deployed(results) {
      urls = results.flatMap((r) => (r.url ? [r.url] : []));
    },
    async onStackStatus(state, description) {
      if (ended || id === undefined) return;
      ended = true;
      // A deployment has no cancelled state: a superseded preview build is an error there, as its status on GitHub.
      if (state !== "success") return post({ state: state === "canceled" ? "error" : state, description });
      const [first] = urls;
      const listed = urls.length > 1 ? `deployed: ${urls.join(" ")}` : "preview deployed";
      await post({ state: "success", description: listed, ...(first ? { environmentUrl: first } : {}) });
    },
  };
}
