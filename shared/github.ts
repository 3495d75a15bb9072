import type { Logger } from "pino";
import { createInstallationClients, DEFAULT_PATIENCE, type GithubPatience } from "./github-octokit.js";
import { HttpError } from "./http-error.js";

/**
 * A commit status's state: GitHub's four, and `running` (issue #19), which GitLab shows between pending and the end;
 * GitHub has no such state (the check run shows in_progress), so the GitHub client posts nothing for it.
 */
/**
 * The states the pipeline posts (GitHub's four, and GitLab's `running` and `canceled`, issue #19). GitHub's client
 * posts nothing for `running` (the check run shows it) and `error` for `canceled` (a build superseded by a newer push).
 */
export type StatusState = "pending" | "running" | "success" | "failure" | "error" | "canceled";

/** Where a repository lives (issue #19); absent: github. The router in shared/clients.ts sends each call there. */
export type Scm = "github" | "gitlab";

/** One commit status to post (original-spec §16.9: contexts `stack-deploy` and `<fn>`). */
export interface CommitStatus {
  /** absent: github. */
  scm?: Scm;
  /** The GitHub App installation; on GitLab the project id. */
  installationId: number;
  owner: string;
  repo: string;
  sha: string;
  state: StatusState;
  context: string;
  description: string;
  targetUrl?: string;
}

/** The commit a check run belongs to. */
export type CheckCommit = Pick<CommitStatus, "scm" | "installationId" | "owner" | "repo" | "sha">;

/**
 * The commit a build request, deploy spec or pending record is about, with its SCM only when it has one (absent:
 * github, as on requests queued before issue #19), so every status and check-run call goes to the right host.
 */
export function commitOf(from: {
  scm?: Scm | undefined;
  installationId: number;
  owner: string;
  repo: string;
  sha: string;
}): CheckCommit {
  const { scm, installationId, owner, repo, sha } = from;
  return { ...(scm ? { scm } : {}), installationId, owner, repo, sha };
}

/** Basic-auth credentials for one clone (`git clone https://<username>:<password>@…`). */
export interface CloneCredentials {
  username: string;
  password: string;
  /** Ends the credentials once the clone is done (GitLab's deploy token); errors are the caller's to log. */
  revoke?: () => Promise<void>;
}

/** A check run's conclusions an App may send (`stale` is GitHub's own). */
export type CheckConclusion =
  "success" | "failure" | "neutral" | "cancelled" | "skipped" | "timed_out" | "action_required";

/** One annotation on a file and line of the commit (GitHub's annotations object). */
export interface CheckAnnotation {
  path: string;
  start_line: number;
  end_line: number;
  /** Only when start_line = end_line (GitHub's rule). */
  start_column?: number;
  end_column?: number;
  annotation_level: "notice" | "warning" | "failure";
  message: string;
  title?: string;
}

/** What one update of a check run changes; `output` needs its title and summary, as on GitHub. */
export interface CheckRunUpdate {
  status?: "queued" | "in_progress" | "completed";
  /** Sending one completes the run. */
  conclusion?: CheckConclusion;
  output?: { title: string; summary: string; text?: string; annotations?: CheckAnnotation[] };
  detailsUrl?: string;
  startedAt?: Date;
  completedAt?: Date;
}

/** A check run found on a commit. */
export interface FoundCheckRun {
  id: number;
  status: "queued" | "in_progress" | "completed";
  conclusion: string | null;
}

export interface Github extends GithubDeployments {
  /**
   * Creates a check run (queued or in_progress) and returns its id; undefined when report_status is off. Throws
   * HttpError 502 when GitHub refuses or is unreachable, as every check-run call does.
   */
  createCheckRun(
    commit: CheckCommit,
    run: { name: string; status: "queued" | "in_progress"; detailsUrl?: string; startedAt?: Date },
  ): Promise<number | undefined>;
  /** Updates a check run by id; annotations over GitHub's 50 per request go in further PATCHes. */
  updateCheckRun(commit: CheckCommit, id: number, update: CheckRunUpdate): Promise<void>;
  /** The latest check run of that name on the commit (any App's), or undefined; undefined when report_status is off. */
  findCheckRun(commit: CheckCommit, name: string): Promise<FoundCheckRun | undefined>;
  /** Posts a commit status, unless report_status is off. Throws HttpError 502 when GitHub refuses or is unreachable. */
  setStatus(status: CommitStatus): Promise<void>;
  /**
   * Credentials that clone the repository (issue #19): on GitHub `x-access-token` and the installation token (the one
   * the REST calls use, until near its expiry); on GitLab a deploy token that reads only that project, for an hour,
   * named after the commit when `sha` is given. Throws HttpError 502 when refused.
   */
  cloneCredentials(
    commit: Pick<CheckCommit, "scm" | "installationId" | "owner" | "repo"> & { sha?: string },
  ): Promise<CloneCredentials>;
  /**
   * The latest state of each status context on a commit (GitHub's combined status), empty when report_status is off.
   * Throws HttpError 404 when the installation, repository or commit is gone, 502 when GitHub fails otherwise.
   */
  latestStatuses(commit: CheckCommit): Promise<Map<string, StatusState>>;
  /**
   * The SHA at the tip of `branch` (a re-run of an older commit is refused, issue #17); undefined when GitHub has no
   * such branch (404). Throws HttpError 502 when GitHub fails otherwise.
   */
  branchTip(repo: InstallationRepo, branch: string): Promise<string | undefined>;
}

