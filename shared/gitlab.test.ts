import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { pino } from "pino";
import { githubFromConfig, scmRouter } from "./clients.js";
import { loadConfig } from "./config.js";
import type { CommitStatus, Github } from "./github.js";
import { createGitlab } from "./gitlab.js";

// A small GitLab on 127.0.0.1 (self-contained: shared/ tests may not use local/): it checks PRIVATE-TOKEN on every
// call, keeps statuses and deploy tokens of project 42 the way GitLab's API v4 answers, and records each call.
const TOKEN = "glpat-test-token-0123456789";
const SHA = "6113728f27ae82c7b1a177c8d03f9e96e0adf246";
const PROJECT = 42;

interface Call {
  method: string;
  path: string;
  token: string | undefined;
  body: Record<string, unknown> | undefined;
}

interface FakeGitlab {
  url: string;
  calls: Call[];
  statuses: Array<{ id: number; name: string; status: string; sha: string; target_url: string | null }>;
  tokens: Map<number, { id: number; username: string; token: string; expires_at: string; scopes: string[] }>;
  branches: Record<string, string>;
  /** The next `count` calls answer `status` with GitLab's error body. */
  failNext(status: number, count?: number): void;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<Record<string, unknown> | undefined> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return chunks.length ? (JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>) : undefined;
}

async function startFakeGitlab(): Promise<FakeGitlab> {
  const calls: Call[] = [];
  const statuses: FakeGitlab["statuses"] = [];
  const tokens: FakeGitlab["tokens"] = new Map();
  const branches: Record<string, string> = { main: SHA, "feature/a b": "a".repeat(40) };
  let failures: { status: number; count: number } | undefined;
  let nextId = 1;
  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? "/", "http://127.0.0.1");
      const token = req.headers["private-token"] as string | undefined;
      const body = await readBody(req);
      calls.push({ method: req.method ?? "", path: url.pathname + url.search, token, body });
      const send = (status: number, json?: unknown) => {
        res.writeHead(status, json === undefined ? {} : { "content-type": "application/json" });
        res.end(json === undefined ? undefined : JSON.stringify(json));
      };
      if (token !== TOKEN) return send(401, { message: "401 Unauthorized" });
      if (failures && failures.count > 0) {
        failures.count--;
        return send(failures.status, { message: `${failures.status} injected` });
      }
      // Paths are matched on the raw (still encoded) path, as GitLab's router does for branch names.
      const raw = (req.url ?? "").split("?")[0]!;
      const m = /^\/api\/v4\/projects\/(\d+)\/(.+)$/.exec(raw);
      if (!m || Number(m[1]) !== PROJECT) return send(404, { message: "404 Project Not Found" });
      const rest = m[2]!;
      let r: RegExpExecArray | null;
      if (req.method === "POST" && (r = /^statuses\/([0-9a-f]{40})$/.exec(rest))) {
        const name = typeof body?.name === "string" ? body.name : "default";
        const last = statuses.filter((s) => s.name === name && s.sha === r![1]).at(-1);
        if (last && last.status === body?.state) {
          const via = { running: "run", pending: "enqueue", success: "succeed", failed: "drop" }[last.status];
          return send(400, {
            message: `Cannot transition status via :${via} from :${last.status} (Reason(s): Status cannot transition via "${via}".)`,
          });
        }
        if (!["pending", "running", "success", "failed", "canceled"].includes(String(body?.state))) {
          return send(400, { message: "400 Bad request - state does not have a valid value" });
        }
        const status = {
          id: nextId++,
          name,
          status: String(body?.state),
          sha: r[1]!,
          target_url: (body?.target_url as string | undefined) ?? null,
        };
        statuses.push(status);
        return send(201, status);
      }
      if (req.method === "GET" && (r = /^repository\/commits\/([0-9a-f]{40})\/statuses$/.exec(rest))) {
        // GitLab's default (all=false): the latest status of each name, oldest first.
        const latest = new Map<string, (typeof statuses)[number]>();
        for (const s of statuses.filter((s) => s.sha === r![1])) latest.set(s.name, s);
        return send(200, [...latest.values()]);
      }
      if (req.method === "GET" && (r = /^repository\/branches\/(.+)$/.exec(rest))) {
        const tip = branches[decodeURIComponent(r[1]!)];
        return tip ? send(200, { name: r[1], commit: { id: tip } }) : send(404, { message: "404 Branch Not Found" });
      }
      if (req.method === "POST" && rest === "deploy_tokens") {
        const id = nextId++;
        const created = {
          id,
          name: String(body?.name),
          username: `gitlab+deploy-token-${id}`,
          token: `gldt-${id}-secret`,
          expires_at: String(body?.expires_at),
          scopes: body?.scopes as string[],
        };
        tokens.set(id, created);
        return send(201, created);
      }
      if (req.method === "DELETE" && (r = /^deploy_tokens\/(\d+)$/.exec(rest))) {
        return tokens.delete(Number(r[1])) ? send(204) : send(404, { message: "404 Not found" });
      }
      return send(404, { error: "404 Not Found" });
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    statuses,
    tokens,
    branches,
    failNext: (status, count = 1) => void (failures = { status, count }),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const log = pino({ level: "silent" });
