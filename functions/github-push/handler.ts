import { gatewayFromConfig, githubFromConfig, pendingBuildsFromConfig } from "../../shared/clients.js";
import { loadConfig } from "../../shared/config.js";
import { lazyHandler, respond, type FunctionEvent, type FunctionHandler } from "../../shared/function-handler.js";
import { BUILD_RESULT_PATH } from "../../shared/build-result.js";
import { hopPrecheck, withPrecheck } from "../../shared/function-server.js";
import { createLogger } from "../../shared/log.js";
import type { DestinationStream } from "pino";
import { createBuildResultHandler } from "../../shared/build-result-handler.js";
import { createPullRequestHandler } from "./remove-preview.js";
import { createRerunStarter } from "./rerun.js";
import { createBuildStarter, type GithubPushDeps } from "./start-build.js";

const RERUN_EVENTS = new Set(["check_run", "check_suite"]);

/** github-push: from a push to a queued build (original-spec §3), and the queue's word on how that build ended. */
export function createHandler(deps: GithubPushDeps): FunctionHandler {
  const start = createBuildStarter(deps);
  const result = createBuildResultHandler(deps);
  const rerun = createRerunStarter(deps);
  // A closed pull request removes its branch's preview (issue #17).
  const closed = createPullRequestHandler(deps);
  // check_run and check_suite webhooks are re-runs (issue #17); every other event goes to the push path.
  const pick = (event: FunctionEvent) =>
    RERUN_EVENTS.has(event.headers["x-github-event"] ?? "")
      ? rerun(event)
      : event.headers["x-github-event"] === "pull_request"
        ? closed(event)
        : start(event);
  // The queue-worker's callback is signed in its URL, not with a hop header.
  return withPrecheck(
    (event, context) =>
      respond(context, deps.log, () => (event.path === BUILD_RESULT_PATH ? result(event) : pick(event))),
    hopPrecheck("github-push", { exceptPaths: [BUILD_RESULT_PATH] }),
  );
}

/**
 * The composition root: configuration and clients from the environment and secret files, built once.
 * @param logDestination where the log lines go: stdout (as in a deployment) unless the local runtime passes its own.
 */
export function depsFromEnv(
  env: Record<string, string | undefined>,
  logDestination?: DestinationStream,
): GithubPushDeps {
  const config = loadConfig(env, {
    settings: ["github_app_id", "s3_url"],
    secrets: ["payload-secret", "private-key", "s3-access-key", "s3-secret-key"],
    // The build-result callback of a GitLab build (issue #19) posts GitLab statuses; empty where GitLab is not used.
    optionalSecrets: ["gitlab-api-token"],
  });
  const log = createLogger("github-push", config.log_level, logDestination);
  return {
    payloadSecret: config.secrets["payload-secret"],
    buildBranch: config.build_branch,
    enablePreviews: config.enable_previews,
    useChecks: config.use_checks,
    selfUrl: `${config.gateway_url}function/github-push`,
    // github-push answers inside GitHub's 10 s webhook deadline (through github-event), and its pending status is
    // best effort: a short retry, and no waiting out a long rate limit (issue #16).
    github: githubFromConfig(config, log, { retries: 2, rateLimitRetries: 1, maxRateLimitWaitS: 3 }),
    gateway: gatewayFromConfig(config, log),
    pending: pendingBuildsFromConfig(config, log),
    ...(config.system_public_url ? { systemPublicUrl: config.system_public_url } : {}),
    log,
    now: Date.now,
  };
}

export default lazyHandler(() => createHandler(depsFromEnv(process.env)));
