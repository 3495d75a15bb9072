import type { Logger } from "pino";

/** The message of every stage-timing line: a log query (or bench/push-to-live.ts) picks them out by it. */
export const STAGE_MESSAGE = "stage timing";

/** Ends a stage: logs its duration (and returns it), with fields saying what it did (a status context, an outcome). */
export type EndStage = (fields?: Record<string, unknown>) => number;

/** What {@link stageTimer} returns. */
export interface StageTimer {
  /** Starts `stage` now (or at `began`, a reading of the same clock); the function returned logs its line. */
  start(stage: string, began?: number): EndStage;
  /** Runs `work` as `stage`: logged when it settles, resolved or thrown (then with `failed: true`). */
  time<T>(stage: string, work: () => Promise<T>, fields?: Record<string, unknown>): Promise<T>;
}

/**
 * Per-stage timings of a push (issue #16): each stage logs one info line `{ stage, ms, …fields }` with the message
 * {@link STAGE_MESSAGE} on `log`. The push's sha, delivery or call id come from the logger's own bindings (each stage
 * logs on its per-push child), so the lines of one push join up. The cost is two clock reads and one log line per
 * stage of a push, nothing per request of a deployed function. `now` is a clock in ms (Date.now,
 * performance.now).
 */
export function stageTimer(log: Logger, now: () => number): StageTimer {
  const start = (stage: string, began = now()): EndStage => {
    return (fields) => {
      const ms = Math.round((now() - began) * 10) / 10;
      log.info({ ...fields, stage, ms }, STAGE_MESSAGE);
      return ms;
    };
  };
  return {
    start,
    async time(stage, work, fields) {
      const end = start(stage);
      try {
        const result = await work();
        end(fields);
        return result;
      } catch (error) {
        end({ ...fields, failed: true });
        throw error;
      }
    },
  };
}