let gitlab: FakeGitlab;
beforeEach(async () => {
  gitlab = await startFakeGitlab();
});
afterEach(() => gitlab.close());

const client = (token = TOKEN, extra: Partial<Parameters<typeof createGitlab>[0]> = {}) =>
  createGitlab({ url: `${gitlab.url}/`, token, log, backoffMs: 1, now: () => Date.UTC(2026, 0, 1), ...extra });
const status = (changes: Partial<CommitStatus> = {}): CommitStatus => ({
  scm: "gitlab",
  installationId: PROJECT,
  owner: "group-sub-fea72908--gl",
  repo: "project",
  sha: SHA,
  state: "pending",
  context: "stack-deploy",
  description: "Building",
  ...changes,
});
const commit = {
  scm: "gitlab" as const,
  installationId: PROJECT,
  owner: "group-sub-fea72908--gl",
  repo: "project",
  sha: SHA,
};

describe("gitlab client: setStatus", () => {
  it.each([
    ["pending", "pending"],
    ["running", "running"],
    ["success", "success"],
    ["failure", "failed"],
    ["error", "failed"],
    ["canceled", "canceled"],
  ] as const)("%s → GitLab's %s, POSTed to /projects/:id/statuses/:sha with the token", async (state, posted) => {
    await client().setStatus(status({ state, targetUrl: "http://127.0.0.1:8081/api", description: "x".repeat(300) }));
    expect(gitlab.calls).toHaveLength(1);
    const [call] = gitlab.calls;
    expect(call).toMatchObject({ method: "POST", path: `/api/v4/projects/42/statuses/${SHA}`, token: TOKEN });
    expect(call!.body).toEqual({
      state: posted,
      name: "stack-deploy",
      description: `${"x".repeat(139)}…`,
      target_url: "http://127.0.0.1:8081/api",
    });
  });

  it("the same state twice in a row → GitLab's 400 Cannot transition is no error; one status recorded", async () => {
    const gl = client();
    await gl.setStatus(status({ state: "running" }));
    await expect(gl.setStatus(status({ state: "running" }))).resolves.toBeUndefined();
    expect(gitlab.calls.map((c) => c.method)).toEqual(["POST", "POST"]);
    expect(gitlab.statuses.map((s) => s.status)).toEqual(["running"]);
  });

  it.each([
    ["another 400", 400],
    ["403 (the token is no Maintainer)", 403],
    ["404 (a project the token cannot see)", 404],
  ])("%s → HttpError 502 naming the status, not retried", async (_, code) => {
    gitlab.failNext(code);
    await expect(client().setStatus(status())).rejects.toMatchObject({
      status: 502,
      message: `gitlab: commit status stack-deploy=pending refused (${code}): ${code} injected`,
    });
    expect(gitlab.calls).toHaveLength(1);
  });

  it("a wrong token → GitLab's 401 → HttpError 502", async () => {
    await expect(client("wrong").setStatus(status())).rejects.toMatchObject({
      status: 502,
      message: expect.stringContaining("(401): 401 Unauthorized") as unknown,
    });
  });

  it("a 502 from GitLab, then success → retried, posted once", async () => {
    gitlab.failNext(502);
    await client().setStatus(status());
    expect(gitlab.calls).toHaveLength(2);
    expect(gitlab.statuses).toHaveLength(1);
  });

  it("5xx on every attempt → HttpError 502 after 1 + 2 attempts", async () => {
    gitlab.failNext(503, 10);
    await expect(client().setStatus(status())).rejects.toMatchObject({ status: 502 });
    expect(gitlab.calls).toHaveLength(3);
  });

  it("GitLab unreachable → HttpError 502 naming it", async () => {
    await gitlab.close();
    await expect(client(TOKEN, { retries: 0 }).setStatus(status())).rejects.toMatchObject({
      status: 502,
      message: expect.stringMatching(/^gitlab: commit status stack-deploy=pending unreachable/) as unknown,
    });
    gitlab = await startFakeGitlab();
  });

  it("report_status off → nothing sent", async () => {
    await client(TOKEN, { reportStatus: false }).setStatus(status());
    expect(gitlab.calls).toHaveLength(0);
  });
});

