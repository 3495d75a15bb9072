import { request } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";

/** The annotation OpenFaaS reads a function's health path from (faas-netes probes, the OpenFaaS docs). */
export const HEALTH_PATH_ANNOTATION = "com.openfaas.health.http.path";

/**
 * Polls `GET http://127.0.0.1:<port><path>` until anything answers over HTTP (a 404 or 500 still means the server
 * listens); false after `timeoutMs` or once `signal` aborts.
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
  while (!signal.aborted) {
    if (await answers(options.port, options.path ?? "/", signal)) return true;
    try {
      await sleep(options.intervalMs ?? 100, undefined, { signal });
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
