import type { Logger } from "pino";
import { viewableOwner, type ViewerDeps } from "../../shared/dashboard-api.js";
import type { FunctionEvent, Reply } from "../../shared/function-handler.js";
import { parseDuration } from "../../shared/function-server.js";
import type { Gateway } from "../../shared/gateway.js";
import { HttpError } from "../../shared/http-error.js";
import { functionName } from "../../shared/naming.js";

export interface FunctionLogsDeps {
  gateway: Gateway;
  viewer: ViewerDeps;
  log: Logger;
}

/** Lines answered when `tail` is not given, and the most a caller may ask for. */
const DEFAULT_TAIL = 100;
const MAX_TAIL = 5_000;

/**
 * function-logs (issue #13, upstream's function-logs): `?owner=&function=&tail=&since=` → the function's runtime log
 * lines from the gateway's /system/logs (not following), as a JSON array of `{timestamp, instance, text}`, oldest
 * first. Only a function of the owner's: its deployed name is `<owner>--<function>` and its git-owner label the
 * owner; anything else is the same 404 as a function that does not exist.
 */
export function createFunctionLogs(deps: FunctionLogsDeps) {
  return async (event: FunctionEvent): Promise<Reply> => {
    const { owner } = await viewableOwner(event, deps.viewer);
    const fn = event.query.function ?? "";
    if (!fn) throw new HttpError(400, "function is required, e.g. ?owner=alexellis&function=hello");
    const name = functionName(owner, fn);
    const tail = parseTail(event.query.tail);
    const since = parseSince(event.query.since, deps.viewer.now());
    const notFound = new HttpError(404, `no function ${fn.toLowerCase()} of ${owner}`);
    const status = await deps.gateway.getFunction(name);
    if (status?.labels?.["com.openfaas.cloud.git-owner"]?.toLowerCase() !== owner) throw notFound;
    const lines = await deps.gateway.logs(name, { tail, ...(since ? { since } : {}) });
    if (!lines) throw notFound;
    return {
      status: 200,
      body: lines.map((l) => ({ timestamp: l.timestamp, instance: l.instance ?? "", text: l.text })),
    };
  };
}

function parseTail(value: string | undefined): number {
  if (value === undefined || value === "") return DEFAULT_TAIL;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > MAX_TAIL) {
    throw new HttpError(400, `tail must be a whole number from 1 to ${MAX_TAIL}`);
  }
  return n;
}

/** `since`: a duration back from now ("30m", "2h") or an RFC 3339 time. */
function parseSince(value: string | undefined, nowMs: number): Date | undefined {
  if (value === undefined || value === "") return undefined;
  const ago = parseDuration(value);
  if (ago !== undefined) return new Date(nowMs - ago);
  const at = /^\d{4}-\d{2}-\d{2}T/.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(at)) throw new HttpError(400, 'since must be a duration such as "30m" or an RFC 3339 time');
  return new Date(at);
}
