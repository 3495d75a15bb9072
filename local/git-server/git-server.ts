import { execFile, spawn } from "node:child_process";
import { mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { promisify } from "node:util";
import { isInside } from "../../shared/repo-path.js";
import { listen } from "../listen.js";

const execFileAsync = promisify(execFile);

/**
 * Decides whether a request may read `owner/repo`; `username`/`password` come from HTTP basic auth when sent. With
 * nested paths (GitLab's `group/sub/project`), `owner` is every segment before the last (`group/sub`).
 */
export type GitAuth = (request: { owner: string; repo: string; username?: string; password?: string }) => boolean;
/** How {@link createGitHandler} matches paths and challenges: GitHub's two segments by default. */
export type GitHandlerOptions = {
  /** Serve `/<group>/<sub>/.../<project>.git` (GitLab's nested groups) as well as `/<owner>/<repo>.git`. */
  nested?: boolean;
  /** The `WWW-Authenticate` realm of a refusal: "GitHub" unless told ("GitLab" for the GitLab stand-in). */
  realm?: string;
};
/** Serves `/<owner>/<repo>.git/...` and returns true, or returns false and leaves every other path alone. */
export type GitHandler = (req: IncomingMessage, res: ServerResponse) => boolean;
/** A file's content in {@link GitRepo.commit}: text, bytes, or a symlink to `symlink`. */
export type GitFileContent = string | Buffer | { symlink: string };
/** A served bare repo plus a working clone that authors its commits with the real git CLI. */
export type GitRepo = {
  dir: string;
  bareDir: string;
  commit(files: Record<string, GitFileContent>, message?: string, options?: { remove?: string[] }): Promise<string>;
  push(options?: { branch?: string; force?: boolean }): Promise<void>;
  resetHard(sha: string): Promise<void>;
};
/** A running smart-HTTP git server on 127.0.0.1. */
export type GitServer = {
  url: string;
  root: string;
  createRepo(owner: string, repo: string, options?: { private?: boolean; token?: string }): Promise<GitRepo>;
  setToken(owner: string, repo: string, token: string): void;
  close(): Promise<void>;
};

// Owner and repo never start with a dot, so `..` cannot climb out of GIT_PROJECT_ROOT.
const REPO_PATH = /^\/((?!\.)[A-Za-z0-9_.-]+)\/((?!\.)[A-Za-z0-9_.-]+)\.git(?:\/.*)?$/;
// The same rule for every segment of a nested path; a group segment may not end in `.git` (GitLab refuses such paths),
// so a path splits into one repo exactly.
const NESTED_REPO_PATH =
  /^\/((?:(?!\.)(?![^/]*\.git\/)[A-Za-z0-9_.-]+\/)*(?!\.)(?![^/]*\.git\/)[A-Za-z0-9_.-]+)\/((?!\.)[A-Za-z0-9_.-]+)\.git(?:\/.*)?$/;
const HEADER_END = /\r?\n\r?\n/;
// Authoring and serving ignore the machine's git config, so tests behave the same everywhere.
const GIT_ENV = { GIT_CONFIG_NOSYSTEM: "1", GIT_CONFIG_GLOBAL: "/dev/null", LANG: "C" };

/**
 * Handles git smart HTTP for the bare repos under `root` by running `git http-backend` as a CGI (DESIGN §8).
 * Refused requests get 401 with a `WWW-Authenticate` challenge of GitHub (or `options.realm`).
 */
export function createGitHandler(root: string, auth: GitAuth, options: GitHandlerOptions = {}): GitHandler {
  const pattern = options.nested ? NESTED_REPO_PATH : REPO_PATH;
  const realm = options.realm ?? "GitHub";
  return (req, res) => {
    const url = new URL(req.url ?? "/", "http://git.invalid");
    const match = pattern.exec(url.pathname);
    if (!match) return false;
    const [, owner = "", repo = ""] = match;
    const credentials = basicCredentials(req.headers.authorization);
    if (!auth({ owner, repo, ...credentials })) {
      res.writeHead(401, { "WWW-Authenticate": `Basic realm="${realm}"`, "Content-Type": "text/plain" });
      res.end("Invalid username or token.\n");
      return true;
    }
    runBackend(root, url, req, res, credentials?.username);
    return true;
  };
}

/** Starts a git server on 127.0.0.1, port 0, serving repos at `${url}/${owner}/${repo}.git`. */
export async function startGitServer(
  options: {
    root?: string;
    /** Port on 127.0.0.1; 0 (the default) picks a free one. */
    port?: number;
    /** Decides private repos' credentials instead of per-repo tokens, e.g. the GitHub stand-in's installation tokens. */
    privateAuth?: (owner: string, password: string | undefined) => boolean;
  } = {},
): Promise<GitServer> {
  const ownRoot = options.root === undefined;
  const root = options.root ?? (await mkdtemp(join(tmpdir(), "git-server-")));
  await mkdir(root, { recursive: true });
  // The authoring clones live beside the bare repos (a dot folder, which no repository path can name), not in the
  // temp folder: a server that is never closed (a killed runtime) then leaves nothing behind outside its root.
  const work = join(root, ".work");
  await rm(work, { recursive: true, force: true });
  await mkdir(work);
  const access = new Map<string, { private: boolean; token?: string }>();
  const handler = createGitHandler(root, ({ owner, repo, username, password }) => {
    const entry = access.get(`${owner}/${repo}`);
    if (!entry?.private) return true;
    if (username !== "x-access-token") return false;
    if (options.privateAuth) return options.privateAuth(owner, password);
    return entry.token !== undefined && password === entry.token;
  });
  const server = createServer((req, res) => {
    if (!handler(req, res)) res.writeHead(404, { "Content-Type": "text/plain" }).end("Not Found\n");
  });
  await listen(server, options.port ?? 0);
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    root,
    async createRepo(owner, repo, repoOptions = {}) {
      const created = await initRepo(join(root, owner, `${repo}.git`), join(work, owner, repo));
      access.set(`${owner}/${repo}`, { private: repoOptions.private ?? false, token: repoOptions.token });
      return created;
    },
    setToken(owner, repo, token) {
      const entry = access.get(`${owner}/${repo}`);
      if (!entry) throw new TypeError(`[git-server] unknown repo ${owner}/${repo}`);
      entry.token = token;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((done, fail) => server.close((error) => (error ? fail(error) : done())));
      await rm(work, { recursive: true, force: true });
      if (ownRoot) await rm(root, { recursive: true, force: true });
    },
  };
}

