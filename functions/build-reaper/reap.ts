import type { Logger } from "pino";
import type { FunctionEvent, Reply } from "../../shared/function-handler.js";
import type { Github } from "../../shared/github.js";
import { CLOUD_SIGNATURE_HEADER, requireHop } from "../../shared/hmac.js";
import { HttpError } from "../../shared/http-error.js";
import type { BuildHistory } from "../../shared/build-history.js";
import type { PendingBuilds } from "../../shared/pending-builds.js";
import type { Deadlines } from "./decide.js";
import { createSweeper, type SweepReport } from "./sweep.js";

export interface BuildReaperDeps {
  payloadSecret: string;
  pending: PendingBuilds;
  github: Github;
  deadlines: Deadlines;
  /** system_public_url: statuses link the owner's dashboard (issue #14). */
  systemPublicUrl?: string;
  /** The dashboard's build records (issue #14): a lost build's `running` records end with its `error`. */
  history?: BuildHistory;
  /** use_checks: a lost build's open check runs are completed `timed_out` (issue #17). */
  useChecks?: boolean;
  log: Logger;
  now: () => number;
  /** Most records one sweep reads (default 500). */
  pageSize?: number;
  /** An unsigned call within this long of the last sweep gets that sweep's report (default 10 s). */
  windowMs?: number;
}

/** A sweep's outcome as the endpoint answers it. */
type Swept = { at: number; report: SweepReport } | { at: number; error: string };

/**
 * build-reaper's one operation (issue #11). cron-connector cannot sign its calls, so an unsigned call is accepted,
 * but it carries no input (the body is never read as such) and buys at most one bounded sweep per `windowMs` per
 * replica: a call within the window, or while a sweep runs, gets that sweep's answer. A call with a valid
 * X-Cloud-Signature-256 (an operator's, a test's) sweeps at once; one with an invalid signature is refused.
 */
export function createReaper(deps: BuildReaperDeps): (event: FunctionEvent) => Promise<Reply> {
  const sweep = createSweeper({ ...deps, pageSize: deps.pageSize ?? 500 });
  const windowMs = deps.windowMs ?? 10_000;
  let last: Swept | undefined;
  let running: Promise<Swept> | undefined;

  const start = (signal?: AbortSignal): Promise<Swept> => {
    const at = deps.now();
    running = sweep(signal)
      .then(
        (report): Swept => {
          if (report.reaped + report.failed > 0) deps.log.info(report, "sweep done");
          return { at, report };
        },
        (error: unknown): Swept => {
          deps.log.warn({ err: error }, "sweep failed: pending builds unreadable");
          return { at, error: "pending builds unreadable (S3), see the build-reaper log" };
        },
      )
      .then((swept) => (last = swept))
      .finally(() => (running = undefined));
    return running;
  };

  return async (event) => {
    if (event.method !== "POST" && event.method !== "GET") throw new HttpError(405, "build-reaper takes GET or POST");
    const signed = event.headers[CLOUD_SIGNATURE_HEADER] !== undefined;
    if (signed) requireHop(deps.payloadSecret, "build-reaper", event);
    const recent = last !== undefined && deps.now() - last.at < windowMs;
    const fresh = !running && (signed || !recent);
    const swept = running ? await running : fresh ? await start(event.signal) : last!;
    if ("error" in swept) throw new HttpError(503, swept.error);
    return { status: 200, body: { sweptAt: new Date(swept.at).toISOString(), fresh, ...swept.report } };
  };
}
