import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { VISIBILITY_LEVEL, type GitlabProject } from "./projects.js";

/** The system-hook project events gitlab-event handles (docs.gitlab.com, "System hooks"). */
export type ProjectEventKind = "project_update" | "project_destroy" | "project_rename" | "project_transfer";
/** A hook delivery as GitLab sends it, minus `X-Gitlab-Token` (the caller adds its secret). */
export type HookDelivery = { headers: Record<string, string>; body: Record<string, unknown> };
/** What {@link createPayloads} needs: the instance, GitLab's version for User-Agent, and the clock. */
export type PayloadContext = { url: string; version: string; now: () => number };

const execFileAsync = promisify(execFile);
const FIXTURES = fileURLToPath(new URL("../../test/fixtures/gitlab/", import.meta.url));
const ZERO_SHA = "0".repeat(40);
// GitLab puts at most 20 commits in a push payload; total_commits_count says how many there were.
const MAX_COMMITS = 20;
const GIT_ENV = { PATH: process.env.PATH ?? "/usr/bin:/bin", GIT_CONFIG_NOSYSTEM: "1", GIT_CONFIG_GLOBAL: "/dev/null" };

type Json = Record<string, unknown>;
type Commit = {
  id: string;
  message: string;
  title: string;
  timestamp: string;
  author: { name: string; email: string };
  added: string[];
  modified: string[];
  removed: string[];
};

/**
 * Builds GitLab's documented hook payloads (test/fixtures/gitlab/, copied from docs.gitlab.com) for a stand-in
 * project: every field naming the project, its repository or the push is replaced, the rest stays as documented, and
 * no key is added that the documented example lacks (except `project.id` in the system hook's push, see below).
 */
export function createPayloads(context: PayloadContext) {
  const fixtures = {
    systemPush: load("system-push.json"),
    projectPush: load("project-push.json"),
    project_update: load("system-project-update.json"),
    project_destroy: load("system-project-destroy.json"),
    project_rename: load("system-project-rename.json"),
    project_transfer: load("system-project-transfer.json"),
  };
  // One hook per kind, as an instance with one system hook and one project hook would have.
  const webhookIds = { system: randomUUID(), project: randomUUID() };

  const headers = (hook: "system" | "project"): Record<string, string> => ({
    "Content-Type": "application/json",
    "User-Agent": `GitLab/${context.version}`,
    "X-Gitlab-Event": hook === "system" ? "System Hook" : "Push Hook",
    "X-Gitlab-Event-UUID": randomUUID(),
    "X-Gitlab-Webhook-UUID": webhookIds[hook],
    "X-Gitlab-Instance": context.url,
    "Idempotency-Key": randomUUID(),
  });

  async function pushEvent(
    project: GitlabProject,
    push: { before: string; after: string; ref?: string; hook?: "system" | "project" },
  ): Promise<HookDelivery> {
    const hook = push.hook ?? "system";
    const body = structuredClone(hook === "system" ? fixtures.systemPush : fixtures.projectPush);
    const web = `${context.url}/${project.pathWithNamespace}`;
    const ssh = `git@${new URL(context.url).hostname}:${project.pathWithNamespace}.git`;
    const http = `${web}.git`;
    const { commits, total } = await listCommits(project.bareDir, push.before, push.after);
    Object.assign(body, {
      before: push.before,
      after: push.after,
      ref: push.ref ?? `refs/heads/${project.defaultBranch}`,
      // GitLab sends null for a deleted branch: there is nothing to check out.
      checkout_sha: push.after === ZERO_SHA ? null : push.after,
      project_id: project.id,
      commits: commits.map((c) => commitEntry(c, web, (body.commits as Json[])[0] ?? {})),
      total_commits_count: total,
    });
    // The system hook's documented example omits project.id, but GitLab builds both hooks' push data with the same
    // builder (Gitlab::DataBuilder::Push, "the same structure" per the system hooks page), which sends it.
    body.project = fill(body.project as Json, {
      id: project.id,
      name: project.name,
      web_url: web,
      git_ssh_url: ssh,
      git_http_url: http,
      namespace: project.namespace.name,
      visibility_level: VISIBILITY_LEVEL[project.visibility],
      path_with_namespace: project.pathWithNamespace,
      default_branch: project.defaultBranch,
      homepage: web,
      url: ssh,
      ssh_url: ssh,
      http_url: http,
    });
    body.repository = fill(body.repository as Json, {
      name: project.name,
      url: ssh,
      homepage: web,
      git_http_url: http,
      git_ssh_url: ssh,
      visibility_level: VISIBILITY_LEVEL[project.visibility],
    });
    return { headers: headers(hook), body };
  }

  function projectEvent(
    kind: ProjectEventKind,
    project: GitlabProject,
    extra: { oldPathWithNamespace?: string } = {},
  ): HookDelivery {
    const body = structuredClone(fixtures[kind]);
    const moved = kind === "project_rename" || kind === "project_transfer";
    if (moved && !extra.oldPathWithNamespace)
      throw new TypeError(`[gitlab-standin] ${kind} needs oldPathWithNamespace`);
    Object.assign(body, {
      name: project.name,
      path: project.path,
      path_with_namespace: project.pathWithNamespace,
      project_id: project.id,
      project_namespace_id: project.namespace.id,
      project_visibility: project.visibility,
      updated_at: new Date(context.now()).toISOString().replace(/\.\d{3}Z$/, "Z"),
      ...(moved && { old_path_with_namespace: extra.oldPathWithNamespace }),
    });
    return { headers: headers("system"), body };
  }

  return { pushEvent, projectEvent };
}

