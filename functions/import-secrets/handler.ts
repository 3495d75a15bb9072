import { gatewayFromConfig, s3From } from "../../shared/clients.js";
import { loadConfig } from "../../shared/config.js";
import { lazyHandler, respond, type FunctionHandler } from "../../shared/function-handler.js";
import { hopPrecheck, withPrecheck } from "../../shared/function-server.js";
import { createLogger } from "../../shared/log.js";
import type { DestinationStream } from "pino";
import { parseSealingKeys } from "../../shared/sealed-secrets/sealing-keys.js";
import { createImporter, type ImportSecretsDeps } from "./import.js";
import { createSecretRecords } from "./records.js";

/** import-secrets: a repo's sealed secrets, opened for its owner and written through the gateway (issue #15). */
export function createHandler(deps: ImportSecretsDeps): FunctionHandler {
  const run = createImporter(deps);
  return withPrecheck((event, context) => respond(context, deps.log, () => run(event)), hopPrecheck("import-secrets"));
}

/**
 * The composition root: the sealing keys, the gateway client and the record bucket, built once.
 * @param logDestination where the log lines go: stdout (as in a deployment) unless the local runtime passes its own.
 */
export function depsFromEnv(
  env: Record<string, string | undefined>,
  logDestination?: DestinationStream,
): ImportSecretsDeps {
  const config = loadConfig(env, {
    settings: ["s3_url"],
    secrets: [
      "payload-secret",
      "basic-auth-user",
      "basic-auth-password",
      "s3-access-key",
      "s3-secret-key",
      "sealed-secrets-keys",
    ],
  });
  const log = createLogger("import-secrets", config.log_level, logDestination);
  const keys = parseSealingKeys(config.secrets["sealed-secrets-keys"]);
  return {
    payloadSecret: config.secrets["payload-secret"],
    privateKeys: keys.privateKeys,
    certificatePem: keys.certificatePem,
    gateway: gatewayFromConfig(config, log),
    records: createSecretRecords(s3From(config, log)),
    log,
  };
}

export default lazyHandler(() => createHandler(depsFromEnv(process.env)));
