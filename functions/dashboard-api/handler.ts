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
import type { DestinationStream } from "pino";
import { buildHistoryFromConfig, logStoreFromConfig } from "../../shared/clients.js";
import { createBuildList, createBuildLog, type BuildsDeps } from "./builds.js";
import { createListFunctions, type ListFunctionsDeps } from "./list.js";
import { createFunctionLogs } from "./logs.js";
import { createSystemMetrics } from "./metrics.js";
import { createPages } from "./pages.js";

/**
 * What the three APIs need together: list-functions' dependencies hold the other two's (Prometheus optional); the
 * pages add the GitHub App's public page for their empty state (github_app_url).
 */
export type DashboardApiDeps = ListFunctionsDeps & { appUrl?: string } & BuildStoreDeps;

/** builds and build-log (issue #14): the build records and logs in S3; without s3_url those two answer 503. */
type BuildStoreDeps = Partial<Pick<BuildsDeps, "history" | "logs">>;

/**
 * dashboard-api: the dashboard's APIs (issue #13, upstream's list-functions, function-logs and system-metrics; issue
 * #14's builds and build-log) in one function, so they take one of OpenFaaS CE's 15 function slots, not three (issue #11). The path after
 * /function/dashboard-api picks the API; each checks the session itself (shared/dashboard-api.ts).
 */
export function createHandler(deps: DashboardApiDeps): FunctionHandler {
  const { prometheus, history, logs } = deps;
  const store = history && logs ? { viewer: deps.viewer, history, logs } : undefined;
  /** An API that cannot run here: the caller is still checked first, so the 503 tells only a viewer. */
  const unavailable = (message: string) => async (event: FunctionEvent) => {
    await viewableOwner(event, deps.viewer);
    throw new HttpError(503, message);
  };
  const apis: Record<string, (event: FunctionEvent) => Promise<Reply>> = {
    "/list-functions": createListFunctions(deps),
    "/function-logs": createFunctionLogs(deps),
    // Without prometheus_url there is nothing to ask; the caller is still checked first, so a 503 tells only a viewer.
    "/system-metrics": prometheus
      ? createSystemMetrics({ ...deps, prometheus })
      : unavailable("system-metrics needs prometheus_url (docs/configuration.md)"),
    // issue #14: the build history and the live build log, from the build logs' bucket.
    "/builds": store ? createBuildList(store) : unavailable("builds needs s3_url (docs/configuration.md)"),
    "/build-log": store ? createBuildLog(store) : unavailable("build-log needs s3_url (docs/configuration.md)"),
  };
  // The pages (issue #14) read through the same APIs, in process: one function slot serves both (issue #11).
  const api = (path: string, event: FunctionEvent) => {
    const found = Object.hasOwn(apis, path) ? apis[path] : undefined;
    if (!found) throw new HttpError(404, `no such dashboard API: ${path}`);
    return found(event);
  };
  const pages = createPages({ ...deps, api });
  return (event, context) =>
    respond(context, deps.log, () => {
      if (event.path === "/dashboard" || event.path.startsWith("/dashboard/")) return pages(event);
      // A trailing "/" is the same API: the edge router forwards `system.<domain>/list-functions/` as it came.
      const path = event.path.replace(/\/+$/, "");
      const api = Object.hasOwn(apis, path) ? apis[path] : undefined;
      if (!api)
        throw new HttpError(
          404,
          "no such dashboard API: use /list-functions, /function-logs, /system-metrics, /builds or /build-log",
        );
      return api(event);
    });
}

/**
 * The composition root: the gateway's account, edge-auth's public key and Prometheus when set, read once.
 * @param logDestination where the log lines go: stdout (as in a deployment) unless the local runtime passes its own.
 */
export function depsFromEnv(
  env: Record<string, string | undefined>,
  logDestination?: DestinationStream,
): DashboardApiDeps {
  const config = loadConfig(env, {
    secrets: ["basic-auth-user", "basic-auth-password", "jwt-public-key"],
    optionalSecrets: ["s3-access-key", "s3-secret-key"],
  });
  const log = createLogger("dashboard-api", config.log_level, logDestination);
  const prometheus = prometheusFromConfig(config);
  const s3Key = config.secrets["s3-access-key"];
  const s3Secret = config.secrets["s3-secret-key"];
  // The build history and logs when the bucket is configured (it is wherever buildshiprun runs).
  const s3 =
    config.s3_url && s3Key && s3Secret
      ? {
          ...config,
          s3_url: config.s3_url,
          secrets: { ...config.secrets, "s3-access-key": s3Key, "s3-secret-key": s3Secret },
        }
      : undefined;
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
    ...(s3 ? { history: buildHistoryFromConfig(s3, log), logs: logStoreFromConfig(s3, log) } : {}),
    viewer: viewerFromConfig(config),
    publicUrl: config.gateway_public_url ?? config.gateway_url,
    ...(config.gateway_pretty_url ? { prettyUrl: config.gateway_pretty_url } : {}),
    ...(config.github_app_url ? { appUrl: config.github_app_url } : {}),
    log,
  };
}

export default lazyHandler(() => createHandler(depsFromEnv(process.env)));
