import pLimit from "p-limit";
import type { Logger } from "pino";
import type { BuildHistory } from "../../shared/build-history.js";
import { closeOpenRuns } from "../../shared/check-runs.js";
import { commitOf, fitDescription, STACK_CONTEXT, type Github } from "../../shared/github.js";
import { isHttpError } from "../../shared/http-error.js";
import type { PendingBuild, PendingBuilds, PendingEntry } from "../../shared/pending-builds.js";
import { statusLinks } from "../../shared/status-links.js";
import { judge, type Deadlines } from "./decide.js";

export interface SweepDeps {
  pending: PendingBuilds;
  github: Github;
  deadlines: Deadlines;
  /** Most records one sweep reads; the next sweep goes on after the last one. */
  pageSize: number;
  /** system_public_url: the error statuses link the owner's dashboard when set (issue #14). */
  systemPublicUrl?: string;
  /** The dashboard's build records: a lost function's `running` record is ended with the same `error` (issue #14). */
  history?: BuildHistory;
  /** use_checks: the lost build's open check runs are completed `timed_out` too (issue #17). */
  useChecks?: boolean;
  log: Logger;
  now: () => number;
}

/** What one sweep did, in counts only: the endpoint answers unauthenticated callers, so it names no repository. */
export interface SweepReport {
  /** Records read. */
  examined: number;
  /** Lost builds ended with `error`. */
  reaped: number;
  /** Lost by the clock, but the commit already had its terminal status (or is gone): record removed, nothing posted. */
  closed: number;
  /** Still within their deadlines. */
  kept: number;
  /** GitHub or S3 failed; left for the next sweep. */
  failed: number;
  /** Objects under the prefix that are not records (and were not rewritten for heartbeat_timeout), removed. */
  discarded: number;
}

type Outcome = Exclude<keyof SweepReport, "examined">;

/**
 * build-reaper's sweep (issue #11): reads a page of pending-build records and ends each lost build with `error` on
 * `stack-deploy` and on every function context git-tar left `pending`, unless GitHub already shows a terminal
 * `stack-deploy` (then the record is only removed). Per replica it remembers where the page ended, so more records
 * than one page are all seen over the following sweeps.
 */
export function createSweeper(deps: SweepDeps): (signal?: AbortSignal) => Promise<SweepReport> {
  let after: string | undefined;
  return async (signal) => {
    const { entries, next } = await deps.pending.list({ limit: deps.pageSize, ...(after ? { after } : {}) });
    after = next;
    const report: SweepReport = { examined: entries.length, reaped: 0, closed: 0, kept: 0, failed: 0, discarded: 0 };
    // A few at a time: each lost build costs a few GitHub calls.
    const limit = pLimit(4);
    const outcomes = await Promise.all(
      entries.map((entry) =>
        limit(async (): Promise<Outcome> => {
          if (signal?.aborted) return "failed";
          return settle(deps, entry).catch((error: unknown) => {
            deps.log.warn(
              { err: error, key: entry.key },
              "could not settle a pending build; the next sweep tries again",
            );
            return "failed" as const;
          });
        }),
      ),
    );
    for (const outcome of outcomes) report[outcome]++;
    return report;
  };
}

async function settle(deps: SweepDeps, entry: PendingEntry): Promise<Outcome> {
  const { build } = entry;
  if (!build) {
    // A store that rewrites in place may show a record mid-write: only one that stayed unreadable goes.
    if (!(deps.now() - entry.modifiedAt > deps.deadlines.heartbeatTimeoutMs)) return "kept";
    deps.log.warn({ key: entry.key }, "not a pending-build record; removed");
    await deps.pending.remove(entry);
    return "discarded";
  }
  const verdict = judge(build, deps.now(), deps.deadlines);
  if (!verdict.lost) return "kept";
  const log = deps.log.child({ repo: `${build.owner}/${build.repo}`, sha: build.sha });
  // The record's SCM (issue #19): a GitLab build's statuses are read and ended on GitLab; absent: github.
  const commit = commitOf(build);
  let latest: Map<string, string>;
  try {
    latest = await deps.github.latestStatuses(commit);
  } catch (error) {
    // The installation, repository or commit is gone: no status can ever be posted on it.
    if (!isHttpError(error) || error.status !== 404) throw error;
    log.warn({ err: error }, "pending build of a commit GitHub no longer has; record removed");
    await deps.pending.remove(build);
    return "closed";
  }
  const stack = latest.get(STACK_CONTEXT);
  if (stack !== undefined && stack !== "pending") {
    log.info({ state: stack }, "pending build already ended; record removed");
    await deps.pending.remove(build);
    return "closed";
  }
  // Both of the reaper's verdicts are deadlines that passed: the runs left open time out. Before the statuses, so
  // that the terminal stack-deploy status stays the last word (a sweep cut short before it is retried whole).
  const names = [...(build.functions ?? []).filter((fn) => fn !== STACK_CONTEXT), STACK_CONTEXT];
  const output = { title: fitDescription(verdict.description), summary: verdict.description };
  const checks = { github: deps.github, enabled: deps.useChecks ?? false, log };
  await closeOpenRuns(checks, commit, names, "timed_out", output, new Date(deps.now()));
  await postErrors(deps, build, latest, verdict.description);
  log.warn({ description: verdict.description }, "build lost; marked error");
  await deps.pending.remove(build);
  return "reaped";
}

// Function contexts first, stack-deploy last: a sweep cut short is retried whole, since stack-deploy is still pending.
async function postErrors(
  deps: SweepDeps,
  build: PendingBuild,
  latest: Map<string, string>,
  description: string,
): Promise<void> {
  const functions = (build.functions ?? []).filter((fn) => fn !== STACK_CONTEXT && latest.get(fn) === "pending");
  // The owner's dashboard for the function contexts too: a lost build may have no build record to show.
  const targetUrl = statusLinks({ systemPublicUrl: deps.systemPublicUrl }).stack(build.owner);
  for (const context of [...functions, STACK_CONTEXT]) {
    if (context !== STACK_CONTEXT) await endRecord(deps, build, context, description);
    await deps.github.setStatus({
      ...commitOf(build),
      state: "error",
      context,
      description,
      ...(targetUrl ? { targetUrl } : {}),
    });
  }
}

/**
 * Ends the function's build record with `error` when it still says `running`, so its build page stops waiting and
 * says why. Best effort: the status is what must be posted, and a record left running reads as lost on the dashboard
 * after its own deadline anyway (functions/dashboard-api/builds.ts).
 */
async function endRecord(deps: SweepDeps, build: PendingBuild, fn: string, reason: string): Promise<void> {
  if (!deps.history) return;
  try {
    const id = { owner: build.owner, repo: build.repo, sha: build.sha, function: fn };
    const record = await deps.history.get(id);
    if (record?.state !== "running") return;
    const finished = deps.now();
    await deps.history.put({
      ...record,
      state: "error",
      finishedAt: new Date(finished).toISOString(),
      durationMs: Math.max(0, finished - Date.parse(record.startedAt)),
      reason,
    });
  } catch (error) {
    deps.log.warn({ err: error, function: fn }, "could not end the lost build's record");
  }
}
