import axios from "axios";
import { deliveriesFromConfig, gatewayFromConfig } from "../../shared/clients.js";
import { loadConfig } from "../../shared/config.js";
import { createCustomers } from "../../shared/customers.js";
import { lazyHandler, respond, type FunctionHandler } from "../../shared/function-handler.js";
import { createLogger } from "../../shared/log.js";
import type { DestinationStream } from "pino";
import { withPrecheck } from "../../shared/function-server.js";
import { createGitlabApi } from "./gitlab-api.js";
import { tokenPrecheck } from "./gitlab-token.js";
import { createEventRouter, type GitlabEventDeps } from "./route-event.js";

/** gitlab-event: the GitLab front door (issue #19), as github-event is GitHub's. */
export function createHandler(deps: GitlabEventDeps): FunctionHandler {
  const route = createEventRouter(deps);
  return withPrecheck(
    (event, context) => respond(context, deps.log, () => route(event)),
    tokenPrecheck(deps.webhookSecret),
  );
}

/**
 * The composition root: configuration and clients from the environment and secret files, built once. Without
 * gitlab_url or the gitlab-webhook-secret it still starts, and answers every hook 503 (GitLab not set up).
 * @param logDestination where the log lines go: stdout (as in a deployment) unless the local runtime passes its own.
 */
export function depsFromEnv(
  env: Record<string, string | undefined>,
  logDestination?: DestinationStream,
): GitlabEventDeps {
  const config = loadConfig(env, {
    secrets: ["payload-secret"],
    // Empty gitlab-* files are how an installation without GitLab creates them (contract §5).
    optionalSecrets: ["gitlab-webhook-secret", "gitlab-api-token", "customers", "nats-user", "nats-password"],
  });
  const log = createLogger("gitlab-event", config.log_level, logDestination);
  const http = axios.create();
  const token = config.secrets["gitlab-api-token"];
  return {
    webhookSecret: config.secrets["gitlab-webhook-secret"] ?? "",
    ...(config.gitlab_url && token ? { api: createGitlabApi({ url: config.gitlab_url, token, http }) } : {}),
    installationTag: config.installation_tag,
    customers: config.validate_customers
      ? createCustomers({ list: config.secrets.customers, url: config.customers_url, http, now: Date.now })
      : undefined,
    gateway: gatewayFromConfig(config, log, http),
    deliveries: deliveriesFromConfig(config, log, "gitlab-event"),
    log,
    now: Date.now,
  };
}

export default lazyHandler(() => createHandler(depsFromEnv(process.env)));
