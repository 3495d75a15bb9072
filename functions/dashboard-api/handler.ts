import axios from "axios";
import { viewableOwner } from "../../shared/dashboard-api.js";
import { loadConfig } from "../../shared/config.js";
import { prometheusFromConfig, viewerFromConfig } from "../../shared/dashboard-clients.js";
import {
  lazyHandler,
  respond,
  type FunctionEvent,
  type FunctionHandler,
  type Reply,
} from "../../shared/function-handler.js";
import { createGateway } from "../../shared/gateway.js";
import { HttpError } from "../../shared/http-error.js";
import { createLogger } from "../../shared/log.js";
import { createListFunctions, type ListFunctionsDeps } from "./list.js";
import { createFunctionLogs } from "./logs.js";
import { createSystemMetrics } from "./metrics.js";

/** What the three APIs need together: list-functions' dependencies hold the other two's (Prometheus optional). */
export type DashboardApiDeps = ListFunctionsDeps;

/**
 * dashboard-api: the dashboard's three APIs (issue #13, upstream's list-functions, function-logs and system-metrics)
 * in one function, so they take one of OpenFaaS CE's 15 function slots, not three (issue #11). The path after
 * /function/dashboard-api picks the API; each checks the session itself (shared/dashboard-api.ts).
 */
export function createHandler(deps: DashboardApiDeps): FunctionHandler {
  const { prometheus } = deps;
  const apis: Record<string, (event: FunctionEvent) => Promise<Reply>> = {
    "/list-functions": createListFunctions(deps),
    "/function-logs": createFunctionLogs(deps),
    // Without prometheus_url there is nothing to ask; the caller is still checked first, so a 503 tells only a viewer.
    "/system-metrics": prometheus
      ? createSystemMetrics({ ...deps, prometheus })
      : async (event) => {
          await viewableOwner(event, deps.viewer);
          throw new HttpError(503, "system-metrics needs prometheus_url (docs/configuration.md)");
        },
  };
  return (event, context) =>
    respond(context, deps.log, () => {
      // A trailing "/" is the same API: the edge router forwards `system.<domain>/list-functions/` as it came.
      const path = event.path.replace(/\/+$/, "");
      const api = Object.hasOwn(apis, path) ? apis[path] : undefined;
      if (!api)
        throw new HttpError(404, "no such dashboard API: use /list-functions, /function-logs or /system-metrics");
      return api(event);
    });
}

/** The composition root: the gateway's account, edge-auth's public key and Prometheus when set, read once. */
export function depsFromEnv(env: Record<string, string | undefined>): DashboardApiDeps {
  const config = loadConfig(env, { secrets: ["basic-auth-user", "basic-auth-password", "jwt-public-key"] });
  const log = createLogger("dashboard-api", config.log_level);
  const prometheus = prometheusFromConfig(config);
  return {
    gateway: createGateway({
      url: config.gateway_url,
      // Only /system/* is called, never a function: nothing is signed, so the payload secret is not given.
      payloadSecret: "",
      auth: { user: config.secrets["basic-auth-user"], password: config.secrets["basic-auth-password"] },
      http: axios.create(),
      log,
    }),
    ...(prometheus ? { prometheus } : {}),
    viewer: viewerFromConfig(config),
    publicUrl: config.gateway_public_url ?? config.gateway_url,
    ...(config.gateway_pretty_url ? { prettyUrl: config.gateway_pretty_url } : {}),
    log,
  };
}

export default lazyHandler(() => createHandler(depsFromEnv(process.env)));
