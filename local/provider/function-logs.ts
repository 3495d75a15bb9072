import { setTimeout as sleep } from "node:timers/promises";
import { HttpError } from "../../shared/http-error.js";
import type { ContainerApi } from "./container-api.js";
import { NAMESPACE } from "./deployment.js";
import { parseLogStream } from "./docker-log-stream.js";
import type { Functions } from "./functions.js";

/** A log query (faas-provider `logs.Request`), its parameters already parsed. */
export interface LogRequest {
  name: string;
  /** Only this container (the `instance` each message names); any when absent. */
  instance?: string;
  /** The last this many lines; all when absent. */
  tail?: number;
  since?: Date;
  /** Keep streaming new lines until `signal` aborts. */
  follow: boolean;
  signal: AbortSignal;
}

/** One line of `/system/logs` (faas-provider `logs.Message`): what faas-cli decodes. */
export interface LogMessage {
  name: string;
  namespace: string;
  instance: string;
  timestamp: string;
  text: string;
}

/** How often a follow looks for the function's container again once its stream ended (stopped or replaced). */
const REATTACH_MS = 1_000;

/**
 * A function's logs from its container's Docker log (stdout and stderr, with the daemon's timestamps). The function
 * is looked up before anything is streamed, so an unknown one is a 404. With `follow`, the stream outlives its
 * container: when it ends (the function was updated, scaled to zero, or restarted) the current container is
 * attached again, from the last line seen, until the caller goes away or the function is removed; a faas-netes log
 * stream likewise follows the function's new pods.
 */
export function createFunctionLogs(deps: {
  functions: Pick<Functions, "containerOf">;
  containers: Pick<ContainerApi, "logs">;
}) {
  return async function open(request: LogRequest): Promise<AsyncIterable<LogMessage>> {
    const first = await deps.functions.containerOf(request.name);
    if (!first) throw new HttpError(404, `function ${request.name} not found`);
    const { name, signal } = request;

    async function* stream(): AsyncGenerator<LogMessage> {
      let id: string | undefined = first;
      let last = "";
      let query = { tail: request.tail, since: request.since };
      while (id && !signal.aborted) {
        const instance = id.slice(0, 12);
        try {
          const res = await deps.containers.logs(id, { ...query, follow: request.follow, signal });
          for await (const line of parseLogStream(res)) {
            // A re-attach reads from the last second seen again: skip what was sent (fixed-width RFC 3339 in UTC).
            if (line.timestamp <= last) continue;
            last = line.timestamp;
            if (request.instance && request.instance !== instance) continue;
            yield { name, namespace: NAMESPACE, instance, timestamp: line.timestamp, text: line.text };
          }
        } catch (err) {
          // The caller left, or the container was removed between two looks: the next look decides.
          if (signal.aborted) return;
          if ((err as { status?: number }).status !== 404) throw err;
        }
        if (!request.follow) return;
        await sleep(REATTACH_MS, undefined, { signal }).catch(() => undefined);
        id = await deps.functions.containerOf(name);
        query = { tail: undefined, since: last ? new Date(last) : request.since };
      }
    }
    return stream();
  };
}
