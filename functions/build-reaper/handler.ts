import { buildHistoryFromConfig, githubFromConfig, pendingBuildsFromConfig } from "../../shared/clients.js";
import { loadConfig } from "../../shared/config.js";
import { lazyHandler, respond, type FunctionHandler } from "../../shared/function-handler.js";
import { parseDuration, withPrecheck } from "../../shared/function-server.js";
import { CLOUD_SIGNATURE_HEADER, createHopVerifier } from "../../shared/hmac.js";
import { createLogger } from "../../shared/log.js";
import type { DestinationStream } from "pino";
import { createReaper, type BuildReaperDeps } from "./reap.js";

/**
 * build-reaper: ends builds nobody works on any more with `error` (issue #11), on cron-connector's schedule. Unsigned
 * calls are let through (cron-connector cannot sign); a call that carries a hop signature must carry a good one.
 */
export function createHandler(deps: BuildReaperDeps): FunctionHandler {
  const reap = createReaper(deps);
  return withPrecheck(
    (event, context) => respond(context, deps.log, () => reap(event)),
    ({ headers }) => {
      const header = headers[CLOUD_SIGNATURE_HEADER];
      if (header === undefined) return undefined;
      const { ready } = createHopVerifier("", "build-reaper", typeof header === "string" ? header : undefined);
      return ready ? undefined : { status: 401, message: "invalid or stale X-Cloud-Signature-256 for build-reaper" };
    },
  );
}

/**
 * The composition root: configuration and clients from the environment and secret files, built once.
 * @param logDestination where the log lines go: stdout (as in a deployment) unless the local runtime passes its own.
 */
export function depsFromEnv(
  env: Record<string, string | undefined>,
  logDestination?: DestinationStream,
): BuildReaperDeps {
  const config = loadConfig(env, {
    settings: ["github_app_id", "s3_url"],
    secrets: ["payload-secret", "private-key", "s3-access-key", "s3-secret-key"],
    // GitLab builds (issue #19): their statuses; empty where GitLab is not used.
    optionalSecrets: ["gitlab-api-token"],
  });
  const log = createLogger("build-reaper", config.log_level, logDestination);
  return {
    payloadSecret: config.secrets["payload-secret"],
    pending: pendingBuildsFromConfig(config, log),
    history: buildHistoryFromConfig(config, log),
    github: githubFromConfig(config, log),
    // Validated by loadConfig: both parse.
    deadlines: {
      pendingDeadlineMs: parseDuration(config.pending_deadline)!,
      heartbeatTimeoutMs: parseDuration(config.heartbeat_timeout)!,
    },
    ...(config.system_public_url ? { systemPublicUrl: config.system_public_url } : {}),
    useChecks: config.use_checks,
    log,
    now: Date.now,
  };
}

export default lazyHandler(() => createHandler(depsFromEnv(process.env)));
