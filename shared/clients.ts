import axios, { type AxiosInstance } from "axios";
import type { Logger } from "pino";
import type { Config } from "./config.js";
import { createBuildHistory, type BuildHistory } from "./build-history.js";
import { createGateway, type Gateway } from "./gateway.js";
import { createGithub, type Github } from "./github.js";
import type { GithubPatience } from "./github-octokit.js";
import { createLogStore, type LogStore } from "./log-store.js";
import { createPendingBuilds, type PendingBuilds } from "./pending-builds.js";
import type { S3BucketDeps } from "./s3-bucket.js";

/**
 * The clients every composition root builds from its configuration, written once. The gateway client signs with
 * the payload secret, and carries basic auth when the function was given the gateway's credentials.
 */
export function gatewayFromConfig(
  config: Config<"payload-secret">,
  log: Logger,
  http: AxiosInstance = axios.create(),
): Gateway {
  const user = config.secrets["basic-auth-user"];
  const password = config.secrets["basic-auth-password"];
  return createGateway({
    url: config.gateway_url,
    payloadSecret: config.secrets["payload-secret"],
    ...(user && password ? { auth: { user, password } } : {}),
    http,
    log,
  });
}

/**
 * The GitHub App client for this configuration (github_app_id, private-key, github_api_url, report_status).
 * @param patience retry and wait bounds tighter than the defaults, for a stage with a short deadline.
 */
export function githubFromConfig(
  config: Config<"private-key", "github_app_id">,
  log: Logger,
  patience?: Partial<GithubPatience>,
): Github {
  return createGithub({
    appId: config.github_app_id,
    privateKey: config.secrets["private-key"],
    apiUrl: config.github_api_url,
    reportStatus: config.report_status,
    log,
    now: Date.now,
    ...(patience ? { patience } : {}),
  });
}

/** The S3 bucket of this configuration (s3_url, s3_tls, s3_region, s3_bucket and the S3 key secrets). */
export function s3From(config: Config<"s3-access-key" | "s3-secret-key", "s3_url">, log: Logger): S3BucketDeps {
  return {
    endpoint: config.s3_url,
    useSSL: config.s3_tls,
    region: config.s3_region,
    bucket: config.s3_bucket,
    accessKey: config.secrets["s3-access-key"],
    secretKey: config.secrets["s3-secret-key"],
    log,
  };
}

/** The build-log store for this configuration's bucket. */
export function logStoreFromConfig(config: Config<"s3-access-key" | "s3-secret-key", "s3_url">, log: Logger): LogStore {
  return createLogStore(s3From(config, log));
}

/** The pending-build records (issue #11), in the same bucket as the build logs. */
export function pendingBuildsFromConfig(
  config: Config<"s3-access-key" | "s3-secret-key", "s3_url">,
  log: Logger,
): PendingBuilds {
  return createPendingBuilds(s3From(config, log));
}

/** The build records the dashboard lists (issue #14), in the same bucket as the build logs. */
export function buildHistoryFromConfig(
  config: Config<"s3-access-key" | "s3-secret-key", "s3_url">,
  log: Logger,
): BuildHistory {
  return createBuildHistory(s3From(config, log));
}
