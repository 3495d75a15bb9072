import axios, { type AxiosInstance, type AxiosResponse, type Method } from "axios";
import type { Logger } from "pino";
import { fitDescription, type Github, type StatusState } from "./github.js";
import { HttpError } from "./http-error.js";

/**
 * The GitLab side of the `Github` interface (issue #19, contract §4): commit statuses, branch tips and per-clone
 * deploy tokens through GitLab's REST API v4, `PRIVATE-TOKEN` on every call. Plain axios: six calls do not need a
 * client library. A project is addressed by its id, which the build request carries as `installationId`. GitLab has
 * no check runs and previews are GitHub-only, so those calls are no-ops.
 */
export interface GitlabDeps {
  /** The instance's base, e.g. https://gitlab.example.com (gitlab_url); the API is at `<url>/api/v4`. */
  url: string;
  /** The API token (gitlab-api-token): api scope, Maintainer on the opted-in projects. */
  token: string;
  log: Logger;
  http?: AxiosInstance;
  /** Whether statuses are posted (report_status); reads and deploy tokens happen either way. */
  reportStatus?: boolean;
  /** The clock a deploy token's expiry is set by (epoch ms). */
  now?: () => number;
  /** Attempts after a 5xx or an unreachable GitLab (default 2), and the backoff unit (ms × attempt², default 200). */
  retries?: number;
  backoffMs?: number;
}

/** GitLab's commit status states for ours: it has `failed` where GitHub has `failure` and `error`. */
const TO_GITLAB: Record<StatusState, string> = {
  pending: "pending",
  running: "running",
  success: "success",
  failure: "failed",
  error: "failed",
  canceled: "canceled",
};

/** Ours for GitLab's: running is still under way (pending); skipped ended without success (error). */
function fromGitlab(state: string): StatusState {
  if (state === "success") return "success";
  if (state === "failed") return "failure";
  if (state === "canceled") return "canceled";
  if (state === "skipped") return "error";
  return "pending";
}

/** A deploy token lives long enough for one clone (git-tar revokes it right after). */
const DEPLOY_TOKEN_TTL_MS = 60 * 60_000;
const PAGE = 100;

