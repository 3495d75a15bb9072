import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";

/** A background binary whose stdout and stderr go to a log file. */
export interface Daemon {
  child: ChildProcess;
  logFile: string;
  /** Set when the binary could not be started (e.g. ENOENT). */
  spawnError?: Error;
}

/** Starts `command args…` with its output appended to `logFile`. */
export function spawnDaemon(command: string, args: string[], logFile: string): Daemon {
  const fd = openSync(logFile, "a");
  try {
    const child = spawn(command, args, { stdio: ["ignore", fd, fd] });
    const daemon: Daemon = { child, logFile };
    child.on("error", (err) => (daemon.spawnError = err));
    return daemon;
  } finally {
    closeSync(fd);
  }
}

/** The last `lines` lines of a log, for error messages. */
export function logTail(logFile: string, lines = 30): string {
  if (!existsSync(logFile)) return "(no log)";
  return readFileSync(logFile, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
}

/**
 * Polls `ready` every 100 ms until it is true; fails early if the process exits, and after `timeoutMs` with
 * the log tail, so a failed start says why.
 */
export async function waitReady(daemon: Daemon, what: string, ready: () => Promise<boolean>, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (daemon.spawnError) {
      const hint =
        (daemon.spawnError as { code?: string }).code === "ENOENT" ? "; run scripts/install-system-deps.sh" : "";
      throw new Error(`${what} could not start: ${daemon.spawnError.message}${hint}`);
    }
    if (daemon.child.exitCode !== null || daemon.child.signalCode !== null) {
      const how = daemon.child.exitCode ?? daemon.child.signalCode;
      throw new Error(`${what} exited (${how}) before it was ready; ${daemon.logFile}:\n${logTail(daemon.logFile)}`);
    }
    if (await ready().catch(() => false)) return;
    if (Date.now() > deadline) {
      await stopDaemon(daemon, 5_000);
      throw new Error(`${what} not ready after ${timeoutMs} ms; ${daemon.logFile}:\n${logTail(daemon.logFile)}`);
    }
    await sleep(100);
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the process has exited. */
export async function stopDaemon(daemon: Daemon, graceMs: number): Promise<void> {
  const { child } = daemon;
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}
