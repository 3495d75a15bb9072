import { appendFileSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { branchTipIn, createGitHandler, initRepo, type GitRepo } from "../git-server/git-server.js";
import { listen } from "../listen.js";
import { decodeSegment, flattenHeaders, paginate, parseInput, readBody, type Reply } from "./api-input.js";
import { createDeployToken, deployTokenBody, isLive, type DeployToken } from "./deploy-tokens.js";
import { createPayloads, type HookDelivery, type ProjectEventKind } from "./payloads.js";
import {
  findByIdOrPath,
  namespaceBody,
  projectBody,
  splitFullPath,
  type GitlabNamespace,
  type GitlabProject,
} from "./projects.js";
import { branchBody, branchesContaining, git } from "./repository.js";
import { readRecord, restoreJobs, type RecordedGitlabStatus } from "./status-record.js";
import { listStatuses, postStatus, POSTED_STATES, type StatusJob } from "./statuses.js";

export type { DeployToken, GitlabNamespace, GitlabProject, HookDelivery, ProjectEventKind, RecordedGitlabStatus };

/** Options for {@link startGitlabStandin}; `now` is epoch milliseconds, injected so tests fix the clock. */
export type GitlabStandinOptions = {
  /** The one API token (`PRIVATE-TOKEN` or `Authorization: Bearer`) every `/api/v4` call must carry. */
  token: string;
  /** Port on 127.0.0.1; 0 (the default) picks a free one. */
  port?: number;
  /** JSON-lines file the accepted commit statuses are appended to and read back from on start. */
  recordFile?: string;
  /** Folder for the served repos; a temp folder (removed on close) by default. */
  root?: string;
  now?: () => number;
  /** The version in hooks' `User-Agent: GitLab/<version>`. */
  version?: string;
};
/** One API request as the stand-in saw it, accepted or not. */
export type RecordedGitlabCall = { method: string; path: string; headers: Record<string, string>; status: number };
/** What createProject takes: the project's full path (`group/sub/project`) and what GitLab would know of it. */
export type CreateProjectOptions = {
  fullPath: string;
  id?: number;
  /** The id of the project's own namespace (the last group, or the user); made up when absent. */
  namespaceId?: number;
  /** "user" makes a one-segment namespace a user's; groups otherwise. */
  namespaceKind?: "user" | "group";
  topics?: string[];
  visibility?: GitlabProject["visibility"];
  defaultBranch?: string;
};
/** A running GitLab stand-in: API under `${url}/api/v4`, git at `${url}/<full path>.git`. */
export type GitlabStandin = {
  url: string;
  calls: RecordedGitlabCall[];
  createProject(options: CreateProjectOptions): Promise<{ project: GitlabProject; repo: GitRepo }>;
  createNamespace(options: { fullPath: string; id?: number; kind?: "user" | "group" }): GitlabNamespace;
  project(idOrPath: number | string): GitlabProject | undefined;
  setTopics(projectId: number, topics: string[]): void;
  setVisibility(projectId: number, visibility: GitlabProject["visibility"]): void;
  /** Removes a project as GitLab's deletion does: the API answers 404 and its repo is no longer served. */
  deleteProject(projectId: number): void;
  statuses(filter?: { projectId?: number; sha?: string; name?: string }): RecordedGitlabStatus[];
  deployTokens(projectId: number): DeployToken[];
  /** Revokes a deploy token as GitLab's settings page does (it stays listed, `revoked: true`). */
  revokeDeployToken(tokenId: number): void;
  /** GitLab's documented push payload for the project (system hook unless `hook: "project"`), with its headers. */
  pushEvent(
    project: GitlabProject | number,
    push: { before: string; after: string; ref?: string; hook?: "system" | "project" },
  ): Promise<HookDelivery>;
  /** GitLab's documented system-hook project event for the project, with its headers. */
  projectEvent(
    kind: ProjectEventKind,
    project: GitlabProject | number,
    extra?: { oldPathWithNamespace?: string },
  ): HookDelivery;
  reset(): void;
  close(): Promise<void>;
};

type ApiRequest = { params: string[]; input: Record<string, unknown> };
type Route = [method: string, pattern: RegExp, handle: (req: ApiRequest) => Reply | Promise<Reply>];

// GitLab's own texts: unauthorized!/not_found!(resource) render `message`; an unmatched route is Grape's error!.
const UNAUTHORIZED: Reply = { status: 401, body: { message: "401 Unauthorized" } };
const ROUTE_NOT_FOUND: Reply = { status: 404, body: { error: "404 Not Found" } };
const notFound = (what: string): Reply => ({ status: 404, body: { message: `404 ${what} Not Found` } });
const badParam = (error: string): Reply => ({ status: 400, body: { error } });
// A commit-ish the API may be given: no leading `-` (never an option to git), no revision operators beyond names.
const COMMITISH = /^[A-Za-z0-9_][A-Za-z0-9_./-]{0,254}$/;

/**
 * Starts the strict GitLab stand-in (contract §9) on 127.0.0.1: the API routes GitLab has for what OpenFaaS Cloud
 * calls, with GitLab's bodies, errors and commit-status state machine, and git smart HTTP for its projects, where a
 * private or internal project reads only with a live `read_repository` deploy token of that very project. It is
 * stricter than GitLab where that catches client bugs: every API call needs the token, even on a public project.
 */
export async function startGitlabStandin(options: GitlabStandinOptions): Promise<GitlabStandin> {
  const now = options.now ?? Date.now;
  const ownRoot = options.root === undefined;
  const root = options.root ?? (await mkdtemp(join(tmpdir(), "gitlab-standin-")));
  await mkdir(root, { recursive: true });
  // Authoring clones sit in a dot folder, which no GitLab path segment can name, so git never serves them.
  const work = join(root, ".work");
  await rm(work, { recursive: true, force: true });

  const projects = new Map<number, GitlabProject>();
  const namespaces = new Map<number, GitlabNamespace>();
  const tokens = new Map<number, DeployToken>();
  const calls: RecordedGitlabCall[] = [];
  const recorded: RecordedGitlabStatus[] = options.recordFile ? readRecord(options.recordFile) : [];
  const jobs: StatusJob[] = restoreJobs(recorded);
  const ids = {
    // Distinct ranges, so a test that sends a namespace id where a project id belongs fails instead of passing.
    namespace: 100,
    project: 1000,
    token: 0,
    status: Math.max(0, ...recorded.map((s) => s.id)),
  };
  const iso = () => new Date(now()).toISOString();

  const findProject = (param: string) => findByIdOrPath(projects.values(), param, (p) => p.pathWithNamespace);

  const withProject = (req: ApiRequest, then: (p: GitlabProject) => Reply | Promise<Reply>) => {
    const project = findProject(req.params[0] ?? "");
    return project ? then(project) : notFound("Project");
  };

  // Resolves what the API was given as a commit to its full SHA, undefined when the repo has no such commit.
  const resolveCommit = async (project: GitlabProject, sha: string): Promise<string | undefined> => {
    if (!COMMITISH.test(sha)) return undefined;
    try {
      return (await git(project.bareDir, ["rev-parse", "--verify", "--quiet", `${sha}^{commit}`])).trim() || undefined;
    } catch {
      return undefined;
    }
  };

  const createStatus = (req: ApiRequest) =>
    withProject(req, async (project) => {
      const { input } = req;
      const state = input.state;
      if (state === undefined || state === null || state === "") return badParam("state is missing");
      if (typeof state !== "string" || !(POSTED_STATES as readonly string[]).includes(state))
        return badParam("state does not have a valid value");
      const sha = await resolveCommit(project, req.params[1] ?? "");
      if (!sha) return notFound("Commit");
      // Without a ref GitLab takes the first branch holding the commit (Ci::CreateCommitStatusService#ref).
      const ref = text(input.ref) ?? (await branchesContaining(project, sha))[0];
      if (!ref) return notFound("References for commit");
      const result = postStatus(
        jobs,
        {
          projectId: project.id,
          sha,
          ref,
          name: text(input.name) ?? text(input.context) ?? "default",
          target_url: text(input.target_url) ?? null,
          description: text(input.description) ?? null,
          state,
        },
        { id: () => ++ids.status, now: iso() },
      );
      if (!result.ok) return { status: 400, body: { message: result.message } };
      const { job } = result;
      const entry: RecordedGitlabStatus = {
        id: job.id,
        projectId: job.projectId,
        sha: job.sha,
        ref: job.ref,
        name: job.name,
        state: job.status,
        target_url: job.target_url,
        description: job.description,
        created_at: iso(),
      };
      recorded.push(entry);
      if (options.recordFile) appendFileSync(options.recordFile, `${JSON.stringify(entry)}\n`);
      return { status: 201, body: statusBody(job) };
    });

  const getStatuses = (req: ApiRequest) =>
    withProject(req, async (project) => {
      const sha = await resolveCommit(project, req.params[1] ?? "");
      if (!sha) return notFound("Commit");
      const { ref, name, all } = req.input;
      const found = listStatuses(jobs, {
        projectId: project.id,
        sha,
        ref: text(ref),
        name: text(name),
        all: all === true || all === "true",
      });
      return paginate(found.map(statusBody), req.input);
    });

  const getBranch = (req: ApiRequest) =>
    withProject(req, async (project) => {
      const name = req.params[1] ?? "";
      const sha = await branchTipIn(project.bareDir, name);
      if (!sha) return notFound("Branch");
      return { status: 200, body: await branchBody(project, name, sha) };
    });

  const createToken = (req: ApiRequest) =>
    withProject(req, (project) => {
      const result = createDeployToken(req.input, project.id, ids.token + 1);
      if (!result.ok) return { status: 400, body: result.body };
      ids.token += 1;
      tokens.set(result.token.id, result.token);
      return { status: 201, body: deployTokenBody(result.token, now()) };
    });

  const deleteToken = (req: ApiRequest) =>
    withProject(req, (project) => {
      const token = tokens.get(Number(req.params[1]));
      // ActiveRecord::RecordNotFound, as GitLab's API renders it.
      if (!token || token.deleted || token.projectId !== project.id)
        return { status: 404, body: { message: "404 Not found" } };
      token.deleted = true;
      return { status: 204 };
    });

  const routes: Route[] = [
    ["GET", /^\/projects\/([^/]+)$/, (req) => withProject(req, (p) => ({ status: 200, body: projectBody(p, url()) }))],
    [
      "GET",
      /^\/namespaces\/([^/]+)$/,
      (req) => {
        const ns = findByIdOrPath(namespaces.values(), req.params[0] ?? "", (n) => n.full_path);
        return ns ? { status: 200, body: namespaceBody(ns, url()) } : notFound("Namespace");
      },
    ],
    ["POST", /^\/projects\/([^/]+)\/statuses\/([^/]+)$/, createStatus],
    ["GET", /^\/projects\/([^/]+)\/repository\/commits\/([^/]+)\/statuses$/, getStatuses],
    // A branch name may hold slashes, sent encoded (%2F) as GitLab's docs ask, or bare.
    ["GET", /^\/projects\/([^/]+)\/repository\/branches\/(.+)$/, getBranch],
    ["POST", /^\/projects\/([^/]+)\/deploy_tokens$/, createToken],
    ["DELETE", /^\/projects\/([^/]+)\/deploy_tokens\/([0-9]+)$/, deleteToken],
  ];

  const authorized = (headers: Record<string, string>) =>
    headers["private-token"] === options.token || headers.authorization === `Bearer ${options.token}`;

  const dispatch = async (method: string, target: URL, path: string, headers: Record<string, string>, raw: string) => {
    if (!authorized(headers)) return UNAUTHORIZED;
    for (const [routeMethod, pattern, handle] of routes) {
      const match = routeMethod === method ? pattern.exec(path) : null;
      if (!match) continue;
      const input = parseInput(target.searchParams, raw, headers["content-type"]);
      if (!input) return { status: 400, body: { error: "The request body is not valid JSON" } };
      return handle({ params: match.slice(1).map(decodeSegment), input });
    }
    return ROUTE_NOT_FOUND;
  };

  // Git reads: public projects for anyone; the others only with a live read_repository deploy token of that project.
  const gitHandler = createGitHandler(
    root,
    ({ owner, repo, username, password }) => {
      const project = findProject(`${owner}/${repo}`);
      if (!project) return false;
      if (project.visibility === "public") return true;
      return [...tokens.values()].some(
        (t) =>
          t.projectId === project.id &&
          t.username === username &&
          t.token === password &&
          t.scopes.includes("read_repository") &&
          isLive(t, now()),
      );
    },
    { nested: true, realm: "GitLab" },
  );

  const server = createServer((req, res) => {
    const target = new URL(req.url ?? "/", "http://gitlab.invalid");
    const path = target.pathname.replace(/^\/api\/v4(?=\/|$)/, "");
    if (path !== target.pathname) {
      serveApi(req, res, target, path).catch(() => res.destroy());
      return;
    }
    // Nothing is ever pushed to the stand-in over HTTP: tests author commits through GitRepo.
    if (target.pathname.endsWith("/git-receive-pack") || target.searchParams.get("service") === "git-receive-pack") {
      res.writeHead(403, { "Content-Type": "text/plain" }).end("You are not allowed to push code to this project.\n");
      return;
    }
    if (!gitHandler(req, res)) res.writeHead(404, { "Content-Type": "text/plain" }).end("Not Found\n");
  });

  async function serveApi(req: IncomingMessage, res: ServerResponse, target: URL, path: string): Promise<void> {
    const raw = await readBody(req);
    const headers = flattenHeaders(req);
    const method = req.method ?? "GET";
    let reply: Reply;
    try {
      reply = await dispatch(method, target, path, headers, raw);
    } catch (error) {
      reply = { status: 500, body: { message: `gitlab stand-in fault: ${String(error)}` } };
    }
    calls.push({ method, path, headers, status: reply.status });
    if (reply.body === undefined) res.writeHead(reply.status, reply.headers).end();
    else
      res
        .writeHead(reply.status, { "Content-Type": "application/json", ...reply.headers })
        .end(JSON.stringify(reply.body));
  }

  await listen(server, options.port ?? 0);
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const url = () => base;
  const payloads = createPayloads({ url: base, version: options.version ?? "18.0.0", now });

  const createNamespace = (ns: { fullPath: string; id?: number; kind?: "user" | "group" }): GitlabNamespace => {
    const segments = splitFullPath(ns.fullPath, 1);
    let parent: GitlabNamespace | undefined;
    for (let i = 0; i < segments.length; i++) {
      const fullPath = segments.slice(0, i + 1).join("/");
      const last = i === segments.length - 1;
      const existing = findByIdOrPath(namespaces.values(), fullPath, (n) => n.full_path);
      if (existing) {
        if (last && ns.id !== undefined && existing.id !== ns.id)
          throw new TypeError(`[gitlab-standin] namespace ${fullPath} already has id ${existing.id}`);
        parent = existing;
        continue;
      }
      const id = last && ns.id !== undefined ? ns.id : ++ids.namespace;
      if (namespaces.has(id)) throw new TypeError(`[gitlab-standin] namespace id ${id} is taken`);
      const path = segments[i] ?? "";
      // Only a top-level namespace can be a user's; a subgroup is always a group.
      const kind = i === 0 && segments.length === 1 && ns.kind === "user" ? "user" : "group";
      const created: GitlabNamespace = {
        id,
        name: path,
        path,
        kind,
        full_path: fullPath,
        parent_id: parent?.id ?? null,
      };
      namespaces.set(id, created);
      parent = created;
    }
    return parent as GitlabNamespace;
  };

  const liveProject = (project: GitlabProject | number): GitlabProject => {
    const found = projects.get(typeof project === "number" ? project : project.id);
    if (!found) throw new TypeError(`[gitlab-standin] unknown project ${JSON.stringify(project)}`);
    return found;
  };

  return {
    url: base,
    calls,
    async createProject(p) {
      const segments = splitFullPath(p.fullPath, 2);
      if (findProject(p.fullPath)) throw new TypeError(`[gitlab-standin] project ${p.fullPath} exists`);
      const id = p.id ?? ++ids.project;
      if (projects.has(id)) throw new TypeError(`[gitlab-standin] project id ${id} is taken`);
      const namespace = createNamespace({
        fullPath: segments.slice(0, -1).join("/"),
        id: p.namespaceId,
        kind: p.namespaceKind,
      });
      const path = segments[segments.length - 1] ?? "";
      const fullPath = `${namespace.full_path}/${path}`;
      const bareDir = join(root, `${fullPath}.git`);
      const repo = await initRepo(bareDir, join(work, fullPath));
      const defaultBranch = p.defaultBranch ?? "master";
      if (defaultBranch !== "master") await git(bareDir, ["symbolic-ref", "HEAD", `refs/heads/${defaultBranch}`]);
      const project: GitlabProject = {
        id,
        name: path,
        path,
        pathWithNamespace: fullPath,
        namespace,
        topics: [...(p.topics ?? [])],
        visibility: p.visibility ?? "private",
        defaultBranch,
        createdAt: iso(),
        bareDir,
      };
      projects.set(id, project);
      return { project, repo };
    },
    createNamespace,
    project: (idOrPath) => (typeof idOrPath === "number" ? projects.get(idOrPath) : findProject(idOrPath)),
    setTopics(projectId, topics) {
      liveProject(projectId).topics = [...topics];
    },
    setVisibility(projectId, visibility) {
      liveProject(projectId).visibility = visibility;
    },
    deleteProject(projectId) {
      projects.delete(liveProject(projectId).id);
    },
    statuses: (filter = {}) =>
      recorded.filter(
        (s) =>
          (filter.projectId === undefined || s.projectId === filter.projectId) &&
          (filter.sha === undefined || s.sha === filter.sha.toLowerCase()) &&
          (filter.name === undefined || s.name === filter.name),
      ),
    deployTokens: (projectId) => [...tokens.values()].filter((t) => t.projectId === projectId).map((t) => ({ ...t })),
    revokeDeployToken(tokenId) {
      const token = tokens.get(tokenId);
      if (!token) throw new TypeError(`[gitlab-standin] unknown deploy token ${tokenId}`);
      token.revoked = true;
    },
    pushEvent: (project, push) => payloads.pushEvent(liveProject(project), push),
    projectEvent: (kind, project, extra) => payloads.projectEvent(kind, liveProject(project), extra),
    // Clears recordings (calls, statuses) and the statuses' states; projects and tokens stay, as they would on GitLab.
    reset() {
      calls.length = 0;
      recorded.length = 0;
      jobs.length = 0;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((done, fail) => server.close((error) => (error ? fail(error) : done())));
      await rm(work, { recursive: true, force: true });
      if (ownRoot) await rm(root, { recursive: true, force: true });
    },
  };
}

function statusBody(job: StatusJob) {
  const { id, sha, ref, status, name, target_url, description, created_at, started_at, finished_at } = job;
  return {
    id,
    sha,
    ref,
    status,
    name,
    target_url,
    description,
    created_at,
    started_at,
    finished_at,
    allow_failure: false,
    coverage: null,
  };
}

function text(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}
