import type { Logger } from "pino";
import type { CheckCommit, CheckConclusion, CheckRunUpdate, Github } from "./github.js";

/** One named check run of a commit as a stage sees it: updates are best effort beside the commit statuses. */
export interface CheckRunHandle {
  /** Applies the update in order after earlier ones; a failure is logged, never thrown (statuses are the contract). */
  update(update: CheckRunUpdate): Promise<void>;
  /** The run's id once known (created, found or handed over), else undefined. */
  id(): number | undefined;
}

/** What a handle needs; `enabled` false (use_checks off) makes every call a no-op. */
export interface CheckRunDeps {
  github: Github;
  enabled: boolean;
  log: Logger;
}

/**
 * A handle on the check run `name` of `commit` (issue #17). With `id` (handed over by the stage before) it updates
 * that run; without one (its create failed) it finds the latest open run of the name, else creates one queued, so a
 * stage still reports when an earlier one could not.
 */
export function checkRun(deps: CheckRunDeps, commit: CheckCommit, name: string, id?: number): CheckRunHandle {
  let known = id;
  let chain = Promise.resolve();
  const resolve = async (): Promise<number | undefined> => {
    if (known !== undefined) return known;
    const found = await deps.github.findCheckRun(commit, name);
    // A completed run is an earlier attempt's: this attempt gets its own.
    known =
      found && found.status !== "completed"
        ? found.id
        : await deps.github.createCheckRun(commit, { name, status: "queued" });
    return known;
  };
  return {
    update(update) {
      chain = chain.then(async () => {
        if (!deps.enabled) return;
        try {
          const runId = await resolve();
          if (runId !== undefined) await deps.github.updateCheckRun(commit, runId, update);
        } catch (error) {
          deps.log.warn({ err: error, check: name, status: update.status }, "could not update the check run");
        }
      });
      return chain;
    },
    id: () => known,
  };
}

/**
 * Completes every run of `names` on the commit that is still open (queued or in_progress) with `conclusion`: a stage
 * that ends a build another stage left (the queue's callback, build-reaper) must not leave a run spinning. Best
 * effort: failures are logged.
 */
export async function closeOpenRuns(
  deps: CheckRunDeps,
  commit: CheckCommit,
  names: string[],
  conclusion: CheckConclusion,
  output: { title: string; summary: string },
  now: Date,
): Promise<void> {
  if (!deps.enabled) return;
  for (const name of names) {
    try {
      const found = await deps.github.findCheckRun(commit, name);
      if (!found || found.status === "completed") continue;
      await deps.github.updateCheckRun(commit, found.id, { conclusion, completedAt: now, output });
    } catch (error) {
      deps.log.warn({ err: error, check: name }, "could not complete the open check run");
    }
  }
}
