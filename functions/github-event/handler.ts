import axios from "axios";
import { deliveriesFromConfig, gatewayFromConfig } from "../../shared/clients.js";
import { loadConfig } from "../../shared/config.js";
import { createCustomers } from "../../shared/customers.js";
import { lazyHandler, respond, type FunctionHandler } from "../../shared/function-handler.js";
import { createLogger } from "../../shared/log.js";
import type { DestinationStream } from "pino";
import { createEventRouter, type GithubEventDeps } from "./route-event.js";

/** github-event: the webhook front door (original-spec §2). */
export function createHandler(deps: GithubEventDeps): FunctionHandler {
  const route = createEventRouter(deps);
  return (event, context) => respond(context, deps.log, () => route(event));
}

/**
 * The composition root: configuration and clients from the environment and secret files, built once.
 * @param logDestination where the log lines go: stdout (as in a deployment) unless the local runtime passes its own.
 */
export function depsFromEnv(
  env: Record<string, string | undefined>,
  logDestination?: DestinationStream,
): GithubEventDeps {
  const config = loadConfig(env, {
    secrets: ["github-webhook-secret", "payload-secret"],
    // nats-user/nats-password: only when the NATS at nats_url asks for credentials.
    optionalSecrets: ["customers", "nats-user", "nats-password"],
  });
  const log = createLogger("github-event", config.log_level, logDestination);
  const http = axios.create();
  return {
    webhookSecret: config.secrets["github-webhook-secret"],
    validateHmac: config.validate_hmac,
    customers: config.validate_customers
      ? createCustomers({ list: config.secrets.customers, url: config.customers_url, http, now: Date.now })
      : undefined,
    gateway: gatewayFromConfig(config, log, http),
    deliveries: deliveriesFromConfig(config, log, "github-event"),
    log,
    now: Date.now,
  };
}

export default lazyHandler(() => createHandler(depsFromEnv(process.env)));
