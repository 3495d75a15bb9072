import { gitlabOwner, gitlabOwnerId } from "../../shared/naming.js";
import type { GitlabApi, GitlabProject } from "./gitlab-api.js";
import type { GitlabProjectEvent } from "./payloads.js";

/** A garbage-collect request (original-spec §16.4) for one GitLab project's functions, owned by its namespace's id. */
export interface GarbageRequest {
  functions: string[];
  repo: string;
  owner: string;
  ownerId: string;
}

/** What a project event asks for: one collection, or nothing, with the reason for the answer and the log. */
export type ProjectOutcome = { request: GarbageRequest; path: string } | { skip: string };

/** Whether the project opted in: the topic in `topics` or, on GitLab before 14.0, `tag_list`; case-insensitive. */
export function carriesTopic(project: Pick<GitlabProject, "topics" | "tag_list">, topic: string): boolean {
  const wanted = topic.toLowerCase();
  return [...(project.topics ?? []), ...(project.tag_list ?? [])].some((t) => t.toLowerCase() === wanted);
}

const request = (namespace: { id: number; full_path: string }, path: string): GarbageRequest => ({
  functions: [],
  repo: path.toLowerCase(),
  owner: gitlabOwner(namespace.full_path),
  // The id GitLab's API gives, never the payload's (contract §2): only what that namespace deployed is removed.
  ownerId: gitlabOwnerId(namespace.id),
});

/**
 * What to remove after a project event (contract §6): an update removes the project's functions once it no longer
 * carries the opt-in topic; a rename or transfer removes those built under the old path (the next push builds under
 * the new one); a destroy removes them all. A namespace or project GitLab no longer knows has nothing to look up.
 */
export async function projectOutcome(
  event: GitlabProjectEvent,
  api: GitlabApi,
  topic: string,
): Promise<ProjectOutcome> {
  if (event.event_name === "project_update") {
    const project = await api.project(event.project_id);
    if (!project) return { skip: `project ${event.project_id} not found in GitLab: nothing to collect` };
    if (carriesTopic(project, topic)) return { skip: `${project.path_with_namespace} still carries the topic` };
    return { request: request(project.namespace, project.path), path: project.path_with_namespace };
  }
  // Renamed and transferred projects are collected under the path they were built at.
  const path = event.event_name === "project_destroy" ? event.path_with_namespace : event.old_path_with_namespace!;
  const cut = path.lastIndexOf("/");
  const namespace = await api.namespace(path.slice(0, cut));
  if (!namespace) return { skip: `namespace of ${path} not found in GitLab: nothing to collect` };
  return { request: request(namespace, path.slice(cut + 1)), path };
}
