import { gatewayFromConfig } from "../../shared/clients.js";
import { loadConfig } from "../../shared/config.js";
import { lazyHandler, respond, type FunctionHandler } from "../../shared/function-handler.js";
import { hopPrecheck, withPrecheck } from "../../shared/function-server.js";
import { createLogger } from "../../shared/log.js";
import type { DestinationStream } from "pino";
import { createCollector, type GarbageCollectDeps } from "./collect.js";

/** garbage-collect: removes an owner's functions that left their stack (original-spec §9, DESIGN §5). */
export function createHandler(deps: GarbageCollectDeps): FunctionHandler {
  const collect = createCollector(deps);
  return withPrecheck(
    (event, context) => respond(context, deps.log, () => collect(event)),
    hopPrecheck("garbage-collect"),
  );
}

/**
 * The composition root: configuration and the gateway client from the environment and secret files, built once.
 * @param logDestination where the log lines go: stdout (as in a deployment) unless the local runtime passes its own.
 */
export function depsFromEnv(
  env: Record<string, string | undefined>,
  logDestination?: DestinationStream,
): GarbageCollectDeps {
  const config = loadConfig(env, { secrets: ["payload-secret", "basic-auth-user", "basic-auth-password"] });
  const log = createLogger("garbage-collect", config.log_level, logDestination);
  return {
    payloadSecret: config.secrets["payload-secret"],
    gateway: gatewayFromConfig(config, log),
    log,
  };
}

export default lazyHandler(() => createHandler(depsFromEnv(process.env)));
