import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** The state folder, held by this process until `release`, or the pid of the live runtime that holds it. */
export type StateLock = { release(): void } | { heldBy: number };

/**
 * Takes `<dir>/runtime.pid` for `pid` (issue #18): two runtimes on one state folder would fight over the same
 * daemons, ports and queue. A file left by a runtime that died without a stop (SIGKILL) names a gone process and is
 * taken over; the exclusive create makes two starts at the same moment see each other.
 */
export function lockStateDir(dir: string, pid: number = process.pid): StateLock {
  const file = join(dir, "runtime.pid");
  mkdirSync(dir, { recursive: true });
  for (;;) {
    try {
      writeFileSync(file, `${pid}\n`, { flag: "wx" });
      return { release: () => void (holder(file) === pid && rmSync(file, { force: true })) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const held = holder(file);
    if (held !== undefined && held !== pid && alive(held)) return { heldBy: held };
    rmSync(file, { force: true });
  }
}

function holder(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, "utf8").trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, owned by someone else.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
