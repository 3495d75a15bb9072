/** A commit status's state as GitLab stores it (a generic commit status is a CI job of the `external` stage). */
export type StatusState = "created" | "pending" | "running" | "success" | "failed" | "canceled" | "skipped";
/** One commit status (GitLab's GenericCommitStatus), with the fields the API shows. */
export type StatusJob = {
  id: number;
  projectId: number;
  sha: string;
  ref: string;
  name: string;
  status: StatusState;
  target_url: string | null;
  description: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
};
/** What a POST did: the job it left, or GitLab's 400 text for a refused transition. */
export type Transition = { ok: true; job: StatusJob } | { ok: false; message: string };

/** The states `POST /projects/:id/statuses/:sha` takes (GitLab's `state` param values). */
export const POSTED_STATES = ["pending", "running", "success", "failed", "canceled", "skipped"] as const;

// GitLab's CommitStatus state machine, the events a posted state fires and the states each may leave
// (app/models/commit_status.rb; created → pending → running → success | failed | canceled).
const EVENTS: Record<string, { from: StatusState[]; to: StatusState }> = {
  enqueue: { from: ["created", "skipped"], to: "pending" },
  run: { from: ["pending"], to: "running" },
  success: { from: ["created", "pending", "running"], to: "success" },
  drop: { from: ["created", "pending", "running"], to: "failed" },
  cancel: { from: ["created", "pending", "running"], to: "canceled" },
  skip: { from: ["created", "pending"], to: "skipped" },
};
// The events each posted state fires, in order, as Ci::CreateCommitStatusService#apply_job_state! does; `false`
// marks the non-bang `job.enqueue` before `run!`, whose refusal is ignored (a pending job just runs).
const FIRES: Record<string, Array<[event: string, strict: boolean]>> = {
  pending: [["enqueue", true]],
  running: [
    ["enqueue", false],
    ["run", true],
  ],
  success: [["success", true]],
  failed: [["drop", true]],
  canceled: [["cancel", true]],
  skipped: [["skip", true]],
};
const FINISHED: StatusState[] = ["success", "failed", "canceled", "skipped"];

/**
 * Applies a posted state the way GitLab does: the latest pending or running status of that project, sha, ref and
 * name moves on; otherwise a new one (state `created`) is made and moved. A transition the machine has not got is
 * refused with GitLab's own 400 text and changes nothing.
 */
export function postStatus(
  jobs: StatusJob[],
  post: Omit<StatusJob, "id" | "status" | "created_at" | "started_at" | "finished_at"> & { state: string },
  next: { id: () => number; now: string },
): Transition {
  const { state, ...fields } = post;
  const existing = jobs
    .filter(
      (j) =>
        j.projectId === fields.projectId &&
        j.sha === fields.sha &&
        j.ref === fields.ref &&
        j.name === fields.name &&
        (j.status === "pending" || j.status === "running"),
    )
    .sort((a, b) => b.id - a.id)[0];
  let status: StatusState = existing?.status ?? "created";
  for (const [event, strict] of FIRES[state] ?? []) {
    const rule = EVENTS[event];
    if (rule?.from.includes(status)) status = rule.to;
    else if (strict) return { ok: false, message: refusal(event, status) };
  }
  const at = next.now;
  const job: StatusJob = {
    ...(existing ?? { id: next.id(), created_at: at, started_at: null, finished_at: null }),
    ...fields,
    // GitLab keeps what it had when the new value is absent (`assign_attributes` of the optional params sent).
    target_url: fields.target_url ?? existing?.target_url ?? null,
    description: fields.description ?? existing?.description ?? null,
    status,
  };
  if (status === "running") job.started_at ??= at;
  if (FINISHED.includes(status)) job.finished_at = at;
  if (existing) jobs.splice(jobs.indexOf(existing), 1, job);
  else jobs.push(job);
  return { ok: true, job };
}

/**
 * GitLab's status list: newest first; unless `all`, only the latest of each name and ref (a status's pipeline is per
 * ref, and GitLab counts the older ones of a name in it as retried).
 */
export function listStatuses(
  jobs: StatusJob[],
  filter: { projectId: number; sha: string; ref?: string; name?: string; all?: boolean },
): StatusJob[] {
  const found = jobs
    .filter(
      (j) =>
        j.projectId === filter.projectId &&
        j.sha === filter.sha &&
        (!filter.ref || j.ref === filter.ref) &&
        (!filter.name || j.name === filter.name),
    )
    .sort((a, b) => b.id - a.id);
  return filter.all
    ? found
    : found.filter((j, i) => found.findIndex((o) => o.name === j.name && o.ref === j.ref) === i);
}

// The state_machines gem's InvalidTransition text, as GitLab's API returns it (spec/requests/api/commit_statuses_spec.rb).
function refusal(event: string, from: StatusState): string {
  return `Cannot transition status via :${event} from :${from} (Reason(s): Status cannot transition via "${event}")`;
}