/** A repository of an installation: where deployments live (issue #17). */
export interface InstallationRepo {
  /** absent: github. */
  scm?: Scm;
  installationId: number;
  owner: string;
  repo: string;
}

/** One deployment status (issue #17, GitHub's Deployments API); `inactive` retires a removed preview. */
export interface DeploymentStatus {
  state: "in_progress" | "success" | "failure" | "error" | "inactive";
  description?: string;
  /** Where the deployment answers: the pull request's "View deployment" button. */
  environmentUrl?: string;
  logUrl?: string;
}

/** The Deployments API calls previews make (issue #17); each a no-op (undefined, empty) when report_status is off. */
export interface GithubDeployments {
  /** Creates a transient deployment of the commit to `environment`; its id. Throws HttpError 502 when refused. */
  createDeployment(commit: CheckCommit, environment: string, description: string): Promise<number | undefined>;
  /** Posts a status of deployment `id`. Throws HttpError 502 when refused. */
  setDeploymentStatus(repo: InstallationRepo, id: number, status: DeploymentStatus): Promise<void>;
  /** The ids of the repository's deployments to `environment` (the first 100, newest first). */
  listDeployments(repo: InstallationRepo, environment: string): Promise<number[]>;
}

/** The GitHub App client: the Github calls, and the installation token itself (tests, the local runtime). */
export interface GithubApp extends Github {
  /** An installation access token: the one the REST calls use, until near its expiry. */
  installationToken(installationId: number): Promise<string>;
}

