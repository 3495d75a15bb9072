import { logStoreFromConfig } from "../../shared/clients.js";
import { loadConfig } from "../../shared/config.js";
import { lazyHandler, respond, type FunctionHandler } from "../../shared/function-handler.js";
import { hopPrecheck, withPrecheck } from "../../shared/function-server.js";
import { createLogger } from "../../shared/log.js";
import type { DestinationStream } from "pino";
import { createLogService, type PipelineLogDeps } from "./serve-log.js";

/** pipeline-log: stores and serves build logs (original-spec §7). */
export function createHandler(deps: PipelineLogDeps): FunctionHandler {
  const service = createLogService(deps);
  // POSTs are hops from buildshiprun; GETs are signed links, checked by the handler.
  return withPrecheck(
    (event, context) => respond(context, deps.log, () => service(event)),
    hopPrecheck("pipeline-log"),
  );
}

/**
 * The composition root: configuration and the S3 client from the environment and secret files, built once.
 * @param logDestination where the log lines go: stdout (as in a deployment) unless the local runtime passes its own.
 */
export function depsFromEnv(
  env: Record<string, string | undefined>,
  logDestination?: DestinationStream,
): PipelineLogDeps {
  const config = loadConfig(env, {
    settings: ["s3_url"],
    secrets: ["s3-access-key", "s3-secret-key", "payload-secret"],
  });
  const log = createLogger("pipeline-log", config.log_level, logDestination);
  return {
    payloadSecret: config.secrets["payload-secret"],
    store: logStoreFromConfig(config, log),
    log,
  };
}

export default lazyHandler(() => createHandler(depsFromEnv(process.env)));
