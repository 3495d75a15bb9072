import { pino } from "pino";
import { gatewayFromConfig, githubFromConfig } from "../../shared/clients.js";
import { loadConfig } from "../../shared/config.js";
import { lazyHandler, respond, type FunctionHandler } from "../../shared/function-handler.js";
import { createBuildStarter, type GithubPushDeps } from "./start-build.js";

/** github-push: from a push to a queued build (original-spec §3). */
export function createHandler(deps: GithubPushDeps): FunctionHandler {
  const start = createBuildStarter(deps);
  return (event, context) => respond(context, deps.log, () => start(event));
}

/** The composition root: configuration and clients from the environment and secret files, built once. */
export function depsFromEnv(env: Record<string, string | undefined>): GithubPushDeps {
  const config = loadConfig(env, { settings: ["github_app_id"], secrets: ["payload-secret", "private-key"] });
  const log = pino({ name: "github-push", level: config.log_level });
  return {
    payloadSecret: config.secrets["payload-secret"],
    buildBranch: config.build_branch,
    github: githubFromConfig(config, log),
    gateway: gatewayFromConfig(config, log),
    log,
  };
}

export default lazyHandler(() => createHandler(depsFromEnv(process.env)));
