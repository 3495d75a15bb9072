/** `work`, or a rejection with the signal's reason as soon as it aborts (the work itself is left to end on its own). */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const abort = () => reject(signal.reason as Error);
    signal.addEventListener("abort", abort, { once: true });
    void work.then(resolve, reject).finally(() => signal.removeEventListener("abort", abort));
  });
}

/** Waits for `work` at most `ms`: for calls made after the signal fired, which must not hold a finished push. */
export async function atMost(work: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
  try {
    await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** The status description of a push whose signal fired `elapsedMs` after it started. */
export function abandonedBecause(reason: unknown, elapsedMs: number): string {
  const seconds = Math.round(elapsedMs / 1000);
  if ((reason as { name?: unknown } | undefined)?.name === "TimeoutError") return `build timed out after ${seconds}s`;
  return `build stopped after ${seconds}s: the caller went away`;
}