/**
 * Creates the bare repo `bareDir` (served by {@link createGitHandler} when it lies under its root) and an authoring
 * clone at `dir` whose `push()` goes to it: the GitLab stand-in's repos at nested paths are made the same way.
 */
export async function initRepo(bareDir: string, dir: string): Promise<GitRepo> {
  await mkdir(dirname(bareDir), { recursive: true });
  await mkdir(dirname(dir), { recursive: true });
  await git(dirname(bareDir), ["-c", "init.defaultBranch=master", "init", "-q", "--bare", bareDir]);
  // Like GitHub, let clients fetch any commit by SHA.
  await git(bareDir, ["config", "uploadpack.allowReachableSHA1InWant", "true"]);
  await git(bareDir, ["config", "uploadpack.allowAnySHA1InWant", "true"]);
  await git(dirname(dir), ["-c", "init.defaultBranch=master", "init", "-q", dir]);
  await git(dir, ["config", "user.name", "Test Author"]);
  await git(dir, ["config", "user.email", "author@example.com"]);
  await git(dir, ["config", "commit.gpgsign", "false"]);
  await git(dir, ["config", "gc.auto", "0"]);
  await git(dir, ["remote", "add", "origin", bareDir]);
  return createGitRepo(dir, bareDir);
}

function createGitRepo(dir: string, bareDir: string): GitRepo {
  return {
    dir,
    bareDir,
    async commit(files, message = "test commit", options = {}) {
      for (const [path, content] of Object.entries(files)) {
        const target = resolve(dir, path);
        if (target === dir || !isInside(dir, target)) throw new TypeError(`[git-server] ${path} leaves the clone`);
        await mkdir(dirname(target), { recursive: true });
        await rm(target, { force: true });
        if (typeof content === "string" || Buffer.isBuffer(content)) await writeFile(target, content);
        else await symlink(content.symlink, target);
      }
      for (const path of options.remove ?? []) await git(dir, ["rm", "-r", "-q", "--", path]);
      await git(dir, ["add", "-A"]);
      await git(dir, ["commit", "-q", "--allow-empty", "-m", message]);
      return headSha(dir);
    },
    async push({ branch = "master", force = false } = {}) {
      await git(dir, ["push", "-q", ...(force ? ["--force"] : []), "origin", `HEAD:refs/heads/${branch}`]);
    },
    async resetHard(sha) {
      await git(dir, ["reset", "-q", "--hard", sha]);
    },
  };
}

/**
 * The SHA at the tip of `branch` in the bare repo `<root>/<owner>/<repo>.git`, undefined when the repo or the branch
 * does not exist: what the GitHub stand-in's "Get a branch" answers on the local runtime (issue #17).
 */
export async function readBranchTip(
  root: string,
  owner: string,
  repo: string,
  branch: string,
): Promise<string | undefined> {
  if (!REPO_PATH.test(`/${owner}/${repo}.git`)) return undefined;
  return branchTipIn(join(root, owner, `${repo}.git`), branch);
}

