import type { Logger } from "pino";
import { readBuildResultRef, STATUS_POSTED_HEADER } from "./build-result.js";
import type { FunctionEvent, Reply } from "./function-handler.js";
import { closeOpenRuns } from "./check-runs.js";
import { commitOf, fitDescription, STACK_CONTEXT, type Github } from "./github.js";
import { HttpError } from "./http-error.js";
import type { PendingBuilds } from "./pending-builds.js";
import { statusLinks } from "./status-links.js";

/** What the callback needs: github-push's and gitlab-push's deps both fit. */
export interface BuildResultDeps {
  payloadSecret: string;
  github: Github;
  pending: PendingBuilds;
  /** system_public_url: the error status links the owner's dashboard when set (issue #14). */
  systemPublicUrl?: string;
  /** use_checks: the commit's check runs git-tar left open are completed too (issue #17). */
  useChecks?: boolean;
  /** The SCM the serving function's commits are on (issue #19): gitlab-push's are GitLab's; absent: github. */
  scm?: "github" | "gitlab";
  log: Logger;
  now: () => number;
}

/**
 * The queue-worker's callback after git-tar ran (shared/build-result.ts), served by github-push and gitlab-push: when
 * git-tar did not report the outcome itself (it crashed, timed out, was not running, or refused the hand-off), the
 * commit gets an `error` status, so every accepted push ends in a terminal one on a real cluster too.
 */
export function createBuildResultHandler(deps: BuildResultDeps): (event: FunctionEvent) => Promise<Reply> {
  return async (event) => {
    const signed = readBuildResultRef(event.query, deps.payloadSecret);
    if (!signed) throw new HttpError(401, "invalid or missing build-result signature");
    const ref = deps.scm ? { ...signed, scm: deps.scm } : signed;
    const log = deps.log.child({ repo: `${ref.owner}/${ref.repo}`, sha: ref.sha });
    if (event.headers[STATUS_POSTED_HEADER] === "true") return { status: 200, body: "git-tar reported the outcome" };

    const status = Number(event.headers["x-function-status"]);
    if (status >= 200 && status < 300) {
      // git-tar finished but could not post its status (GitHub was down): the outcome is not known here.
      log.warn({ status }, "git-tar finished without reporting the outcome");
      return { status: 200, body: "git-tar finished; outcome unknown" };
    }
    const detail = event.body.toString("utf8").split("\n")[0]?.trim().slice(0, 80) ?? "";
    const why = Number.isInteger(status) && status > 0 ? `answered ${status}` : "did not answer";
    const description = `build error: git-tar ${why}${detail ? `: ${detail}` : ""}`;
    log.error({ status, detail }, "git-tar ended without a status; marking the commit");
    const targetUrl = statusLinks({ systemPublicUrl: deps.systemPublicUrl }).stack(ref.owner);
    await deps.github.setStatus({
      ...commitOf(ref),
      state: "error",
      context: STACK_CONTEXT,
      description,
      ...(targetUrl ? { targetUrl } : {}),
    });
    // No check run left spinning: the functions git-tar still had open (the pending record names them), then the stack.
    const record = await deps.pending.get(ref).catch(() => undefined);
    const names = [...(record?.functions ?? []).filter((fn) => fn !== STACK_CONTEXT), STACK_CONTEXT];
    const checks = { github: deps.github, enabled: deps.useChecks ?? false, log };
    const output = { title: fitDescription(description), summary: description };
    await closeOpenRuns(checks, ref, names, "failure", output, new Date(deps.now()));
    // The build ended: build-reaper has nothing left to do for it (issue #11).
    await deps.pending
      .remove(ref)
      .catch((error: unknown) => log.warn({ err: error }, "could not remove the pending-build record"));
    return { status: 200, body: description };
  };
}
