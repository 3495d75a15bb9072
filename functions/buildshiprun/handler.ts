import axios from "axios";
import {
  buildHistoryFromConfig,
  gatewayFromConfig,
  githubFromConfig,
  logStoreFromConfig,
} from "../../shared/clients.js";
import { loadConfig } from "../../shared/config.js";
import { lazyHandler, respond, type FunctionHandler } from "../../shared/function-handler.js";
import { hopPrecheck, withPrecheck } from "../../shared/function-server.js";
import { createLogger } from "../../shared/log.js";
import type { DestinationStream } from "pino";
import { createBuilderClient } from "./builder-client.js";
import { createEditionResolver } from "./edition.js";
import { createImageVisibility } from "./image-visibility.js";
import { createShipper, type BuildshiprunDeps } from "./ship.js";

/** buildshiprun: build, store the log, deploy, report (original-spec §5). */
export function createHandler(deps: BuildshiprunDeps): FunctionHandler {
  const ship = createShipper(deps);
  // Only internal hops call it: an unsigned caller is refused before its (up to 100 MB) tar is buffered.
  return withPrecheck((event, context) => respond(context, deps.log, () => ship(event)), hopPrecheck("buildshiprun"));
}

/**
 * The composition root: configuration and clients from the environment and secret files, built once.
 * @param logDestination where the log lines go: stdout (as in a deployment) unless the local runtime passes its own.
 */
export function depsFromEnv(
  env: Record<string, string | undefined>,
  logDestination?: DestinationStream,
): BuildshiprunDeps {
  const config = loadConfig(env, {
    settings: ["github_app_id", "repository_url", "push_repository_url", "gateway_public_url", "s3_url"],
    secrets: [
      "payload-secret",
      "private-key",
      "basic-auth-user",
      "basic-auth-password",
      "s3-access-key",
      "s3-secret-key",
    ],
    // GitLab builds (issue #19): their functions' statuses; empty where GitLab is not used.
    optionalSecrets: ["gitlab-api-token"],
  });
  const log = createLogger("buildshiprun", config.log_level, logDestination);
  const http = axios.create();
  const payloadSecret = config.secrets["payload-secret"];
  const gateway = gatewayFromConfig(config, log, http);
  return {
    payloadSecret,
    builder: createBuilderClient({ url: config.builder_url, payloadSecret, http }),
    logs: logStoreFromConfig(config, log),
    history: buildHistoryFromConfig(config, log),
    gateway,
    github: githubFromConfig(config, log),
    useChecks: config.use_checks,
    policy: {
      repositoryUrl: config.repository_url,
      pushRepositoryUrl: config.push_repository_url,
      scalingMin: config.scaling_min_limit,
      scalingMax: config.scaling_max_limit,
      scalingFactor: config.scaling_factor,
      memoryLimitMb: config.function_memory_limit_mb,
      cpuLimitMilli: config.function_cpu_limit_milli,
      cpuRequestsMilli: config.function_cpu_requests_milli,
      readonlyRootFilesystem: config.readonly_root_filesystem,
    },
    edition: createEditionResolver({ setting: config.openfaas_edition, gateway, log }),
    imageVisibility: createImageVisibility({ http: axios.create() }),
    publicUrl: config.gateway_public_url,
    prettyUrl: config.gateway_pretty_url,
    ...(config.system_public_url ? { systemPublicUrl: config.system_public_url } : {}),
    readyTimeoutMs: 60_000,
    maxPreviewsPerOwner: config.max_previews_per_owner,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    log,
    now: () => new Date(),
  };
}

export default lazyHandler(() => createHandler(depsFromEnv(process.env)));
