import { gatewayFromConfig, pendingBuildsFromConfig } from "../../shared/clients.js";
import { loadConfig } from "../../shared/config.js";
import { lazyHandler, respond, type FunctionHandler } from "../../shared/function-handler.js";
import { BUILD_RESULT_PATH } from "../../shared/build-result.js";
import { createBuildResultHandler } from "../../shared/build-result-handler.js";
import { hopPrecheck, withPrecheck } from "../../shared/function-server.js";
import { createGitlab } from "../../shared/gitlab.js";
import { createLogger } from "../../shared/log.js";
import { HttpError } from "../../shared/http-error.js";
import type { DestinationStream, Logger } from "pino";
import { createBuildStarter, type GitlabPushDeps } from "./start-build.js";

/** gitlab-push where gitlab_url or the gitlab-api-token secret is not set: it starts, and answers every call 503. */
export interface UnconfiguredGitlabPush {
  unconfigured: string;
  log: Logger;
}

/** gitlab-push: from a GitLab push to a queued build (contract §7), and the queue's word on how that build ended. */
export function createHandler(deps: GitlabPushDeps | UnconfiguredGitlabPush): FunctionHandler {
  // The queue-worker's callback is signed in its URL, not with a hop header. Every other call is refused unsigned
  // before its body is read, configured or not.
  const precheck = hopPrecheck("gitlab-push", { exceptPaths: [BUILD_RESULT_PATH] });
  if ("unconfigured" in deps) {
    const refusal = new HttpError(503, deps.unconfigured);
    return withPrecheck((_event, context) => respond(context, deps.log, () => Promise.reject(refusal)), precheck);
  }
  const start = createBuildStarter(deps);
  // The commits this function queues are GitLab's: the callback's error status goes there.
  const result = createBuildResultHandler({ ...deps, scm: "gitlab" });
  return withPrecheck(
    (event, context) =>
      respond(context, deps.log, () => (event.path === BUILD_RESULT_PATH ? result(event) : start(event))),
    precheck,
  );
}

/**
 * The composition root: configuration and clients from the environment and secret files, built once.
 * @param logDestination where the log lines go: stdout (as in a deployment) unless the local runtime passes its own.
 */
export function depsFromEnv(
  env: Record<string, string | undefined>,
  logDestination?: DestinationStream,
): GitlabPushDeps | UnconfiguredGitlabPush {
  const config = loadConfig(env, {
    settings: ["s3_url"],
    secrets: ["payload-secret", "s3-access-key", "s3-secret-key"],
    // Empty where GitLab is not used (contract §5): the function still starts, as gitlab-event does.
    optionalSecrets: ["gitlab-api-token"],
  });
  const log = createLogger("gitlab-push", config.log_level, logDestination);
  const token = config.secrets["gitlab-api-token"];
  if (!config.gitlab_url || !token) {
    return { unconfigured: "GitLab is not configured: set gitlab_url and the gitlab-api-token secret", log };
  }
  return {
    payloadSecret: config.secrets["payload-secret"],
    buildBranch: config.build_branch,
    // Check runs are GitHub's (contract §4): GitLab commits carry statuses only.
    useChecks: false,
    stage: "gitlab-push",
    selfUrl: `${config.gateway_url}function/gitlab-push`,
    // Every commit here is a GitLab project's, so the GitLab client itself rather than clients.ts's router: no GitHub
    // App key is needed.
    github: createGitlab({
      url: config.gitlab_url,
      token,
      log,
      reportStatus: config.report_status,
      now: Date.now,
    }),
    gateway: gatewayFromConfig(config, log),
    pending: pendingBuildsFromConfig(config, log),
    ...(config.system_public_url ? { systemPublicUrl: config.system_public_url } : {}),
    log,
    now: Date.now,
  };
}

export default lazyHandler(() => createHandler(depsFromEnv(process.env)));
