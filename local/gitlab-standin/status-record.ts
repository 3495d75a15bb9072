import { existsSync, readFileSync } from "node:fs";
import type { StatusJob } from "./statuses.js";

/** One accepted `POST /projects/:id/statuses/:sha`, with the state it left the status in. */
export type RecordedGitlabStatus = {
  /** The commit status's id: a pending → running → success sequence moves one status, so the id repeats. */
  id: number;
  projectId: number;
  sha: string;
  ref: string;
  name: string;
  state: StatusJob["status"];
  target_url: string | null;
  description: string | null;
  created_at: string;
};

/** The statuses recorded in a JSON-lines file, none when it does not exist yet. */
export function readRecord(file: string): RecordedGitlabStatus[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as RecordedGitlabStatus);
}

// Rebuilds each status's last state from the record, so a restarted runtime keeps GitLab's transitions.
export function restoreJobs(recorded: RecordedGitlabStatus[]): StatusJob[] {
  const byId = new Map<number, StatusJob>();
  for (const s of recorded) {
    const first = byId.get(s.id);
    byId.set(s.id, {
      id: s.id,
      projectId: s.projectId,
      sha: s.sha,
      ref: s.ref,
      name: s.name,
      status: s.state,
      target_url: s.target_url,
      description: s.description,
      created_at: first?.created_at ?? s.created_at,
      started_at: first?.started_at ?? (s.state === "running" ? s.created_at : null),
      finished_at: ["success", "failed", "canceled", "skipped"].includes(s.state) ? s.created_at : null,
    });
  }
  return [...byId.values()];
}
