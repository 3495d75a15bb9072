import type { Logger } from "pino";
import { checkRun, type CheckRunHandle } from "../../shared/check-runs.js";
import type { DeployResult } from "../../shared/deploy-spec.js";
import { commitOf, fitDescription, STACK_CONTEXT, type CheckConclusion, type Github } from "../../shared/github.js";
import type { BuildRequest } from "../../shared/push.js";

/** git-tar's check runs of one push (issue #17): `stack-deploy` and one per function, none left open at the end. */
export interface StackChecks {
  /** `stack-deploy` in progress: git-tar works on the push. */
  start(): Promise<void>;
  /** Creates the function's run queued and returns its id for buildshiprun (undefined when it could not). */
  queue(fn: string): Promise<number | undefined>;
  /** buildshiprun answered for the function: its run is buildshiprun's to complete. */
  handedOver(fn: string): void;
  /** Completes the function's run with failure: buildshiprun could not report it. */
  fail(fn: string, reason: string, detailsUrl?: string): Promise<void>;
  /** Completes `stack-deploy` with a table of the functions, and every function run still open with `conclusion`. */
  finish(conclusion: CheckConclusion, description: string, results: DeployResult[]): Promise<void>;
}

export function createStackChecks(
  deps: { github: Github; enabled: boolean; log: Logger; now: () => number },
  request: BuildRequest,
  detailsUrl?: string,
): StackChecks {
  const commit = commitOf(request);
  const stack = checkRun(deps, commit, STACK_CONTEXT, request.checkRunId);
  const open = new Map<string, CheckRunHandle>();
  const functions: string[] = [];
  const now = () => new Date(deps.now());
  const details = detailsUrl ? { detailsUrl } : {};

  return {
    start: () => stack.update({ status: "in_progress", startedAt: now(), ...details }),
    async queue(fn) {
      functions.push(fn);
      const handle = checkRun(deps, commit, fn);
      open.set(fn, handle);
      if (!deps.enabled) return undefined;
      try {
        const id = await deps.github.createCheckRun(commit, { name: fn, status: "queued", ...details });
        // Without an id (report_status off) buildshiprun and the handle find the run by name instead.
        if (id !== undefined) open.set(fn, checkRun(deps, commit, fn, id));
        return id;
      } catch (error) {
        deps.log.warn({ err: error, check: fn }, "could not create the function's check run");
        return undefined;
      }
    },
    handedOver: (fn) => void open.delete(fn),
    async fail(fn, reason, url) {
      const handle = open.get(fn) ?? checkRun(deps, commit, fn);
      open.delete(fn);
      await handle.update({
        conclusion: "failure",
        completedAt: now(),
        ...(url ? { detailsUrl: url } : details),
        output: { title: fitDescription(reason), summary: `**${fn}**: ${reason}` },
      });
    },
    async finish(conclusion, description, results) {
      const byName = new Map(results.map((r) => [r.function, r]));
      const left = [...open.entries()];
      open.clear();
      for (const [fn, handle] of left) {
        const why = `not built: ${description}`;
        await handle.update({
          conclusion,
          completedAt: now(),
          output: { title: fitDescription(why), summary: `**${fn}**: ${why}` },
        });
      }
      const rows = functions.map((fn) => {
        const r = byName.get(fn);
        const outcome = r ? `${r.status}: ${r.description}` : "not built";
        return `| ${cell(fn)} | ${cell(outcome)} | ${r?.url ? cell(r.url) : ""} |`;
      });
      const summary = [`**stack-deploy**: ${description}`, ""];
      if (rows.length > 0) summary.push("| Function | Outcome | URL |", "| --- | --- | --- |", ...rows);
      await stack.update({
        conclusion,
        completedAt: now(),
        ...details,
        output: { title: fitDescription(description), summary: summary.join("\n") },
      });
    },
  };
}

// A table cell: a pipe or a line break would end it.
function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\s*\n\s*/g, " ");
}