export function createGitlab(deps: GitlabDeps): Github {
  const http = deps.http ?? axios.create();
  const api = `${deps.url.replace(/\/+$/, "")}/api/v4`;
  const now = deps.now ?? Date.now;
  const retries = deps.retries ?? 2;
  const backoffMs = deps.backoffMs ?? 200;

  /** One API call; GitLab's answer whatever its status. 5xx and connection errors are retried, never 4xx. */
  async function call(method: Method, path: string, what: string, data?: unknown): Promise<AxiosResponse> {
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await http.request({
          method,
          url: `${api}${path}`,
          headers: {
            "PRIVATE-TOKEN": deps.token,
            ...(data !== undefined ? { "content-type": "application/json" } : {}),
          },
          ...(data !== undefined ? { data } : {}),
          timeout: 10_000,
          validateStatus: () => true,
        });
        // A 5xx is GitLab's passing fault (a restart, a busy Puma): worth another try; a 4xx is an answer.
        if (res.status < 500 || attempt >= retries) return res;
        deps.log.warn({ status: res.status, attempt }, `gitlab: ${what} answered ${res.status}, retrying`);
      } catch (error) {
        // No answer at all (refused, reset, timed out): also worth another try, then a 502.
        if (attempt >= retries) {
          throw new HttpError(502, `gitlab: ${what} unreachable: ${(error as Error).message}`, { cause: error });
        }
        deps.log.warn({ err: error, attempt }, `gitlab: ${what} unreachable, retrying`);
      }
      await new Promise((resolve) => setTimeout(resolve, backoffMs * (attempt + 1) ** 2));
    }
  }

  const messageOf = (res: AxiosResponse): string => {
    const body = res.data as { message?: unknown; error?: unknown } | string | undefined;
    const message = typeof body === "object" && body ? (body.message ?? body.error) : body;
    return (typeof message === "string" ? message : JSON.stringify(message ?? "")).slice(0, 300);
  };
  const refused = (what: string, res: AxiosResponse, status = 502) =>
    new HttpError(status, `gitlab: ${what} (${res.status}): ${messageOf(res)}`);
  const ok = (res: AxiosResponse) => res.status >= 200 && res.status < 300;
  const project = (id: number) => `/projects/${encodeURIComponent(String(id))}`;

  return {
    async setStatus(status) {
      if (deps.reportStatus === false) {
        deps.log.debug({ status }, "report_status is off: status not posted");
        return;
      }
      const state = TO_GITLAB[status.state];
      const what = `commit status ${status.context}=${state}`;
      const res = await call("POST", `${project(status.installationId)}/statuses/${status.sha}`, what, {
        state,
        name: status.context,
        description: fitDescription(status.description),
        ...(status.targetUrl ? { target_url: status.targetUrl } : {}),
      });
      if (ok(res)) return;
      // GitLab refuses the state the status already has ("Cannot transition status via :run from :running"): the
      // status shows what was asked for, so this is no failure.
      if (res.status === 400 && /cannot transition status/i.test(messageOf(res))) {
        deps.log.debug({ context: status.context, state }, "gitlab: status already in that state");
        return;
      }
      throw refused(`${what} refused`, res);
    },

    async latestStatuses(commit) {
      const what = `statuses of project ${commit.installationId}@${commit.sha.slice(0, 7)}`;
      const found: Array<{ id: number; name: string; status: string }> = [];
      // Ten pages of 100 is far more than a stack's functions_per_repo_limit contexts plus other pipelines'.
      for (let page = 1; page <= 10; page++) {
        const res = await call(
          "GET",
          `${project(commit.installationId)}/repository/commits/${commit.sha}/statuses?per_page=${PAGE}&page=${page}`,
          what,
        );
        if (res.status === 404) throw refused(`${what} not found`, res, 404);
        if (!ok(res) || !Array.isArray(res.data)) throw refused(`${what} unavailable`, res);
        found.push(...(res.data as typeof found));
        if (res.data.length < PAGE) break;
      }
      // GitLab lists one status per name and ref by default; the newest (highest id) of a name wins.
      const latest = new Map<string, StatusState>();
      for (const s of found.sort((a, b) => b.id - a.id))
        if (!latest.has(s.name)) latest.set(s.name, fromGitlab(s.status));
      return latest;
    },

    async branchTip(repo, branch) {
      const what = `branch ${branch} of project ${repo.installationId}`;
      const res = await call(
        "GET",
        `${project(repo.installationId)}/repository/branches/${encodeURIComponent(branch)}`,
        what,
      );
      if (res.status === 404) return undefined;
      const id = (res.data as { commit?: { id?: unknown } } | undefined)?.commit?.id;
      if (!ok(res) || typeof id !== "string") throw refused(`${what} unavailable`, res);
      return id;
    },

    async cloneCredentials(commit) {
      const id = commit.installationId;
      const what = `deploy token for project ${id}`;
      const res = await call("POST", `${project(id)}/deploy_tokens`, what, {
        name: `openfaas-cloud${commit.sha ? `-${commit.sha.slice(0, 7)}` : ""}`,
        scopes: ["read_repository"],
        expires_at: new Date(now() + DEPLOY_TOKEN_TTL_MS).toISOString(),
      });
      const token = res.data as { id?: unknown; username?: unknown; token?: unknown } | undefined;
      if (!ok(res) || typeof token?.username !== "string" || typeof token.token !== "string") {
        throw refused(`${what} refused`, res);
      }
      const tokenId = String(token.id);
      return {
        username: token.username,
        password: token.token,
        async revoke() {
          const gone = await call(
            "DELETE",
            `${project(id)}/deploy_tokens/${encodeURIComponent(tokenId)}`,
            `revoke ${what}`,
          );
          // 404: already gone (expired and cleaned up, or revoked by hand).
          if (!ok(gone) && gone.status !== 404) throw refused(`revoke ${what} refused`, gone);
        },
      };
    },

    // GitLab has no check runs: the statuses say it all.
    createCheckRun: () => Promise.resolve(undefined),
    updateCheckRun: () => Promise.resolve(),
    findCheckRun: () => Promise.resolve(undefined),
    // Previews (and so deployments) are GitHub-only for now.
    createDeployment: () => Promise.resolve(undefined),
    setDeploymentStatus: () => Promise.resolve(),
    listDeployments: () => Promise.resolve([]),
  };
}
