import { z } from "zod";
import { parseJsonBody } from "../../shared/json-body.js";

// GitLab's webhook payloads, only the fields read (docs.gitlab.com/administration/system_hooks/ and
// docs.gitlab.com/user/project/integrations/webhook_events/#push-events). Project fields other than the id are
// taken from the GitLab API, never from here (contract §6).

/** The events gitlab-event acts on, by `event_name` (system hook) or `object_kind` (project hook). */
export const PROJECT_EVENTS = ["project_update", "project_rename", "project_transfer", "project_destroy"] as const;
export type ProjectEventName = (typeof PROJECT_EVENTS)[number];

// `<namespace full path>/<project path>`: at least two segments, none empty.
const projectPath = z.string().regex(/^[^/]+(?:\/[^/]+)+$/, "expected <namespace path>/<project path>");
const sha = z.string().regex(/^[0-9a-f]{40}$/, "expected a 40-character hex SHA");

const systemHook = z.object({ event_name: z.string().min(1) });
const projectHook = z.object({ object_kind: z.literal("push") });

const pushEvent = z.object({
  ref: z.string().min(1),
  before: sha,
  after: sha,
  project_id: z.number().int().positive(),
  project: z.object({ path_with_namespace: projectPath }),
});
export type GitlabPushEvent = z.infer<typeof pushEvent>;

const projectEvent = z
  .object({
    event_name: z.enum(PROJECT_EVENTS),
    project_id: z.number().int().positive(),
    path_with_namespace: projectPath,
    old_path_with_namespace: projectPath.optional(),
  })
  .refine(
    (e) => (e.event_name !== "project_rename" && e.event_name !== "project_transfer") || e.old_path_with_namespace,
    { path: ["old_path_with_namespace"], message: "required for project_rename and project_transfer" },
  );
export type GitlabProjectEvent = z.infer<typeof projectEvent>;

/**
 * The event a hook carries: a system hook (`X-Gitlab-Event: System Hook`) names it in `event_name`, a project hook
 * sends `Push Hook` with `object_kind: "push"`. Undefined for any other hook (tag pushes, merge requests, …).
 */
export function hookEventName(hook: string, body: Buffer): string | undefined {
  if (hook === "System Hook") return parseJsonBody(systemHook, body, "system hook").event_name;
  if (hook === "Push Hook") return parseJsonBody(projectHook, body, "push hook").object_kind;
  return undefined;
}

/** A push of either hook; a 400 naming the missing or malformed fields otherwise. */
export function parsePushEvent(body: Buffer): GitlabPushEvent {
  return parseJsonBody(pushEvent, body, "push event");
}

/** A system hook's project_update/rename/transfer/destroy; a 400 naming the missing or malformed fields otherwise. */
export function parseProjectEvent(body: Buffer): GitlabProjectEvent {
  return parseJsonBody(projectEvent, body, "project event");
}