describe("gitlab client: latestStatuses", () => {
  it("each name at its latest state, GitLab's states mapped back (failed → failure, skipped → error)", async () => {
    const gl = client();
    for (const [context, state] of [
      ["stack-deploy", "pending"],
      ["stack-deploy", "running"],
      ["api", "pending"],
      ["api", "failure"],
      ["web", "running"],
      ["stack-deploy", "success"],
    ] as const) {
      await gl.setStatus(status({ context, state }));
    }
    gitlab.statuses.push({ id: 99, name: "old", status: "canceled", sha: SHA, target_url: null });
    gitlab.statuses.push({ id: 100, name: "skipped", status: "skipped", sha: SHA, target_url: null });
    const latest = await gl.latestStatuses(commit);
    expect(Object.fromEntries(latest)).toEqual({
      "stack-deploy": "success",
      api: "failure",
      web: "pending",
      old: "canceled",
      skipped: "error",
    });
    expect(gitlab.calls.at(-1)?.path).toBe(
      `/api/v4/projects/42/repository/commits/${SHA}/statuses?per_page=100&page=1`,
    );
  });

  it("a project GitLab does not know → HttpError 404; a 500 → 502", async () => {
    await expect(client().latestStatuses({ ...commit, installationId: 7 })).rejects.toMatchObject({ status: 404 });
    gitlab.failNext(500, 3);
    await expect(client().latestStatuses(commit)).rejects.toMatchObject({ status: 502 });
  });
});

describe("gitlab client: branchTip", () => {
  it.each([
    ["main", SHA],
    ["feature/a b", "a".repeat(40)],
    ["gone", undefined],
  ])("branch %j → %s (the name URL-encoded)", async (branch, tip) => {
    expect(await client().branchTip({ scm: "gitlab", installationId: PROJECT, owner: "o", repo: "r" }, branch)).toBe(
      tip,
    );
    expect(gitlab.calls[0]?.path).toBe(`/api/v4/projects/42/repository/branches/${encodeURIComponent(branch)}`);
  });

  it("a 403 → HttpError 502, not undefined", async () => {
    gitlab.failNext(403);
    await expect(client().branchTip({ installationId: PROJECT, owner: "o", repo: "r" }, "main")).rejects.toMatchObject({
      status: 502,
    });
  });
});

describe("gitlab client: cloneCredentials", () => {
  it("a read_repository deploy token of that project, expiring in an hour; revoke() deletes it", async () => {
    const credentials = await client().cloneCredentials(commit);
    const [created] = gitlab.calls;
    expect(created).toMatchObject({ method: "POST", path: "/api/v4/projects/42/deploy_tokens", token: TOKEN });
    expect(created!.body).toEqual({
      name: "openfaas-cloud-6113728",
      scopes: ["read_repository"],
      expires_at: "2026-01-01T01:00:00.000Z",
    });
    const [token] = [...gitlab.tokens.values()];
    expect(credentials).toMatchObject({ username: token!.username, password: token!.token });

    await credentials.revoke?.();
    expect(gitlab.calls.at(-1)).toMatchObject({
      method: "DELETE",
      path: `/api/v4/projects/42/deploy_tokens/${token!.id}`,
    });
    expect(gitlab.tokens.size).toBe(0);
    // Revoking one already gone (expired, removed by hand) is done, not an error.
    await expect(credentials.revoke?.()).resolves.toBeUndefined();
  });

  it("GitLab refuses the token (403) → HttpError 502 naming the project", async () => {
    gitlab.failNext(403);
    await expect(client().cloneCredentials(commit)).rejects.toMatchObject({
      status: 502,
      message: "gitlab: deploy token for project 42 refused (403): 403 injected",
    });
  });
});

