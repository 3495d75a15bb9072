import { promises as fsp } from "node:fs";
import { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import { join, resolve } from "node:path";
import git, { type FsClient } from "isomorphic-git";
import http, { type HttpClient } from "isomorphic-git/http/node";
import type { Logger } from "pino";
import { HttpError } from "../../shared/http-error.js";
import { isInside } from "../../shared/repo-path.js";
import { untilAborted } from "./abort.js";
import { checkoutSparse, type Sparse } from "./sparse.js";

/** What to clone, where, and how much it may cost. `dir` is the caller's: it creates and removes it. */
export type CloneOptions = {
  url: string;
  sha: string;
  branch: string;
  dir: string;
  /** The password of basic auth (GitHub's installation token, GitLab's deploy token); anonymous without it. */
  token?: string;
  /** Its user name: `x-access-token` (GitHub) unless given (a GitLab deploy token's own, issue #19). */
  username?: string;
  maxBytes: number;
  depth?: number;
  log?: Logger;
  /** Stops the clone: requests in flight are cut (the git host sees the connection close) and file writes fail. */
  signal?: AbortSignal;
  /** Check out only these paths (issue #16, sparse.ts); the whole tree without it. */
  sparse?: Sparse;
};
/** The branch tip as fetched (to tell a superseded push) and the bytes charged against `maxBytes`. */
export type CloneResult = { tip: string; bytes: number };

const DEFAULT_DEPTH = 10;
const MAX_DEPTH = 1000;
// Checkout inflates each blob in memory before writing it; batches bound how many are in flight at once.
const CHECKOUT_BATCH = 16;

// isomorphic-git prints each file a checkout could not write to console.error, stack and all, with no option to turn
// it off: a clone cut short by the budget or the caller printed dozens of such lines into git-tar's log. The same
// reasons reach git-tar in the MultipleGitError the checkout throws (logged once, as the build's error), so only
// these lines are dropped; everything else on console.error passes through.
const consoleError = console.error.bind(console);
console.error = (...args: unknown[]) => {
  if (typeof args[0] === "string" && /^\[isomorphic-git [^\]]+\] task rejected:/.test(args[0])) return;
  consoleError(...args);
};
const SHA = /^[0-9a-f]{40}$/;
const MIB = 1024 * 1024;

type Budget = { used: number; exceeded: boolean; check(): void; charge(bytes: number): void };
type FsCall = (path: string, ...rest: unknown[]) => Promise<unknown>;

/** Where git-tar clones `owner/repo` from: always the configured git host, never a URL a payload names (issue #10). */
export function repositoryUrl(gitHost: string, owner: string, repo: string): string {
  return `${gitHost.replace(/\/+$/, "")}/${encodeURIComponent(owner)}/${encodeURIComponent(repo)}.git`;
}

/**
 * Where git-tar clones a GitLab project from (issue #19): `<gitlab_url>/<path_with_namespace>.git` on the configured
 * instance only. Each segment is encoded, so the path (validated by the build request) cannot leave the project.
 */
export function gitlabRepositoryUrl(gitlabUrl: string, fullName: string): string {
  return `${gitlabUrl.replace(/\/+$/, "")}/${fullName.split("/").map(encodeURIComponent).join("/")}.git`;
}

/**
 * Checks out commit `sha` of `branch` from `url` into `dir`, detached: a shallow clone, deepened until the
 * commit turns up. One `maxBytes` budget covers the bytes received over HTTP (the pack, held in memory by
 * isomorphic-git) plus the working tree written on checkout, so neither a big pack nor a small pack that
 * inflates to gigabytes gets through. Every request goes to `url`'s origin, redirects are not followed, so the
 * token reaches no other host. Refusals are `HttpError`s; the token never appears in one. Once `signal` aborts,
 * it rejects with the signal's reason.
 */