/** The SHA at the tip of `branch` in the bare repo `bareDir`, undefined when the repo or the branch does not exist. */
export async function branchTipIn(bareDir: string, branch: string): Promise<string | undefined> {
  try {
    // show-ref --verify takes the exact ref only: no revision syntax (`main~1`) can name another commit.
    const out = await git(bareDir, ["show-ref", "--verify", "--hash", `refs/heads/${branch}`]);
    return out.trim() || undefined;
  } catch {
    return undefined;
  }
}

async function git(cwd: string, args: string[]): Promise<string> {
  const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: cwd, ...GIT_ENV };
  const { stdout } = await execFileAsync("git", args, { cwd, env, maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

/** Reads HEAD's SHA from the files (one git process less per commit: tests author dozens); rev-parse if packed. */
async function headSha(dir: string): Promise<string> {
  const head = (await readFile(join(dir, ".git", "HEAD"), "utf8")).trim();
  const ref = /^ref: (refs\/heads\/\S+)$/.exec(head)?.[1];
  if (!ref) return head;
  const sha = await readFile(join(dir, ".git", ref), "utf8").catch(() => undefined);
  return sha?.trim() ?? (await git(dir, ["rev-parse", "HEAD"])).trim();
}

function basicCredentials(header: string | undefined): { username: string; password: string } | undefined {
  const match = /^Basic\s+(\S+)$/i.exec(header ?? "");
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  return colon < 0 ? undefined : { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** Runs `git http-backend` for one request: CGI variables in, CGI headers parsed, bodies streamed both ways. */
function runBackend(root: string, url: URL, req: IncomingMessage, res: ServerResponse, user?: string): void {
  const header = (name: string) => req.headers[name] as string | undefined;
  const optional = {
    CONTENT_LENGTH: header("content-length"),
    // git http-backend inflates gzip request bodies itself (git sends them for large negotiations).
    HTTP_CONTENT_ENCODING: header("content-encoding"),
    HTTP_GIT_PROTOCOL: header("git-protocol"),
    REMOTE_USER: user,
  };
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    ...GIT_ENV,
    GIT_PROJECT_ROOT: root,
    GIT_HTTP_EXPORT_ALL: "1",
    PATH_INFO: url.pathname,
    QUERY_STRING: url.search.slice(1),
    REQUEST_METHOD: req.method ?? "GET",
    CONTENT_TYPE: header("content-type") ?? "",
    REMOTE_ADDR: req.socket.remoteAddress ?? "127.0.0.1",
  };
  for (const [key, value] of Object.entries(optional)) if (value !== undefined) env[key] = value;

  const child = spawn("git", ["http-backend"], { env, stdio: ["pipe", "pipe", "pipe"] });
  const stderr: Buffer[] = [];
  child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
  // The backend may exit before reading a body it refuses; that EPIPE is not the server's failure.
  child.stdin.on("error", () => {});
  req.pipe(child.stdin);
  res.on("close", () => {
    if (!res.writableFinished && child.exitCode === null) child.kill();
  });

  let head = Buffer.alloc(0);
  const onData = (chunk: Buffer) => {
    head = Buffer.concat([head, chunk]);
    const text = head.toString("latin1");
    const end = HEADER_END.exec(text);
    if (!end) return;
    child.stdout.off("data", onData);
    let status = 200;
    for (const line of text.slice(0, end.index).split(/\r?\n/)) {
      const colon = line.indexOf(":");
      const name = line.slice(0, colon).trim();
      const value = line.slice(colon + 1).trim();
      if (name.toLowerCase() === "status") status = Number.parseInt(value, 10);
      else if (colon > 0) res.setHeader(name, value);
    }
    res.writeHead(status);
    res.write(head.subarray(end.index + end[0].length));
    child.stdout.pipe(res);
  };
  child.stdout.on("data", onData);
  child.on("error", (error) => fail(error.message));
  child.on("close", (code) => {
    if (!res.headersSent) fail(`git http-backend exited with ${code}: ${Buffer.concat(stderr).toString()}`);
  });

  function fail(reason: string): void {
    if (res.headersSent) res.destroy();
    else res.writeHead(502, { "Content-Type": "text/plain" }).end(`${reason}\n`);
  }
}

/** A folder's files as `commit()` takes them, keyed by path relative to `dir`: to commit a folder as it is. */
export async function readTree(dir: string, base = dir): Promise<Record<string, GitFileContent>> {
  const out: Record<string, GitFileContent> = {};
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) Object.assign(out, await readTree(path, base));
    else out[relative(base, path)] = await readFile(path);
  }
  return out;
}
