import type { Logger } from "pino";
import { z } from "zod";
import { PREVIEW_LABEL } from "../../shared/deploy-spec.js";
import type { FunctionEvent, Reply } from "../../shared/function-handler.js";
import type { FunctionStatus, Gateway } from "../../shared/gateway.js";
import { QUEUED_HOP_MAX_AGE_MS, requireHop } from "../../shared/hmac.js";
import { parseJsonBody } from "../../shared/json-body.js";
import { ownerIdSchema, type OwnerId } from "../../shared/naming.js";

export interface GarbageCollectDeps {
  payloadSecret: string;
  gateway: Gateway;
  log: Logger;
}

const OWNER_ID_LABEL = "com.openfaas.cloud.git-owner-id";
const REPO_LABEL = "com.openfaas.cloud.git-repo";

/** What git-tar (after a deploy) and github-event (after an uninstall) send (original-spec §9, §16.4). */
const garbageRequest = z.object({
  /** The deployed names (`<owner>--<fn>`) to keep. */
  functions: z.array(z.string()),
  /** One repository, or `*` for every repository of the owner. */
  repo: z.string().trim().min(1),
  /** The login, for the report and the log only: ownership is by id. */
  owner: z.string().trim().min(1),
  /**
   * The owner's numeric GitHub id, or `gitlab-<namespace id>` (issue #19), which the functions carry as `git-owner-id`
   * (DESIGN §5). Positive: the original labelled every function with 0, so 0 would match every owner's old functions.
   * `String(ownerId)` of one SCM never equals the other's: GitHub's 42 is "42", GitLab's "gitlab-42".
   */
  ownerId: ownerIdSchema,
  /**
   * A preview's key (issue #17): only that branch's preview functions are candidates. Without it only main functions
   * are: a main build's collection never removes a preview. An uninstall (`repo` `*`) takes both.
   */
  preview: z.string().min(1).optional(),
});
type GarbageRequest = z.infer<typeof garbageRequest>;

/** The garbage-collect answer: what was removed, and what could not be. */
export interface GarbageReport {
  owner: string;
  ownerId: OwnerId;
  repo: string;
  deleted: string[];
  failed: string[];
}

/**
 * Whether a deployed function is garbage for this request (DESIGN §5): labelled with this owner's id (not the login:
 * a new account that took a renamed login owns nothing of the old one's), with this repository unless the owner
 * uninstalled (`*`), and no longer in the stack. The repository is compared case-insensitively, since the original
 * labelled with GitHub's case. Functions without an owner id (the system's and the operator's) are never candidates.
 * A repository's collection stays on one side of the preview label: main functions, or one branch's previews.
 */
function isGarbage(fn: FunctionStatus, request: GarbageRequest, keep: ReadonlySet<string>): boolean {
  if (fn.labels?.[OWNER_ID_LABEL] !== String(request.ownerId)) return false;
  // Stryker disable next-line OptionalChaining: the line above returned unless fn.labels is set.
  if (request.repo !== "*" && fn.labels?.[REPO_LABEL]?.toLowerCase() !== request.repo) return false;
  if (request.repo !== "*" && fn.labels?.[PREVIEW_LABEL] !== request.preview) return false;
  return !keep.has(fn.name.toLowerCase());
}

/** garbage-collect (original-spec §9): removes an owner's functions that are no longer in their stack. */
export function createCollector(deps: GarbageCollectDeps): (event: FunctionEvent) => Promise<Reply> {
  return async (event) => {
    requireHop(deps.payloadSecret, "garbage-collect", event, { maxAgeMs: QUEUED_HOP_MAX_AGE_MS });
    const parsed = parseJsonBody(garbageRequest, event.body, "garbage-collect request");
    const request = { ...parsed, owner: parsed.owner.toLowerCase(), repo: parsed.repo.toLowerCase() };
    const keep = new Set(request.functions.map((f) => f.toLowerCase()));
    const log = deps.log.child({ owner: request.owner, ownerId: request.ownerId, repo: request.repo });

    const candidates = (await deps.gateway.listFunctions()).filter((fn) => isGarbage(fn, request, keep));
    const { owner, ownerId, repo } = request;
    const report: GarbageReport = { owner, ownerId, repo, deleted: [], failed: [] };
    for (const fn of candidates) {
      try {
        // `false` means it was already gone: removed either way.
        // Stryker disable next-line BooleanLiteral: the condition only decides whether to log; both ways it is removed.
        if (!(await deps.gateway.remove(fn.name))) log.info({ function: fn.name }, "already removed");
        report.deleted.push(fn.name);
      } catch (error) {
        // One function that cannot be removed must not keep the others (original-spec §9 step 4).
        log.warn({ err: error, function: fn.name }, "unable to delete function");
        report.failed.push(fn.name);
      }
    }
    log.info({ deleted: report.deleted, failed: report.failed }, "garbage collection ran");
    return { status: 200, body: report };
  };
}