export async function cloneAt(options: CloneOptions): Promise<CloneResult> {
  const { url, sha, branch, dir, token, username = "x-access-token", maxBytes, log, signal } = options;
  if (!SHA.test(sha)) throw new HttpError(400, `commit ${JSON.stringify(sha)} is not a 40-character hex SHA`);
  signal?.throwIfAborted();
  // One controller cuts the HTTP requests and the file writes, whether the budget ran out or the caller gave up.
  const controller = new AbortController();
  const stop = () => controller.abort(signal?.reason);
  signal?.addEventListener("abort", stop, { once: true });
  const budget = createBudget(maxBytes, () => controller.abort());
  const fs = meteredFs(dir, budget, controller.signal);
  const onAuth = token === undefined ? undefined : () => ({ username, password: token });
  // Node's global agents time a socket out after 5 s of silence, and simple-get then aborts the request: a git host
  // still packing a big repository is not dead. The budget and the signal bound the clone instead.
  const agent =
    new URL(url).protocol === "https:" ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });
  const http = meteredHttp(budget, controller.signal, new URL(url).origin, agent);
  const remote = { fs, http, dir, cache: {}, onAuth };
  const notOnBranch = () =>
    new HttpError(400, `commit ${sha.slice(0, 7)} is not on branch ${branch} (force-pushed or deleted)`);
  let phase: "fetch" | "checkout" = "fetch";
  try {
    let depth = options.depth ?? DEFAULT_DEPTH;
    await git.clone({ ...remote, url, ref: branch, singleBranch: true, depth, noCheckout: true, noTags: true });
    while (!(await hasCommit(remote, sha))) {
      if (depth >= MAX_DEPTH || !(await isShallow(dir))) throw notOnBranch();
      log?.debug({ sha, branch, depth }, "commit not in the shallow clone: deepening");
      // Relative: fetch `depth` more commits below the current shallow boundary, doubling what we hold.
      await git.fetch({ ...remote, ref: branch, singleBranch: true, depth, relative: true, tags: false });
      depth *= 2;
    }
    phase = "checkout";
    const checkout = (filepaths?: string[]) =>
      git.checkout({ ...remote, ref: sha, force: true, nonBlocking: true, batchSize: CHECKOUT_BATCH, filepaths });
    await checkoutSparse(remote, sha, options.sparse, checkout);
    const tip = await git.resolveRef({ fs, dir, ref: `refs/remotes/origin/${branch}` });
    log?.debug({ sha, branch, tip, bytes: budget.used }, "checked out");
    return { tip, bytes: budget.used };
  } catch (error) {
    // isomorphic-git may wrap the abort in its own error: the caller's signal says why the clone stopped.
    if (signal?.aborted) throw signal.reason;
    throw refusal(error, { budget, maxBytes, url, phase, notOnBranch });
  } finally {
    signal?.removeEventListener("abort", stop);
    agent.destroy();
  }
}

/** Maps what went wrong to the caller's `HttpError`; local faults (disk, bugs) pass through as they are. */
function refusal(
  error: unknown,
  context: { budget: Budget; maxBytes: number; url: string; phase: string; notOnBranch: () => HttpError },
): unknown {
  // isomorphic-git wraps, or logs and replaces, errors thrown inside it: the budget's own flag is the truth.
  if (context.budget.exceeded) {
    const limit = Number((context.maxBytes / MIB).toFixed(1));
    return new HttpError(400, `repository is larger than the ${limit} MB limit`);
  }
  if (error instanceof HttpError || context.phase !== "fetch") return error;
  const where = `unable to clone ${withoutCredentials(context.url)}`;
  const { code, data, message } = error as { code?: string; data?: { statusCode?: number }; message?: string };
  const status = data?.statusCode;
  // 403, not 401: our caller did authenticate to us; the git host refused the installation token we hold.
  if (code === "HttpError" && (status === 401 || status === 403))
    return new HttpError(403, `${where}: authentication refused`);
  if (code === "HttpError") return new HttpError(502, `${where}: HTTP ${status}`, { cause: error });
  // The server advertised no such branch: it was deleted after the push.
  if (code === "NotFoundError") return context.notOnBranch();
  return new HttpError(502, `${where}: ${message ?? String(error)}`, { cause: error });
}

function createBudget(maxBytes: number, onExceeded: () => void): Budget {
  const budget: Budget = {
    used: 0,
    exceeded: false,
    check() {
      if (budget.exceeded) throw new Error("clone size budget exceeded");
    },
    charge(bytes) {
      budget.check();
      budget.used += bytes;
      if (budget.used <= maxBytes) return;
      budget.exceeded = true;
      onExceeded();
      budget.check();
    },
  };
  return budget;
}

