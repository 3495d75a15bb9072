import { randomInt } from "node:crypto";
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { STATUS_CODES } from "node:http";
import { importSPKI } from "jose";
import { verifyAppJwt } from "./app-jwt.js";
import { createDeploymentRoutes, type RecordedDeployment } from "./deployments.js";
import { createOAuth, type OAuthOptions } from "./oauth.js";
import { startJsonServer, type JsonReply, type JsonRequest } from "./json-server.js";
import {
  validateCheckRun,
  validateStatus,
  type CheckRunFields,
  type FieldError,
  type StatusFields,
} from "./validate.js";

/** Options for {@link startGithubStandin}; `now` is epoch milliseconds, injected so tests fix the clock. */
export type GithubStandinOptions = {
  appId: number;
  publicKeyPem: string;
  installations: Array<{ id: number; account: string }>;
  now?: () => number;
  /** How long a minted installation token lives; GitHub's hour unless a test needs a shorter one. */
  tokenLifetimeMs?: number;
  /** Port on 127.0.0.1; 0 (the default) picks a free one. */
  port?: number;
  /**
   * A JSON-lines file the accepted commit statuses are appended to and read back from on start, so the local
   * runtime's record of what "GitHub" was told survives a restart.
   */
  recordFile?: string;
  /** The App's OAuth client and the users who can log in with it (issue #13); without it the OAuth routes 404. */
  oauth?: OAuthOptions;
  /**
   * The SHA at the tip of a branch, undefined for a branch (or repo) that does not exist: `GET
   * /repos/{owner}/{repo}/branches/{branch}` answers from it (issue #17's stale re-runs). Without it every branch 404s.
   */
  branchTip?: (owner: string, repo: string, branch: string) => string | undefined | Promise<string | undefined>;
};
/** One request as the stand-in saw it, accepted or not. `body` is parsed JSON, else the raw text. */
export type RecordedCall = {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: unknown;
  status: number;
};
/** A commit status the stand-in accepted. */
export type RecordedStatus = StatusFields & {
  id: number;
  owner: string;
  repo: string;
  sha: string;
  created_at: string;
};
/** One accepted create or update of a check run: the state it left the run in, and the body sent. */
export type CheckRunUpdate = { status: string; conclusion: string | null; body: unknown };
/** A check run the stand-in holds, with every accepted update merged in and recorded in order. */
export type RecordedCheckRun = CheckRunFields & { id: number; owner: string; repo: string; updates: CheckRunUpdate[] };
/** The routes `failNext` and `rateLimitNext` can break; "any" is whichever API call comes next. */
export type FailableRoute = "statuses" | "access_tokens" | "check_runs" | "branches" | "any";
/** A running stand-in and what it recorded. */
export type GithubStandin = {
  url: string;
  calls: RecordedCall[];
  statuses(filter?: { owner?: string; repo?: string; sha?: string; context?: string }): RecordedStatus[];
  checkRuns(): RecordedCheckRun[];
  /** The deployments accepted (issue #17), each with its statuses oldest first. */
  deployments(): RecordedDeployment[];
  readonly tokensIssued: number;
  /** Installation tokens minted for one installation since the start or the last reset. */
  tokensMinted(installationId: number): number;
  /** The next `times` calls of `route` get `status` (e.g. 502) instead of an answer, and change nothing. */
  failNext(route: FailableRoute, status: number, times?: number): void;
  /**
   * The next `times` calls of `route` hit GitHub's secondary rate limit: 403, `Retry-After: retryAfterS` and the
   * documented message, and change nothing (issue #16).
   */
  rateLimitNext(route: FailableRoute, retryAfterS: number, times?: number): void;
  reset(): void;
  close(): Promise<void>;
  /** Whether `token` is a live installation token of `owner`'s installation (for the git server's private repos). */
  checkToken(token: string | undefined, owner: string): boolean;
};

type Request = { params: string[]; headers: Record<string, string>; body: unknown; query?: URLSearchParams };
type Route = {
  method: string;
  pattern: RegExp;
  failable?: FailableRoute;
  handle: (req: Request) => JsonReply | Promise<JsonReply>;
};
type Installation = { id: number; account: string };

const TOKEN_LIFETIME_MS = 60 * 60 * 1000;
const TOKEN_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const NOT_FOUND: JsonReply = { status: 404, body: { message: "Not Found" } };
const BAD_CREDENTIALS: JsonReply = { status: 401, body: { message: "Bad credentials" } };
// GitHub's answer to a secondary rate limit (docs.github.com, "Rate limits for the REST API"): clients recognise it
// by "secondary rate limit" in the message, and wait the Retry-After seconds.
const SECONDARY_RATE_LIMIT = {
  message:
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to " +
    "GitHub Support for help, please include the request ID 0000:0000:0000000:0000000:00000000.",
  documentation_url: "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
};

