import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  buildHistoryFromConfig,
  gatewayFromConfig,
  githubFromConfig,
  pendingBuildsFromConfig,
} from "../../shared/clients.js";
import { loadConfig } from "../../shared/config.js";
import { lazyHandler, respond, type FunctionHandler } from "../../shared/function-handler.js";
import { hopPrecheck, parseDuration, withPrecheck } from "../../shared/function-server.js";
import { createLogger } from "../../shared/log.js";
import type { DestinationStream } from "pino";
import { createStackBuilder, type GitTarDeps } from "./build-stack.js";
import { createCloneLimit } from "./clone-limit.js";
import { parseAllowedSources } from "./stack-templates.js";
import { createTemplateStore, parseTemplateUrls } from "./templates.js";

/** git-tar: clone at the SHA, read stack.yml, shrinkwrap, hand each function to buildshiprun (original-spec §4). */
export function createHandler(deps: GitTarDeps): FunctionHandler {
  const build = createStackBuilder(deps);
  return withPrecheck((event, context) => respond(context, deps.log, () => build(event)), hopPrecheck("git-tar"));
}

/**
 * The composition root: configuration and clients from the environment and secret files, built once.
 * @param logDestination where the log lines go: stdout (as in a deployment) unless the local runtime passes its own.
 */
export function depsFromEnv(env: Record<string, string | undefined>, logDestination?: DestinationStream): GitTarDeps {
  const config = loadConfig(env, {
    settings: ["github_app_id", "push_repository_url", "s3_url"],
    secrets: ["payload-secret", "private-key", "s3-access-key", "s3-secret-key"],
    // GitLab builds (issue #19): statuses and deploy tokens; empty where GitLab is not used.
    optionalSecrets: ["gitlab-api-token"],
  });
  const log = createLogger("git-tar", config.log_level, logDestination);
  const templateUrls = parseTemplateUrls(config.templates_url, config.custom_templates);
  return {
    payloadSecret: config.secrets["payload-secret"],
    github: githubFromConfig(config, log),
    gateway: gatewayFromConfig(config, log),
    templates: createTemplateStore({ cacheDir: join(tmpdir(), "ofc-templates"), now: Date.now, log }),
    templateUrls,
    templateSourcesAllowed: parseAllowedSources(config.template_sources_allowed, templateUrls),
    githubUrl: config.github_url,
    ...(config.gitlab_url ? { gitlabUrl: config.gitlab_url } : {}),
    pushRepositoryUrl: config.push_repository_url,
    functionsPerRepoLimit: config.functions_per_repo_limit,
    buildConcurrency: config.build_concurrency,
    enableDockerfileLang: config.enable_dockerfile_lang,
    maxRepoBytes: config.max_repo_size_mb * 1024 * 1024,
    cloneLimit: createCloneLimit(config.max_concurrent_clones),
    workRoot: tmpdir(),
    pending: pendingBuildsFromConfig(config, log),
    // Six beats per heartbeat_timeout (30 s at the default 3m): a few failed writes do not make a live build look lost.
    heartbeatMs: Math.min(30_000, parseDuration(config.heartbeat_timeout)! / 6),
    ...(config.system_public_url ? { systemPublicUrl: config.system_public_url } : {}),
    history: buildHistoryFromConfig(config, log),
    useChecks: config.use_checks,
    log,
    now: Date.now,
  };
}

export default lazyHandler(() => createHandler(depsFromEnv(process.env)));
