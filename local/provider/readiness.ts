import { request } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";

/** The annotation OpenFaaS reads a function's health path from (faas-netes probes, the OpenFaaS docs). */
export const HEALTH_PATH_ANNOTATION = "com.openfaas.health.http.path";

// A new container's server usually listens within a second or two. A refused connect costs next to nothing, so polls
// are 10 ms apart for the first FAST_POLL_MS (a push is live ~50 ms sooner than with 100 ms polls, issue #16) and
// 100 ms apart after that, for a container that is slow to start.
const FAST_POLL_MS = 3_000;

/**
 * Polls `GET http://127.0.0.1:<port><path>` until anything answers over HTTP (a 404 or 500 still means the server
 * listens); false after `timeoutMs` or once `signal` aborts. `intervalMs` fixes the pause between polls.
 */
export async function waitUntilAnswering(options: {
  port: number;
  path?: string;
  timeoutMs: number;
  intervalMs?: number;
  signal?: AbortSignal;
}): Promise<boolean> {
  const deadline = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
  const began = performance.now();
  while (!signal.aborted) {
    if (await answers(options.port, options.path ?? "/", signal)) return true;
    const pause = options.intervalMs ?? (performance.now() - began < FAST_POLL_MS ? 10 : 100);
    try {
      await sleep(pause, undefined, { signal });
    } catch {
      return false;
    }
  }
  return false;
}

function answers(port: number, path: string, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(
      { host: "127.0.0.1", port, path, method: "GET", agent: false, signal, timeout: 1_000 },
      (res) => {
        res.resume();
        resolve(true);
      },
    );
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(false));
    req.end();
  });
}
