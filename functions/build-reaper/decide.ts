/** How long a build may go without git-tar, from the settings pending_deadline and heartbeat_timeout (issue #11). */
export interface Deadlines {
  /** An accepted push whose git-tar never started (no heartbeat) is lost this long after it was accepted. */
  pendingDeadlineMs: number;
  /** A build whose git-tar went silent is lost this long after its last heartbeat. */
  heartbeatTimeoutMs: number;
}

/** What build-reaper does with one pending build: leave it, or end it with `error` and this description. */
export type Verdict = { lost: false } | { lost: true; description: string };

/** The times a pending-build record carries (ISO 8601, as shared/pending-builds.ts stores them). */
export interface BuildTimes {
  acceptedAt: string;
  heartbeatAt?: string | undefined;
}

// What the user can do: a new commit on the build branch builds again (a redelivery of the old push is refused).
const RERUN = "re-run: push again (git commit --allow-empty -m rebuild && git push)";

/**
 * The reaper's rule: with a heartbeat, the build is lost once the heartbeat is older than heartbeat_timeout (git-tar
 * crashed or was killed); without one, once it was accepted longer than pending_deadline ago (the queued call never
 * reached git-tar: a NATS restart lost it, or the queue is that far behind). A time in the future is clock skew,
 * not a lost build.
 */
export function judge(build: BuildTimes, now: number, deadlines: Deadlines): Verdict {
  if (build.heartbeatAt !== undefined) {
    const silent = now - Date.parse(build.heartbeatAt);
    if (!(silent > deadlines.heartbeatTimeoutMs)) return { lost: false };
    const limit = formatDuration(deadlines.heartbeatTimeoutMs);
    return {
      lost: true,
      description: `build lost: git-tar stopped working on it (no heartbeat for ${limit}); ${RERUN}`,
    };
  }
  const waiting = now - Date.parse(build.acceptedAt);
  if (!(waiting > deadlines.pendingDeadlineMs)) return { lost: false };
  const limit = formatDuration(deadlines.pendingDeadlineMs);
  return { lost: true, description: `build lost: git-tar never started it within ${limit}; ${RERUN}` };
}

/** A duration as the settings write it: "30m", "3m", "1h30m", "1m30s", "8s", "500ms". */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const total = Math.round(ms / 1000);
  const [h, m, s] = [Math.floor(total / 3600), Math.floor(total / 60) % 60, total % 60];
  return `${h ? `${h}h` : ""}${m ? `${m}m` : ""}${s ? `${s}s` : ""}`;
}