/**
 * isomorphic-git's HTTP client, confined to `origin` (no other host, no redirects: the token goes nowhere else),
 * with every response body charged to the budget as it streams in and every wait cut short by `signal`.
 */
function meteredHttp(budget: Budget, signal: AbortSignal, origin: string, agent: HttpAgent): HttpClient {
  async function* metered(body: AsyncIterableIterator<Uint8Array>): AsyncIterableIterator<Uint8Array> {
    const chunks = body[Symbol.asyncIterator]();
    try {
      for (;;) {
        // A stalled server sends nothing: waiting for the next chunk must end when the signal does.
        const next = await untilAborted(chunks.next(), signal);
        if (next.done) return;
        budget.charge(next.value.byteLength);
        yield next.value;
      }
    } finally {
      // Destroys the response stream, closing the connection.
      await chunks.return?.();
    }
  }
  return {
    async request(request) {
      const target = new URL(request.url).origin;
      if (target !== origin) throw new Error(`refusing to fetch from ${target}: clones come from ${origin} only`);
      const response = await untilAborted(
        http.request({ ...request, agent, signal, fetchOptions: { followRedirects: false } }),
        signal,
      );
      return response.body ? { ...response, body: metered(response.body) } : response;
    },
  };
}

/**
 * Node's fs for isomorphic-git, refusing writes outside `dir` and charging working-tree writes to the budget
 * (the pack in `.git` was already charged as it arrived). Once the budget is spent or the clone is stopped, only
 * removal still works.
 */
function meteredFs(dir: string, budget: Budget, signal: AbortSignal) {
  const gitdir = join(dir, ".git");
  const inside = (path: string) => {
    if (!isInside(dir, resolve(path))) throw new Error(`refusing to touch ${path}: it is outside ${dir}`);
  };
  const charge = (path: string, bytes: number) => {
    inside(path);
    signal.throwIfAborted();
    if (isInside(gitdir, resolve(path))) budget.check();
    else budget.charge(bytes);
  };
  const guard = (name: keyof typeof fsp, before: (path: string, rest: unknown[]) => void): FsCall => {
    const original = fsp[name] as unknown as FsCall;
    return async (path, ...rest) => {
      before(path, rest);
      return original(path, ...rest);
    };
  };
  const checked = (name: keyof typeof fsp) =>
    guard(name, () => {
      budget.check();
      signal.throwIfAborted();
    });
  const removal = (name: keyof typeof fsp) => guard(name, inside);
  return {
    promises: {
      readFile: checked("readFile"),
      stat: checked("stat"),
      lstat: checked("lstat"),
      readdir: checked("readdir"),
      readlink: checked("readlink"),
      mkdir: guard("mkdir", (path) => charge(path, 0)),
      writeFile: guard("writeFile", (path, [data]) => charge(path, byteLength(data))),
      // Symlinks are written as links, never followed (isomorphic-git's writelink); the target is their size.
      symlink: async (target: string, path: string) => {
        charge(path, Buffer.byteLength(target));
        return fsp.symlink(target, path);
      },
      unlink: removal("unlink"),
      rmdir: removal("rmdir"),
      rm: removal("rm"),
    },
  };
}

function byteLength(data: unknown): number {
  if (typeof data === "string") return Buffer.byteLength(data);
  return data instanceof Uint8Array ? data.byteLength : 0;
}

async function hasCommit(remote: { fs: FsClient; dir: string; cache: object }, sha: string): Promise<boolean> {
  try {
    await git.readCommit({ ...remote, oid: sha });
    return true;
  } catch {
    return false;
  }
}

/** A shallow clone has `.git/shallow`; without it the whole history is here and deepening cannot help. */
async function isShallow(dir: string): Promise<boolean> {
  return fsp.access(join(dir, ".git", "shallow")).then(
    () => true,
    () => false,
  );
}

function withoutCredentials(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = "";
    parsed.password = "";
    return parsed.href;
  } catch {
    return "the repository";
  }
}
