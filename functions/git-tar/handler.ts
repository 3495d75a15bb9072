import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { gatewayFromConfig, githubFromConfig } from "../../shared/clients.js";
import { loadConfig } from "../../shared/config.js";
import { lazyHandler, respond, type FunctionHandler } from "../../shared/function-handler.js";
import { createStackBuilder, type GitTarDeps } from "./build-stack.js";
import { createTemplateStore, parseTemplateUrls } from "./templates.js";

/** git-tar: clone at the SHA, read stack.yml, shrinkwrap, hand each function to buildshiprun (original-spec §4). */
export function createHandler(deps: GitTarDeps): FunctionHandler {
  const build = createStackBuilder(deps);
  return (event, context) => respond(context, deps.log, () => build(event));
}

/** The composition root: configuration and clients from the environment and secret files, built once. */
export function depsFromEnv(env: Record<string, string | undefined>): GitTarDeps {
  const config = loadConfig(env, {
    settings: ["github_app_id", "push_repository_url"],
    secrets: ["payload-secret", "private-key"],
  });
  const log = pino({ name: "git-tar", level: config.log_level });
  return {
    payloadSecret: config.secrets["payload-secret"],
    github: githubFromConfig(config, log),
    gateway: gatewayFromConfig(config, log),
    templates: createTemplateStore({ cacheDir: join(tmpdir(), "ofc-templates"), now: Date.now, log }),
    templateUrls: parseTemplateUrls(config.templates_url, config.custom_templates),
    pushRepositoryUrl: config.push_repository_url,
    functionsPerRepoLimit: config.functions_per_repo_limit,
    buildConcurrency: config.build_concurrency,
    enableDockerfileLang: config.enable_dockerfile_lang,
    maxRepoBytes: config.max_repo_size_mb * 1024 * 1024,
    workRoot: tmpdir(),
    log,
    now: Date.now,
  };
}

export default lazyHandler(() => createHandler(depsFromEnv(process.env)));