/**
 * Starts the strict GitHub API stand-in (DESIGN §9) on 127.0.0.1, port 0. It refuses what GitHub refuses:
 * App JWTs are verified before tokens are minted, and statuses and check runs need a live installation token
 * whose account owns the repo.
 */
export async function startGithubStandin(options: GithubStandinOptions): Promise<GithubStandin> {
  const now = options.now ?? Date.now;
  const app = { appId: options.appId, publicKey: await importSPKI(options.publicKeyPem, "RS256") };
  const calls: RecordedCall[] = [];
  const statuses: RecordedStatus[] = options.recordFile ? readRecord(options.recordFile) : [];
  const checkRuns = new Map<number, RecordedCheckRun>();
  const tokens = new Map<string, { installation: Installation; expiresAt: number }>();
  const failures: Record<FailableRoute, JsonReply[]> = {
    statuses: [],
    access_tokens: [],
    check_runs: [],
    branches: [],
    any: [],
  };
  const minted = new Map<number, number>();
  let nextId = Math.max(1, ...statuses.map((s) => s.id + 1));

  const asApp = async (req: Request, then: () => JsonReply): Promise<JsonReply> => {
    const verdict = await verifyAppJwt(req.headers.authorization, app, now());
    return verdict.ok ? then() : { status: 401, body: { message: verdict.message } };
  };

  // GitHub answers 404, not 403, for a repo the token cannot see, so it does not reveal that the repo exists.
  const asInstallation = <R extends JsonReply | Promise<JsonReply>>(
    req: Request,
    then: (owner: string, repo: string) => R,
  ): JsonReply | R => {
    const token = /^(?:token|bearer)\s+(\S+)$/i.exec(req.headers.authorization ?? "")?.[1];
    const grant = token === undefined ? undefined : tokens.get(token);
    if (!grant || grant.expiresAt <= now()) return BAD_CREDENTIALS;
    const [owner = "", repo = ""] = req.params;
    if (owner.toLowerCase() !== grant.installation.account.toLowerCase()) return NOT_FOUND;
    return then(owner, repo);
  };

  const mintToken = (req: Request) =>
    asApp(req, () => {
      const installation = options.installations.find((i) => String(i.id) === req.params[0]);
      if (!installation) return NOT_FOUND;
      const token =
        "ghs_" + Array.from({ length: 36 }, () => TOKEN_ALPHABET[randomInt(TOKEN_ALPHABET.length)]).join("");
      const expiresAt = now() + (options.tokenLifetimeMs ?? TOKEN_LIFETIME_MS);
      tokens.set(token, { installation, expiresAt });
      minted.set(installation.id, (minted.get(installation.id) ?? 0) + 1);
      const permissions = { statuses: "write", checks: "write", contents: "read" };
      const expires_at = new Date(expiresAt).toISOString();
      return { status: 201, body: { token, expires_at, permissions, repository_selection: "all" } };
    });

  const createStatus = (req: Request) =>
    asInstallation(req, (owner, repo) => {
      const sha = req.params[2] ?? "";
      const result = validateStatus(sha, req.body);
      if (!result.ok) return invalid(result.errors);
      const status = { id: nextId++, owner, repo, sha, ...result.value, created_at: new Date(now()).toISOString() };
      statuses.push(status);
      if (options.recordFile) appendFileSync(options.recordFile, `${JSON.stringify(status)}\n`);
      return { status: 201, body: statusBody(status) };
    });

  const listStatuses = (req: Request) =>
    asInstallation(req, (owner, repo) => {
      const found = filterStatuses({ owner, repo, sha: req.params[2] ?? "" });
      return { status: 200, body: found.reverse().map(statusBody) };
    });

  // GitHub's combined status: the latest status of each context, and one state over them all.
  const combinedStatus = (req: Request) =>
    asInstallation(req, (owner, repo) => {
      const sha = req.params[2] ?? "";
      const latest = new Map<string, RecordedStatus>();
      for (const s of filterStatuses({ owner, repo, sha }).reverse())
        if (!latest.has(s.context)) latest.set(s.context, s);
      const states = [...latest.values()].map((s) => s.state);
      const state = states.some((s) => s === "error" || s === "failure")
        ? "failure"
        : states.length === 0 || states.includes("pending")
          ? "pending"
          : "success";
      const statuses = [...latest.values()].map(statusBody);
      return ok({ state, statuses, sha, total_count: statuses.length });
    });

  const saveCheckRun = (req: Request, id?: number) =>
    asInstallation(req, (owner, repo) => {
      const existing = id === undefined ? undefined : checkRuns.get(id);
      if (id !== undefined && (!existing || !sameRepo(existing, owner, repo))) return NOT_FOUND;
      const result = validateCheckRun(req.body, existing);
      if (!result.ok) return invalid(result.errors);
      const update = { status: result.value.status, conclusion: result.value.conclusion, body: req.body };
      const run = { ...result.value, id: id ?? nextId++, owner, repo, updates: [...(existing?.updates ?? []), update] };
      checkRuns.set(run.id, run);
      return { status: id === undefined ? 201 : 200, body: checkRunBody(run) };
    });

  // GitHub's "Get a branch" body, the fields a client reads; 404 "Branch not found" as GitHub words it.
  const getBranch = (req: Request) =>
    asInstallation(req, async (owner, repo) => {
      const branch = req.params[2] ?? "";
      const sha = await options.branchTip?.(owner, repo, branch);
      if (sha === undefined) return { status: 404, body: { message: "Branch not found" } };
      const api = `${server.url}/repos/${owner}/${repo}`;
      return ok({
        name: branch,
        commit: { sha, url: `${api}/commits/${sha}` },
        _links: {
          self: `${api}/branches/${encodeURIComponent(branch)}`,
          html: `${server.url}/${owner}/${repo}/tree/${branch}`,
        },
        protected: false,
      });
    });

  // GET /repos/{owner}/{repo}/commits/{ref}/check-runs: `check_name` picks one name; `filter=latest` (the default)
  // keeps the most recent run of each name, `all` every run.
  const listCheckRuns = (req: Request) =>
    asInstallation(req, (owner, repo) => {
      const sha = (req.params[2] ?? "").toLowerCase();
      const name = req.query?.get("check_name") ?? undefined;
      const filter = req.query?.get("filter") ?? "latest";
      if (filter !== "latest" && filter !== "all")
        return invalid([checkRunError("filter", `${filter} is not latest or all`)]);
      const found = [...checkRuns.values()]
        .filter((r) => sameRepo(r, owner, repo) && r.head_sha.toLowerCase() === sha && (!name || r.name === name))
        .sort((a, b) => b.id - a.id)
        .filter((r, i, all) => filter === "all" || all.findIndex((o) => o.name === r.name) === i);
      return ok({ total_count: found.length, check_runs: found.map(checkRunBody) });
    });

  // The Deployments API (issue #17), behind the same installation-token check as statuses.
  const deploymentApi = createDeploymentRoutes({ nextId: () => nextId++, now, apiUrl: () => server.url });

  const appBody = { id: app.appId, slug: "ofc-test", name: "ofc-test" };
  const routes: Route[] = [
    route("POST /app/installations/:id/access_tokens", mintToken, "access_tokens"),
    route("GET /app", (req) => asApp(req, () => ok(appBody))),
    route("GET /app/installations", (req) => asApp(req, () => ok(options.installations.map(installationBody)))),
    route("POST /repos/:owner/:repo/statuses/:sha", createStatus, "statuses"),
    route("GET /repos/:owner/:repo/commits/:sha/statuses", listStatuses),
    route("GET /repos/:owner/:repo/commits/:sha/status", combinedStatus),
    // A branch name may hold slashes, sent encoded (%2F) by octokit or bare.
    {
      method: "GET",
      pattern: /^\/repos\/([^/]+)\/([^/]+)\/branches\/(.+)$/,
      handle: getBranch,
      failable: "branches",
    },
    route("POST /repos/:owner/:repo/check-runs", (req) => saveCheckRun(req), "check_runs"),
    route("PATCH /repos/:owner/:repo/check-runs/:id", (req) => saveCheckRun(req, Number(req.params[2])), "check_runs"),
    route("GET /repos/:owner/:repo/commits/:sha/check-runs", listCheckRuns, "check_runs"),
    ...deploymentApi.routes.map(([method, pattern, handle]): Route => ({
      method,
      pattern,
      handle: (req: Request) => asInstallation(req, (owner, repo) => handle(owner, repo, req)),
    })),
  ];

  const oauth = options.oauth ? createOAuth(options.oauth, now) : () => undefined;
  const dispatch = async (req: JsonRequest): Promise<JsonReply> => {
    // GitHub's OAuth endpoints take form bodies, so they are answered before the JSON check.
    const oauthReply = oauth(req);
    if (oauthReply) return oauthReply;
    for (const { method, pattern, failable, handle } of routes) {
      const match = method === req.method ? pattern.exec(req.path) : null;
      if (!match) continue;
      const injected = (failable && failures[failable].shift()) ?? failures.any.shift();
      if (injected) return injected;
      if (req.malformed) return { status: 400, body: { message: "Problems parsing JSON" } };
      const params = match.slice(1).map(decodeSegment);
      return handle({ params, headers: req.headers, body: req.body, query: req.query });
    }
    return NOT_FOUND;
  };

  // Every call is recorded with the status it got, refused ones included: tests assert on both.
  const server = await startJsonServer(
    async (req) => {
      let reply: JsonReply;
      try {
        reply = await dispatch(req);
      } catch (error) {
        reply = { status: 500, body: { message: `github stand-in fault: ${String(error)}` } };
      }
      calls.push({ method: req.method, path: req.path, headers: req.headers, body: req.body, status: reply.status });
      return reply;
    },
    now,
    options.port,
  );

  function filterStatuses(filter: { owner?: string; repo?: string; sha?: string; context?: string } = {}) {
    return statuses.filter(
      (s) =>
        (filter.owner === undefined || filter.owner.toLowerCase() === s.owner.toLowerCase()) &&
        (filter.repo === undefined || filter.repo.toLowerCase() === s.repo.toLowerCase()) &&
        (filter.sha === undefined || filter.sha.toLowerCase() === s.sha.toLowerCase()) &&
        (filter.context === undefined || filter.context === s.context),
    );
  }

  return {
    url: server.url,
    calls,
    statuses: filterStatuses,
    checkRuns: () => [...checkRuns.values()],
    deployments: deploymentApi.deployments,
    get tokensIssued() {
      return [...minted.values()].reduce((sum, n) => sum + n, 0);
    },
    tokensMinted: (installationId) => minted.get(installationId) ?? 0,
    failNext(route, status, times = 1) {
      const reply = { status, body: { message: STATUS_CODES[status] ?? "Injected failure" } };
      failures[route].push(...Array<JsonReply>(times).fill(reply));
    },
    rateLimitNext(route, retryAfterS, times = 1) {
      const reply = { status: 403, headers: { "retry-after": String(retryAfterS) }, body: SECONDARY_RATE_LIMIT };
      failures[route].push(...Array<JsonReply>(times).fill(reply));
    },
    // Clears recordings and pending failures; minted tokens stay valid, as they would on GitHub.
    checkToken(token, owner) {
      const grant = token === undefined ? undefined : tokens.get(token);
      return (
        grant !== undefined &&
        grant.expiresAt > now() &&
        grant.installation.account.toLowerCase() === owner.toLowerCase()
      );
    },
    reset() {
      calls.length = 0;
      statuses.length = 0;
      checkRuns.clear();
      deploymentApi.reset();
      for (const queue of Object.values(failures)) queue.length = 0;
      minted.clear();
    },
    close: server.close,
  };
}