describe("gitlab client: what GitLab has not", () => {
  it("check runs and deployments → undefined / nothing / [], no call", async () => {
    const gl = client();
    expect(await gl.createCheckRun(commit, { name: "stack-deploy", status: "queued" })).toBeUndefined();
    await gl.updateCheckRun(commit, 1, { status: "completed", conclusion: "success" });
    expect(await gl.findCheckRun(commit, "stack-deploy")).toBeUndefined();
    expect(await gl.createDeployment(commit, "preview", "x")).toBeUndefined();
    await gl.setDeploymentStatus(commit, 1, { state: "success" });
    expect(await gl.listDeployments(commit, "preview")).toEqual([]);
    expect(gitlab.calls).toHaveLength(0);
  });
});

describe("scmRouter / githubFromConfig", () => {
  /** A Github whose every call answers the side it is: which client a call reached. */
  const side = (name: string): Github =>
    new Proxy({} as Github, {
      get: () => () => Promise.reject(new Error(name)),
    });

  it.each([
    [undefined, "github"],
    ["github", "github"],
    ["gitlab", "gitlab"],
  ] as const)("scm %s → the %s client, for every call", async (scm, expected) => {
    const router = scmRouter(side("github"), side("gitlab"));
    const c = { ...commit, scm };
    const calls: Array<Promise<unknown>> = [
      router.setStatus({ ...status(), scm }),
      router.createCheckRun(c, { name: "x", status: "queued" }),
      router.updateCheckRun(c, 1, {}),
      router.findCheckRun(c, "x"),
      router.latestStatuses(c),
      router.branchTip(c, "main"),
      router.cloneCredentials(c),
      router.createDeployment(c, "e", "d"),
      router.setDeploymentStatus(c, 1, { state: "success" }),
      router.listDeployments(c, "e"),
    ];
    for (const call of calls) await expect(call).rejects.toThrow(expected);
  });

  const config = (env: Record<string, string>, gitlabToken?: string) =>
    loadConfig(
      { github_app_id: "1", ...env },
      { secrets: ["private-key"], settings: ["github_app_id"], optionalSecrets: ["gitlab-api-token"] },
      (path) => {
        if (path.endsWith("private-key")) return "not a key: no GitHub call is made";
        if (path.endsWith("gitlab-api-token") && gitlabToken) return gitlabToken;
        throw Object.assign(new Error("absent"), { code: "ENOENT" });
      },
    );

  it("no gitlab_url → a GitLab call is HttpError 503 naming the setting, nothing sent", async () => {
    const router = githubFromConfig(config({}, TOKEN), log);
    await expect(router.setStatus(status())).rejects.toMatchObject({
      status: 503,
      message: "GitLab is not configured (gitlab_url)",
    });
  });

  it("gitlab_url without the gitlab-api-token secret → HttpError 503 naming the secret", async () => {
    const router = githubFromConfig(config({ gitlab_url: gitlab.url }), log);
    await expect(router.setStatus(status())).rejects.toMatchObject({
      status: 503,
      message: "GitLab is not configured (gitlab-api-token)",
    });
    expect(gitlab.calls).toHaveLength(0);
  });

  it("gitlab_url and the token → GitLab statuses reach the instance, with the token", async () => {
    const router = githubFromConfig(config({ gitlab_url: gitlab.url }, TOKEN), log);
    await router.setStatus(status({ state: "running" }));
    expect(gitlab.statuses.map((s) => [s.name, s.status])).toEqual([["stack-deploy", "running"]]);
    expect(gitlab.calls[0]?.token).toBe(TOKEN);
  });
});