function load(name: string): Json {
  return JSON.parse(readFileSync(FIXTURES + name, "utf8")) as Json;
}

// Sets the documented keys only, plus `id` (see pushEvent): a key the example lacks stays absent.
function fill(target: Json, values: Json): Json {
  const out: Json = { ...target };
  for (const [key, value] of Object.entries(values)) if (key in target || key === "id") out[key] = value;
  return out;
}

// A commit entry in the fixture's own keys (the system hook's lacks title and added/modified/removed).
function commitEntry(c: Commit, web: string, example: Json): Json {
  const full: Json = { ...c, url: `${web}/-/commit/${c.id}` };
  return Object.fromEntries(Object.keys(example).map((key) => [key, full[key]]));
}

// The pushed commits oldest first, as GitLab lists them: before..after, or everything reachable from after on a new
// branch; none for a deletion or a sha the repo does not have.
async function listCommits(
  bareDir: string,
  before: string,
  after: string,
): Promise<{ commits: Commit[]; total: number }> {
  if (after === ZERO_SHA || !/^[0-9a-f]{40}$/.test(after)) return { commits: [], total: 0 };
  const range = before === ZERO_SHA || !/^[0-9a-f]{40}$/.test(before) ? [after] : [`${before}..${after}`];
  try {
    const git = (args: string[]) => execFileAsync("git", args, { cwd: bareDir, env: { ...GIT_ENV, HOME: bareDir } });
    const total = Number.parseInt((await git(["rev-list", "--count", ...range, "--"])).stdout, 10);
    const format = "%H%x00%an%x00%ae%x00%aI%x00%B%x1e";
    const { stdout } = await git(["log", `-${MAX_COMMITS}`, `--format=${format}`, ...range, "--"]);
    const records = stdout
      .split("\x1e")
      .map((record) => record.replace(/^\n/, ""))
      .filter(Boolean)
      .reverse();
    const commits: Commit[] = [];
    for (const record of records) {
      const [id = "", name = "", email = "", timestamp = "", message = ""] = record.split("\x00");
      const changes = await git(["diff-tree", "-r", "--root", "--no-commit-id", "--name-status", id]);
      const files = { added: [] as string[], modified: [] as string[], removed: [] as string[] };
      for (const line of changes.stdout.split("\n").filter(Boolean)) {
        const [change = "", path = ""] = line.split("\t");
        (change === "A" ? files.added : change === "D" ? files.removed : files.modified).push(path);
      }
      commits.push({ id, message, title: message.split("\n")[0] ?? "", timestamp, author: { name, email }, ...files });
    }
    return { commits, total };
  } catch {
    return { commits: [], total: 0 };
  }
}