// ":name" segments become capture groups, in order, so handlers read `params` positionally.
function route(spec: string, handle: Route["handle"], failable?: FailableRoute): Route {
  const [method = "", path = ""] = spec.split(" ");
  const pattern = new RegExp(`^${path.replace(/:[a-z]+/g, "([^/]+)")}$`);
  return { method, pattern, failable, handle };
}

function decodeSegment(segment: string | undefined): string {
  try {
    return decodeURIComponent(segment ?? "");
  } catch {
    return segment ?? "";
  }
}

function ok(body: unknown): JsonReply {
  return { status: 200, body };
}

function invalid(errors: FieldError[]): JsonReply {
  return { status: 422, body: { message: "Validation Failed", errors } };
}

function sameRepo(run: RecordedCheckRun, owner: string, repo: string): boolean {
  return run.owner.toLowerCase() === owner.toLowerCase() && run.repo.toLowerCase() === repo.toLowerCase();
}

function statusBody(s: RecordedStatus) {
  const { id, state, description, context, target_url, created_at } = s;
  return { id, state, description, context, target_url, created_at };
}

function checkRunBody(r: RecordedCheckRun) {
  const { id, name, head_sha, status, conclusion, details_url, started_at, completed_at } = r;
  const output = r.output && { ...r.output, annotations_count: r.annotations.length };
  return { id, name, head_sha, status, conclusion, output, details_url, started_at, completed_at };
}

function checkRunError(field: string, message: string): FieldError {
  return { resource: "CheckRun", field, code: "invalid", message };
}

function installationBody(i: Installation) {
  return { id: i.id, account: { login: i.account }, repository_selection: "all" };
}

function readRecord(file: string): RecordedStatus[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as RecordedStatus);
}
