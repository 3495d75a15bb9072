import { viewableOwner, type ViewerDeps } from "../../shared/dashboard-api.js";
import type { BuildHistory, BuildRecord } from "../../shared/build-history.js";
import type { FunctionEvent, Reply } from "../../shared/function-handler.js";
import { HttpError } from "../../shared/http-error.js";
import { normalizeLogKey, type LogStore } from "../../shared/log-store.js";

export interface BuildsDeps {
  viewer: ViewerDeps;
  /** The build records buildshiprun keeps (shared/build-history.ts). */
  history: BuildHistory;
  /** The build logs, live while a build runs (buildshiprun writes the log so far under the final key). */
  logs: LogStore;
}

/**
 * How long a build may show `running`: buildshiprun ends every build within its exec_timeout (5m in stack.yml) and then
 * stores the terminal record, so one still running after this was lost (buildshiprun killed, S3 refusing the write)
 * and is shown as `error`, so a page polling it stops.
 */
const LOST_AFTER_MS = 15 * 60_000;

/** The record as the dashboard shows it: a `running` one older than LOST_AFTER_MS is an `error`. */
function settled(build: BuildRecord, nowMs: number): BuildRecord {
  if (build.state !== "running" || nowMs - Date.parse(build.startedAt) <= LOST_AFTER_MS) return build;
  return { ...build, state: "error", reason: "build lost: no result within 15 minutes" };
}

/** How many builds a listing answers when `limit` is not given, and the most it may ask for. */
const DEFAULT_LIMIT = 20;
const MAX_LIMIT = 50;

/**
 * builds (issue #14): `?owner=[&function=][&repo=][&limit=]` → `{ builds }`, the owner's newest builds first, maybe
 * of one function (its stack.yml name) or one repository. Session-checked like list-functions.
 */
export function createBuildList(deps: BuildsDeps) {
  return async (event: FunctionEvent): Promise<Reply> => {
    const { owner } = await viewableOwner(event, deps.viewer);
    const fn = event.query.function || undefined;
    const repo = event.query.repo || undefined;
    const limit = wholeNumber("limit", event.query.limit, DEFAULT_LIMIT, MAX_LIMIT);
    const builds = await deps.history.list({
      owner,
      ...(fn ? { function: fn } : {}),
      ...(repo ? { repo } : {}),
      limit,
    });
    const now = deps.viewer.now();
    return { status: 200, body: { builds: builds.map((b) => settled(b, now)) } };
  };
}

/**
 * build-log (issue #14): `?owner=&repo=&sha=&function=[&offset=]` → `{ build, log, offset, done }`: the build's
 * record and its log from byte `offset` on, the offset to ask from next, and whether the build has ended. The page
 * polls it while `done` is false. 404 for a build with no record (the same for any owner the session may see).
 */
export function createBuildLog(deps: BuildsDeps) {
  return async (event: FunctionEvent): Promise<Reply> => {
    const { owner } = await viewableOwner(event, deps.viewer);
    const id = normalizeLogKey({ ...event.query, owner });
    const offset = wholeNumber("offset", event.query.offset, 0, Number.MAX_SAFE_INTEGER, 0);
    // The record before the log: buildshiprun stores the final log before the terminal record, so a `done` answer
    // always carries the whole log.
    const stored = await deps.history.get(id);
    const build = stored && settled(stored, deps.viewer.now());
    if (!build) throw new HttpError(404, `no build of ${id.function} at ${id.sha.slice(0, 7)} in ${owner}/${id.repo}`);
    const text = Buffer.from((await deps.logs.get(id)) ?? "", "utf8");
    // A log only grows while its build runs; one that shrank (a rebuild of the commit) is sent again from the start.
    const from = offset <= text.length ? offset : 0;
    return {
      status: 200,
      body: { build, log: text.subarray(from).toString("utf8"), offset: text.length, done: build.state !== "running" },
    };
  };
}

function wholeNumber(name: string, value: string | undefined, fallback: number, max: number, min = 1): number {
  if (value === undefined || value === "") return fallback;
  const n = Number(value);
  if (!/^[0-9]+$/.test(value) || n < min || n > max) {
    throw new HttpError(400, `${name} must be a whole number from ${min} to ${max}`);
  }
  return n;
}