/** The stack-wide status context (original-spec §1.1). */
export const STACK_CONTEXT = "stack-deploy";
const MAX_DESCRIPTION = 140;
const MAX_CHECK_TEXT = 65535;
/** GitHub's cap on annotations in one create or update request. */
export const MAX_ANNOTATIONS_PER_REQUEST = 50;

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
}): GithubApp {
  const client = createInstallationClients({ ...deps, patience: { ...DEFAULT_PATIENCE, ...deps.patience } });
  const installationToken = async (installationId: number): Promise<string> => {
    const auth = (await client(installationId).auth({ type: "installation" })) as { token: string };
    return auth.token;
  };

  return {
    async createCheckRun(commit, run) {
      if (!deps.reportStatus) return undefined;
      const { data } = await checkCall(`check run ${run.name} refused`, () =>
        client(commit.installationId).rest.checks.create({
          owner: commit.owner,
          repo: commit.repo,
          name: run.name,
          head_sha: commit.sha,
          status: run.status,
          ...(run.detailsUrl ? { details_url: run.detailsUrl } : {}),
          ...(run.startedAt ? { started_at: run.startedAt.toISOString() } : {}),
        }),
      );
      return data.id;
    },

    async updateCheckRun(commit, id, update) {
      if (!deps.reportStatus) return;
      const { output, ...rest } = update;
      const batches = chunk(output?.annotations ?? [], MAX_ANNOTATIONS_PER_REQUEST);
      const patch = (body: Record<string, unknown>) =>
        checkCall(`check run ${id} update refused`, () =>
          client(commit.installationId).rest.checks.update({
            owner: commit.owner,
            repo: commit.repo,
            check_run_id: id,
            ...body,
          }),
        );
      // GitHub takes 50 annotations per request and appends each request's to the run's: all but the last batch go
      // first, so the run completes with every annotation already on it.
      for (const batch of batches.slice(0, -1)) {
        await patch({ output: { title: output!.title, summary: output!.summary, annotations: batch } });
      }
      const last = batches.at(-1);
      await patch({
        ...(rest.status ? { status: rest.status } : {}),
        ...(rest.conclusion ? { conclusion: rest.conclusion } : {}),
        ...(rest.detailsUrl ? { details_url: rest.detailsUrl } : {}),
        ...(rest.startedAt ? { started_at: rest.startedAt.toISOString() } : {}),
        ...(rest.completedAt ? { completed_at: rest.completedAt.toISOString() } : {}),
        ...(output
          ? {
              output: {
                title: output.title,
                summary: output.summary,
                ...(output.text !== undefined ? { text: output.text } : {}),
                ...(last ? { annotations: last } : {}),
              },
            }
          : {}),
      });
    },

    async findCheckRun(commit, name) {
      if (!deps.reportStatus) return undefined;
      const { data } = await checkCall(`check runs ${name} unavailable`, () =>
        client(commit.installationId).rest.checks.listForRef({
          owner: commit.owner,
          repo: commit.repo,
          ref: commit.sha,
          check_name: name,
          filter: "latest",
        }),
      );
      const run = data.check_runs[0];
      return run
        ? { id: run.id, status: run.status as FoundCheckRun["status"], conclusion: run.conclusion }
        : undefined;
    },

    async setStatus(status) {
      if (!deps.reportStatus) {
        deps.log.debug({ status }, "report_status is off: status not posted");
        return;
      }
      // GitHub has no running state: the check run's in_progress says it (issue #19).
      if (status.state === "running") return;
      try {
        await client(status.installationId).rest.repos.createCommitStatus({
          owner: status.owner,
          repo: status.repo,
          sha: status.sha,
          state: status.state === "canceled" ? "error" : status.state,
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

    async branchTip({ installationId, owner, repo }, branch) {
      try {
        const { data } = await client(installationId).rest.repos.getBranch({ owner, repo, branch });
        return data.commit.sha;
      } catch (error) {
        const code = (error as { status?: number }).status;
        if (code === 404) return undefined;
        throw new HttpError(
          502,
          `github: branch ${branch} of ${owner}/${repo} unavailable${code ? ` (${code})` : ""}: ${(error as Error).message}`,
          { cause: error },
        );
      }
    },

    ...createDeployments(deps.reportStatus, client),

    installationToken,

    async cloneCredentials(commit) {
      return { username: "x-access-token", password: await installationToken(commit.installationId) };
    },
  };
}

/** The Deployments API calls (issue #17) over the installation clients. */
function createDeployments(
  reportStatus: boolean,
  client: ReturnType<typeof createInstallationClients>,
): GithubDeployments {
  return {
    async createDeployment(commit, environment, description) {
      if (!reportStatus) return undefined;
      const { data } = await checkCall(`deployment to ${environment} refused`, () =>
        client(commit.installationId).rest.repos.createDeployment({
          owner: commit.owner,
          repo: commit.repo,
          ref: commit.sha,
          environment,
          description: fitDescription(description),
          // A preview deploys exactly this commit: no merge of the default branch, no wait for other checks.
          auto_merge: false,
          required_contexts: [],
          transient_environment: true,
          production_environment: false,
        }),
      );
      if (!("id" in data))
        throw new HttpError(502, `github: deployment to ${environment} not created: ${data.message}`);
      return data.id;
    },

    async setDeploymentStatus(repo, id, status) {
      if (!reportStatus) return;
      await checkCall(`deployment ${id} status ${status.state} refused`, () =>
        client(repo.installationId).rest.repos.createDeploymentStatus({
          owner: repo.owner,
          repo: repo.repo,
          deployment_id: id,
          state: status.state,
          ...(status.description ? { description: fitDescription(status.description) } : {}),
          ...(status.environmentUrl ? { environment_url: status.environmentUrl } : {}),
          ...(status.logUrl ? { log_url: status.logUrl } : {}),
          // A newer success retires the environment's older deployments, as the pull request shows only the latest.
          ...(status.state === "success" ? { auto_inactive: true } : {}),
        }),
      );
    },

    async listDeployments(repo, environment) {
      if (!reportStatus) return [];
      const { data } = await checkCall(`deployments to ${environment} unavailable`, () =>
        client(repo.installationId).rest.repos.listDeployments({
          owner: repo.owner,
          repo: repo.repo,
          environment,
          per_page: 100,
        }),
      );
      return data.map((d) => d.id);
    },
  };
}

/** Runs one Checks API call; a refusal or an unreachable GitHub becomes HttpError 502, as for statuses. */
async function checkCall<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    const code = (error as { status?: number }).status;
    throw new HttpError(502, `github: ${what}${code ? ` (${code})` : ""}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
