import type { Logger } from "pino";
import type { PendingBuild, PendingBuilds } from "../../shared/pending-builds.js";

/** A running heartbeat on one build's pending record. */
export interface Heartbeat {
  /** Writes one now (after the function statuses went pending, so the record names them). */
  beat(): Promise<void>;
  /** No more beats; resolves once the one in flight is written, so a removal after it is final. */
  stop(): Promise<void>;
}

export interface HeartbeatDeps {
  pending: PendingBuilds;
  everyMs: number;
  log: Logger;
  now: () => number;
}

/**
 * Tells build-reaper that git-tar is working on `build` (issue #11): refreshes `heartbeatAt` on its pending record
 * at once and then every `everyMs`, with the function contexts still `pending` (so a reaper that finds the heartbeat
 * stale can end those too). A record github-push could not write is written here. A failed write is logged, never
 * thrown: the build goes on.
 */
export function startHeartbeat(
  deps: HeartbeatDeps,
  build: Omit<PendingBuild, "acceptedAt" | "heartbeatAt" | "functions">,
  functions: () => string[],
): Heartbeat {
  let stopped = false;
  let inFlight: Promise<void> = Promise.resolve();
  // github-push's acceptedAt, read by the first beat and kept on every rewrite.
  let acceptedAt: string | undefined;
  const write = async () => {
    const now = new Date(deps.now()).toISOString();
    acceptedAt ??= (await deps.pending.get(build))?.acceptedAt ?? now;
    await deps.pending.put({ ...build, acceptedAt, heartbeatAt: now, functions: functions() });
  };
  // One write at a time, in order: a late beat must not land after the record was removed.
  const beat = () => {
    if (stopped) return inFlight;
    inFlight = inFlight.then(write).catch((error: unknown) => {
      deps.log.warn({ err: error }, "could not refresh the pending-build heartbeat");
    });
    return inFlight;
  };
  const timer = setInterval(() => void beat(), deps.everyMs);
  void beat();
  return {
    beat,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await inFlight;
    },
  };
}
