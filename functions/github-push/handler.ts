import { gatewayFromConfig, githubFromConfig, pendingBuildsFromConfig } from "../../shared/clients.js";
import { loadConfig } from "../../shared/config.js";
import { lazyHandler, respond, type FunctionHandler } from "../../shared/function-handler.js";
import { BUILD_RESULT_PATH } from "../../shared/build-result.js";
import { hopPrecheck, withPrecheck } from "../../shared/function-server.js";
import { createLogger } from "../../shared/log.js";
import type { DestinationStream } from "pino";
import { createBuildResultHandler } from "./build-result.js";
import { createBuildStarter, type GithubPushDeps } from "./start-build.js";

/** github-push: from a push to a queued build (original-spec §3), and the queue's word on how that build ended. */
export function createHandler(deps: GithubPushDeps): FunctionHandler {
  const start = createBuildStarter(deps);
  const result = createBuildResultHandler(deps);
  // The queue-worker's callback is signed in its URL, not with a hop header.
  return withPrecheck(
    (event, context) =>
      respond(context, deps.log, () => (event.path === BUILD_RESULT_PATH ? result(event) : start(event))),
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
  });
  const log = createLogger("github-push", config.log_level, logDestination);
  return {
    payloadSecret: config.secrets["payload-secret"],
    buildBranch: config.build_branch,
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
