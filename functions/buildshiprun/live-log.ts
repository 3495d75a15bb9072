/** What a live log needs: where the log so far goes, how often, and the clock. */
export interface LiveLogDeps {
  /** Stores the whole log so far (under the key the final log uses, so the build page reads one object). */
  write: (text: string) => Promise<void>;
  /** At most one write per this many ms (the log store is S3: a put per line would cost a request per line). */
  intervalMs: number;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
}

/** The build log while a build runs (issue #14 item 1: the build page shows it live). */
export interface LiveLog {
  line(text: string): void;
  /** Waits for a write in flight and stops writing: the final log, written next, is never overwritten by an older one. */
  close(): Promise<void>;
}

/**
 * Collects lines and writes the log so far at most once per `intervalMs`: the first line at once, later ones when
 * the interval has passed since the last write (a quiet step's last lines are written too, not held until the next
 * line). Writes never overlap; a failed write is left to the next one (the final log is written either way).
 */
export function createLiveLog(deps: LiveLogDeps): LiveLog {
  const lines: string[] = [];
  let written = 0;
  let lastWriteAt = -Infinity;
  let scheduled = false;
  let writing: Promise<void> | undefined;
  let closed = false;

  const write = async () => {
    written = lines.length;
    lastWriteAt = deps.now();
    await deps.write(lines.join("\n")).catch(() => undefined);
  };

  function schedule() {
    if (scheduled || closed || lines.length === written) return;
    scheduled = true;
    const wait = lastWriteAt + deps.intervalMs - deps.now();
    void (wait > 0 ? deps.sleep(wait) : Promise.resolve()).then(async () => {
      if (closed) return;
      writing = write();
      await writing;
      writing = undefined;
      scheduled = false;
      // Lines that came during the write.
      schedule();
    });
  }

  return {
    line(text) {
      lines.push(text);
      schedule();
    },
    async close() {
      closed = true;
      await writing;
    },
  };
}
