import { Cron } from "croner";
import type { Logger } from "pino";
import type { StackFunction } from "../shared/stack.js";

/** One function cron-connector calls, and when. */
export interface CronJob {
  function: string;
  /** A cron expression: five fields as cron-connector reads them, or six with seconds first (tests). */
  schedule: string;
}

/** The functions of a stack cron-connector would call: annotated `topic: cron-function` and a `schedule`. */
export function cronJobs(functions: readonly StackFunction[]): CronJob[] {
  return functions.flatMap((fn) => {
    const { topic, schedule } = fn.annotations;
    return topic === "cron-function" && schedule ? [{ function: fn.name, schedule }] : [];
  });
}

/**
 * The part of OpenFaaS's cron-connector the local runtime needs (issue #11): each job's function is invoked on its
 * schedule through `invoke` (the gateway, unsigned, empty body, as cron-connector does). A call still running when the
 * next is due is not doubled. A schedule croner cannot read throws, naming the function.
 */
export function startCron(deps: {
  jobs: readonly CronJob[];
  /** Calls the function; resolves to the HTTP status. */
  invoke: (name: string) => Promise<number>;
  log: Logger;
}): { stop(): void } {
  const crons: Cron[] = [];
  const stop = () => crons.forEach((c) => c.stop());
  for (const job of deps.jobs) {
    const run = async () => {
      try {
        const status = await deps.invoke(job.function);
        if (status >= 300) deps.log.warn({ function: job.function, status }, "cron call answered non-2xx");
      } catch (error) {
        deps.log.warn({ err: error, function: job.function }, "cron call failed");
      }
    };
    try {
      crons.push(new Cron(job.schedule, { protect: true }, run));
    } catch (error) {
      stop();
      throw new Error(`${job.function}: schedule ${JSON.stringify(job.schedule)}: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }
  return { stop };
}
