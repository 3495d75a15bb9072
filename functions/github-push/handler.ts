import axios from "axios";
import { pino } from "pino";
import { loadConfig } from "../../shared/config.js";
import { lazyHandler, respond, type FunctionHandler } from "../../shared/function-handler.js";
import { createGateway } from "../../shared/gateway.js";
import { createGithub } from "../../shared/github.js";
import { createBuildStarter, type GithubPushDeps } from "./start-build.js";

/** github-push: from a push to a queued build (original-spec §3). */
export function createHandler(deps: GithubPushDeps): FunctionHandler {
  const start = createBuildStarter(deps);
  return (event, context) => respond(context, deps.log, () => start(event));
}

/** The composition root: configuration and clients from the environment and secret files, built once. */
export function depsFromEnv(env: Record<string, string | undefined>): GithubPushDeps {
  const config = loadConfig(env, { settings: ["github_app_id"], secrets: ["payload-secret", "private-key"] });
  const log = pino({ name: "github-push" });
  return {
    payloadSecret: config.secrets["payload-secret"],
    buildBranch: config.build_branch,
    github: createGithub({
      appId: config.github_app_id,
      privateKey: config.secrets["private-key"],
      apiUrl: config.github_api_url,
      reportStatus: config.report_status,
      log,
    }),
    gateway: createGateway({
      url: config.gateway_url,
      payloadSecret: config.secrets["payload-secret"],
      http: axios.create(),
      log,
    }),
    log,
  };
}

export default lazyHandler(() => createHandler(depsFromEnv(process.env)));
