import axios, { type AxiosInstance } from "axios";
import type { Logger } from "pino";
import type { Config } from "./config.js";
import { createBuildHistory, type BuildHistory } from "./build-history.js";
import { createDeliveries, type Deliveries } from "./deliveries.js";
import { createGateway, type Gateway } from "./gateway.js";
import { createGithub, type Github, type Scm } from "./github.js";
import type { GithubPatience } from "./github-octokit.js";
import { createGitlab } from "./gitlab.js";
import { HttpError } from "./http-error.js";
import { createJetStreamDeliveries } from "./jetstream-deliveries.js";
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
 * The SCM client for this configuration (issue #19): a router sending each call to the GitLab client when its commit
 * or repository says `scm: "gitlab"`, to the GitHub App client (github_app_id, private-key, github_api_url) otherwise.
 * GitLab is gitlab_url with the gitlab-api-token secret (optional: a function reads it when it posts GitLab statuses);
 * without them a GitLab call is an HttpError 503. report_status applies to both.
 * @param patience retry and wait bounds tighter than the defaults, for a stage with a short deadline.
 */
export function githubFromConfig(
  config: Config<"private-key", "github_app_id">,
  log: Logger,
  patience?: Partial<GithubPatience>,
): Github {
  const github = createGithub({
    appId: config.github_app_id,
    privateKey: config.secrets["private-key"],
    apiUrl: config.github_api_url,
    reportStatus: config.report_status,
    log,
    now: Date.now,
    ...(patience ? { patience } : {}),
  });
  const token = config.secrets["gitlab-api-token"];
  const gitlab =
    config.gitlab_url && token
      ? createGitlab({ url: config.gitlab_url, token, log, reportStatus: config.report_status })
      : `GitLab is not configured (${config.gitlab_url ? "gitlab-api-token" : "gitlab_url"})`;
  return scmRouter(github, gitlab);
}

/**
 * One `Github` over both SCMs: a call goes to `gitlab` when its commit or repository argument has `scm: "gitlab"`, to
 * `github` otherwise (absent = github, as in queued build requests). `gitlab` as a string: GitLab is not configured,
 * and a GitLab call throws HttpError 503 with that message.
 */
export function scmRouter(github: Github, gitlab: Github | string): Github {
  const to = (scm: Scm | undefined): Github => {
    if (scm !== "gitlab") return github;
    if (typeof gitlab === "string") throw new HttpError(503, gitlab);
    return gitlab;
  };
  return {
    createCheckRun: async (commit, run) => to(commit.scm).createCheckRun(commit, run),
    updateCheckRun: async (commit, id, update) => to(commit.scm).updateCheckRun(commit, id, update),
    findCheckRun: async (commit, name) => to(commit.scm).findCheckRun(commit, name),
    setStatus: async (status) => to(status.scm).setStatus(status),
    cloneCredentials: async (commit) => to(commit.scm).cloneCredentials(commit),
    latestStatuses: async (commit) => to(commit.scm).latestStatuses(commit),
    branchTip: async (repo, branch) => to(repo.scm).branchTip(repo, branch),
    createDeployment: async (commit, environment, description) =>
      to(commit.scm).createDeployment(commit, environment, description),
    setDeploymentStatus: async (repo, id, status) => to(repo.scm).setDeploymentStatus(repo, id, status),
    listDeployments: async (repo, environment) => to(repo.scm).listDeployments(repo, environment),
  };
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

/**
 * Where a front door (github-event, gitlab-event) keeps the delivery ids it has seen: NATS JetStream when nats_url is
 * set, so a restarted replica still refuses a redelivery (issue #10), with the NATS account from the nats-user and
 * nats-password secrets when that server asks for one; otherwise this replica's memory.
 * @param client the connection's name on the NATS server: which front door holds it.
 */
export function deliveriesFromConfig(config: Config, log: Logger, client: string): Deliveries {
  if (!config.nats_url) return createDeliveries({ now: Date.now });
  return createJetStreamDeliveries({
    url: config.nats_url,
    user: config.secrets["nats-user"],
    password: config.secrets["nats-password"],
    client,
    log,
  });
}
