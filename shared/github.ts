import type { Logger } from "pino";
import { createInstallationClients, DEFAULT_PATIENCE, type GithubPatience } from "./github-octokit.js";
import { HttpError } from "./http-error.js";

/** The states GitHub accepts for a commit status. */
export type StatusState = "pending" | "success" | "failure" | "error";

/** One commit status to post (original-spec §16.9: contexts `stack-deploy` and `<fn>`). */
export interface CommitStatus {
  installationId: number;
  owner: string;
  repo: string;
  sha: string;
  state: StatusState;
  context: string;
  description: string;
  targetUrl?: string;
}

/** A completed check run carrying a build log (original-spec §8 step 4, Checks API). */
export interface CheckRun {
  installationId: number;
  owner: string;
  repo: string;
  sha: string;
  name: string;
  conclusion: "success" | "failure";
  title: string;
  summary: string;
  log: string[];
  detailsUrl?: string;
}

export interface Github {
  /** Creates a completed check run with the log's tail as its text, unless report_status is off. */
  createCheckRun(run: CheckRun): Promise<void>;
  /** Posts a commit status, unless report_status is off. Throws HttpError 502 when GitHub refuses or is unreachable. */
  setStatus(status: CommitStatus): Promise<void>;
  /** An installation access token (for cloning private repos): the one the REST calls use, until near its expiry. */
  installationToken(installationId: number): Promise<string>;
  /**
   * The latest state of each status context on a commit (GitHub's combined status), empty when report_status is off.
   * Throws HttpError 404 when the installation, repository or commit is gone, 502 when GitHub fails otherwise.
   */
  latestStatuses(
    commit: Pick<CommitStatus, "installationId" | "owner" | "repo" | "sha">,
  ): Promise<Map<string, StatusState>>;
}

/** The stack-wide status context (original-spec §1.1). */
export const STACK_CONTEXT = "stack-deploy";
const MAX_DESCRIPTION = 140;
const MAX_CHECK_TEXT = 65535;

/**
 * A log as check-run text: a shell block holding the tail that fits GitHub's 65535 characters, with a note of what
 * was cut. The tail is kept because build errors come last.
 */
export function formatLogTail(log: string[], max = MAX_CHECK_TEXT): string {
  if (log.length === 0) return "";
  const frame = (body: string) => "\n```shell\n" + body + "\n```\n";
  const all = log.join("\n");
  if (frame(all).length <= max) return frame(all);
  const note = `Warning: log size (${all.length}) exceeded (${max}) characters and was truncated; the full log is linked.\n\n`;
  const room = max - frame("").length - note.length;
  return note + frame(all.slice(all.length - Math.max(room, 0)));
}

/** GitHub refuses descriptions over 140 characters; cut them instead of losing the status. */
export function fitDescription(text: string): string {
  const chars = Array.from(text);
  return chars.length <= MAX_DESCRIPTION ? text : `${chars.slice(0, MAX_DESCRIPTION - 1).join("")}…`;
}

/**
 * GitHub App client: JWT → installation token (auth-app), REST calls (octokit) against github_api_url, with retries,
 * rate-limit waits and one cached token per installation (github-octokit.ts). Build it once per process: the token
 * cache lives as long as the client.
 */
export function createGithub(deps: {
  appId: string;
  privateKey: string;
  apiUrl: string;
  reportStatus: boolean;
  log: Logger;
  /** The clock installation tokens' expiry is judged by (epoch ms). */
  now: () => number;
  /** Retry and wait bounds; DEFAULT_PATIENCE where not given. */
  patience?: Partial<GithubPatience>;
}): Github {
  const client = createInstallationClients({ ...deps, patience: { ...DEFAULT_PATIENCE, ...deps.patience } });

  return {
    async createCheckRun(run) {
      if (!deps.reportStatus) return;
      try {
        await client(run.installationId).rest.checks.create({
          owner: run.owner,
          repo: run.repo,
          name: run.name,
          head_sha: run.sha,
          status: "completed",
          conclusion: run.conclusion,
          ...(run.detailsUrl ? { details_url: run.detailsUrl } : {}),
          output: { title: run.title, summary: run.summary, text: formatLogTail(run.log) },
        });
      } catch (error) {
        const code = (error as { status?: number }).status;
        throw new HttpError(
          502,
          `github: check run ${run.name} refused${code ? ` (${code})` : ""}: ${(error as Error).message}`,
          { cause: error },
        );
      }
    },

    async setStatus(status) {
      if (!deps.reportStatus) {
        deps.log.debug({ status }, "report_status is off: status not posted");
        return;
      }
      try {
        await client(status.installationId).rest.repos.createCommitStatus({
          owner: status.owner,
          repo: status.repo,
          sha: status.sha,
          state: status.state,
          context: status.context,
          description: fitDescription(status.description),
          ...(status.targetUrl ? { target_url: status.targetUrl } : {}),
        });
      } catch (error) {
        const code = (error as { status?: number }).status;
        throw new HttpError(
          502,
          `github: commit status ${status.context}=${status.state} refused${code ? ` (${code})` : ""}: ${(error as Error).message}`,
          {
            cause: error,
          },
        );
      }
    },

    async latestStatuses(commit) {
      const latest = new Map<string, StatusState>();
      if (!deps.reportStatus) return latest;
      try {
        // Pages of 100 contexts; GitHub lists each context once, with its latest state. Ten pages is far more than
        // a stack's functions_per_repo_limit contexts plus other integrations'.
        for (let page = 1; page <= 10; page++) {
          const { data } = await client(commit.installationId).rest.repos.getCombinedStatusForRef({
            owner: commit.owner,
            repo: commit.repo,
            ref: commit.sha,
            per_page: 100,
            page,
          });
          for (const s of data.statuses) if (!latest.has(s.context)) latest.set(s.context, s.state as StatusState);
          if (data.statuses.length === 0 || latest.size >= data.total_count) break;
        }
        return latest;
      } catch (error) {
        const code = (error as { status?: number }).status;
        // 404: the installation, repository or commit is gone; 422: GitHub knows no such commit.
        const gone = code === 404 || code === 422;
        throw new HttpError(
          gone ? 404 : 502,
          `github: statuses of ${commit.owner}/${commit.repo}@${commit.sha.slice(0, 7)} ${gone ? "not found" : "unavailable"}${code ? ` (${code})` : ""}: ${(error as Error).message}`,
          { cause: error },
        );
      }
    },

    async installationToken(installationId) {
      const auth = (await client(installationId).auth({ type: "installation" })) as { token: string };
      return auth.token;
    },
  };
}
