import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { buildResultUrl } from "../../shared/build-result.js";
import type { FunctionEvent } from "../../shared/function-handler.js";
import { invokeHandler } from "../../shared/function-server.js";
import type { Gateway } from "../../shared/gateway.js";
import type { CommitStatus, Github } from "../../shared/github.js";
import type { GitlabPush } from "../../shared/gitlab-push.js";
import { signHop } from "../../shared/hmac.js";
import { HttpError } from "../../shared/http-error.js";
import { gitlabOwner } from "../../shared/naming.js";
import type { PendingBuild, PendingBuildRef, PendingBuilds } from "../../shared/pending-builds.js";
import { parseBuildRequest } from "../../shared/push.js";
import { createHandler, depsFromEnv } from "./handler.js";
import type { GitlabPushDeps } from "./start-build.js";

// gitlab-push's handler (both paths) with stand-ins that record what it sends: the commit statuses (the Github
// interface shared/gitlab.ts implements), the queue, and the pending-build records. Self-contained: it runs inside
// gitlab-push's image build (test/ drives it behind the local gateway with the GitLab stand-in).
const SECRET = "payload-secret";
const SHA = "da1560886d4f094c3e6c9ef40349f7d38b5d27d7";
const SELF = "http://gateway:8080/function/gitlab-push";
const OWNER = gitlabOwner("group/sub");

function handler(opts: Partial<GitlabPushDeps> & { failQueue?: boolean } = {}) {
  const statuses: CommitStatus[] = [];
  const queued: Array<{ name: string; body: string; headers: Record<string, string> | undefined }> = [];
  const records = new Map<string, PendingBuild>();
  const key = (ref: PendingBuildRef) => `${ref.owner}/${ref.repo}@${ref.sha}`;
  const github = {
    setStatus: (status: CommitStatus) => {
      statuses.push(status);
      return Promise.resolve();
    },
  } as Partial<Github> as Github;
  const gateway = {
    invokeAsync: (name: string, body: Buffer | string, headers?: Record<string, string>) => {
      queued.push({ name, body: body.toString(), headers });
      return opts.failQueue
        ? Promise.reject(new HttpError(502, "gateway: async-function/git-tar answered 500"))
        : Promise.resolve({ callId: "call-1" });
    },
  } as Partial<Gateway> as Gateway;
  const pending = {
    put: (build: PendingBuild) => Promise.resolve(void records.set(key(build), build)),
    get: (ref: PendingBuildRef) => Promise.resolve(records.get(key(ref))),
    remove: (ref: PendingBuildRef) => Promise.resolve(void records.delete(key(ref))),
  } as Partial<PendingBuilds> as PendingBuilds;
  const overrides: Partial<GitlabPushDeps> & { failQueue?: boolean } = { ...opts };
  delete overrides.failQueue;
  const deps: GitlabPushDeps = {
    payloadSecret: SECRET,
    selfUrl: SELF,
    useChecks: false,
    stage: "gitlab-push",
    github,
    gateway,
    pending,
    log: pino({ level: "silent" }),
    now: () => Date.parse("2026-12-01T05:00:00Z"),
    ...overrides,
  };
  const run = createHandler(deps);
  const invoke = async (event: FunctionEvent) => {
    const res = await invokeHandler(run, event);
    return { status: res.status, text: res.body.toString() };
  };
  return { invoke, statuses, queued, records };
}

/** What gitlab-event forwards for a push to group/sub/fns (shared/gitlab-push.ts). */
const gitlabPush = (
  changes: Partial<GitlabPush> = {},
  visibility: GitlabPush["project"]["visibility"] = "private",
) => ({
  project: {
    id: 15,
    path: "fns",
    pathWithNamespace: "group/sub/fns",
    webUrl: "https://gitlab.example.com/group/sub/fns",
    visibility,
    defaultBranch: "main",
    namespace: { id: 31, fullPath: "group/sub" },
  },
  ref: "refs/heads/main",
  before: "95790bf891e76fee5e1747ab589903a6a1f80f22",
  after: SHA,
  deliveryId: "7b1f4bd6-0000-4000-8000-000000000001",
  ...changes,
});

function hop(payload: unknown, signature?: string): FunctionEvent {
  const body = Buffer.from(JSON.stringify(payload));
  return {
    body,
    headers: { "x-cloud-signature-256": signature ?? signHop(SECRET, "gitlab-push", body) },
    method: "POST",
    query: {},
    path: "/",
  };
}

describe("gitlab-push: a push", () => {
  it("the build branch → stack-deploy pending on GitLab, then git-tar queued with the build request (contract §3)", async () => {
    const { invoke, statuses, queued } = handler();
    const res = await invoke(hop(gitlabPush()));
    expect(res).toEqual({
      status: 202,
      text: "Push: group/sub/fns@refs/heads/main [https://gitlab.example.com/group/sub/fns], git-tar: 202",
    });
    expect(statuses).toEqual([
      {
        scm: "gitlab",
        installationId: 15,
        owner: OWNER,
        repo: "fns",
        sha: SHA,
        state: "pending",
        context: "stack-deploy",
        description: `${OWNER}-fns stack deploy is in progress`,
      },
    ]);
    expect(queued.map((q) => q.name)).toEqual(["git-tar"]);
    expect(JSON.parse(queued[0]!.body)).toEqual({
      scm: "gitlab",
      owner: OWNER,
      ownerId: "gitlab-31",
      repo: "fns",
      fullName: "group/sub/fns",
      repoUrl: "https://gitlab.example.com/group/sub/fns",
      private: true,
      sha: SHA,
      ref: "refs/heads/main",
      branch: "main",
      installationId: 15,
      deliveryId: "7b1f4bd6-0000-4000-8000-000000000001",
    });
    // git-tar's own parse accepts it as it is.
    expect(parseBuildRequest(Buffer.from(queued[0]!.body))).toEqual(JSON.parse(queued[0]!.body));
  });

  it("the owner key is collision-free with a GitHub owner named like the group", () => {
    expect(OWNER).toMatch(/^group-sub-[0-9a-f]{8}--gl$/);
  });

  it.each([
    ["public", false],
    ["internal", true],
    ["private", true],
  ] as const)("a %s project → private: %s", async (visibility, expected) => {
    const { invoke, queued } = handler();
    await invoke(hop(gitlabPush({}, visibility)));
    expect((JSON.parse(queued[0]!.body) as { private: boolean }).private).toBe(expected);
  });

  it("an accepted build → a pending-build record with scm gitlab and the namespace's owner id, for build-reaper", async () => {
    const { invoke, records } = handler();
    await invoke(hop(gitlabPush()));
    expect([...records.values()]).toEqual([
      {
        owner: OWNER,
        repo: "fns",
        sha: SHA,
        scm: "gitlab",
        ownerId: "gitlab-31",
        installationId: 15,
        acceptedAt: "2026-12-01T05:00:00.000Z",
      },
    ]);
  });

  it("the callback URL names gitlab-push's /build-result, signed for the commit", async () => {
    const { invoke, queued } = handler();
    await invoke(hop(gitlabPush()));
    const url = new URL(queued[0]!.headers!["x-callback-url"]!);
    expect(url.origin + url.pathname).toBe(`${SELF}/build-result`);
    expect(url.toString()).toBe(
      buildResultUrl(SELF, SECRET, { owner: OWNER, repo: "fns", sha: SHA, installationId: 15 }),
    );
  });

  it.each(["refs/heads/staging", "refs/tags/v1.0.0", "refs/heads/feature/main"])(
    "%s → a success stack-deploy status saying why, nothing queued",
    async (ref) => {
      const { invoke, statuses, queued } = handler();
      const message = `skipping build for: ${ref} branch, the build branch is: main`;
      expect(await invoke(hop(gitlabPush({ ref })))).toEqual({ status: 200, text: message });
      expect(statuses.map((s) => [s.scm, s.state, s.context, s.description])).toEqual([
        ["gitlab", "success", "stack-deploy", message],
      ]);
      expect(queued).toEqual([]);
    },
  );

  it("build_branch set → that branch builds, the default branch is skipped", async () => {
    const { invoke, queued } = handler({ buildBranch: "staging" });
    expect((await invoke(hop(gitlabPush({ ref: "refs/heads/staging" })))).status).toBe(202);
    expect((await invoke(hop(gitlabPush()))).status).toBe(200);
    expect(queued).toHaveLength(1);
  });

  it("a deleted branch (after = 40 zeros) → 200 skip, no status, nothing queued", async () => {
    const { invoke, statuses, queued, records } = handler();
    expect(await invoke(hop(gitlabPush({ after: "0".repeat(40) })))).toEqual({
      status: 200,
      text: "skipping build for: refs/heads/main: the ref was deleted",
    });
    expect([statuses, queued, records.size]).toEqual([[], [], 0]);
  });

  it("the queue refuses → a failure status naming the reason, 502, no record left", async () => {
    const { invoke, statuses, records } = handler({ failQueue: true });
    const res = await invoke(hop(gitlabPush()));
    expect(res).toEqual({
      status: 502,
      text: "unable to start the build: gateway: async-function/git-tar answered 500",
    });
    expect(statuses.map((s) => [s.scm, s.state])).toEqual([
      ["gitlab", "pending"],
      ["gitlab", "failure"],
    ]);
    expect(records.size).toBe(0);
  });

  it.each([
    ["no signature", ""],
    ["a hop signed for github-push", "github-push"],
    ["a hop signed with another secret", "other-secret"],
  ])("%s → 401, no status, nothing queued", async (_, how) => {
    const { invoke, statuses, queued } = handler();
    const body = JSON.stringify(gitlabPush());
    const signature =
      how === ""
        ? ""
        : how === "github-push"
          ? signHop(SECRET, "github-push", body)
          : signHop(how, "gitlab-push", body);
    const res = await invoke(hop(gitlabPush(), signature));
    expect(res).toEqual({ status: 401, text: "invalid, stale or missing X-Cloud-Signature-256 for gitlab-push" });
    expect([statuses, queued]).toEqual([[], []]);
  });

  it.each([
    [
      "a project path leaving the project",
      { pathWithNamespace: "group/../fns" },
      "gitlab push: project.pathWithNamespace",
    ],
    ["a single-segment path", { pathWithNamespace: "fns" }, "gitlab push: project.pathWithNamespace"],
    ["no namespace id", { namespace: { fullPath: "group/sub" } }, "gitlab push: project.namespace.id"],
  ])("%s → 400 naming the field, nothing queued", async (_, project, message) => {
    const { invoke, queued } = handler();
    const body = gitlabPush();
    const res = await invoke(hop({ ...body, project: { ...body.project, ...project } }));
    expect(res.status).toBe(400);
    expect(res.text.startsWith(message)).toBe(true);
    expect(queued).toEqual([]);
  });
});

describe("gitlab-push /build-result: the queue-worker's callback after git-tar", () => {
  function callback(url: string, status: string, body = "", headers: Record<string, string> = {}): FunctionEvent {
    const parsed = new URL(url);
    return {
      body: Buffer.from(body),
      headers: { "x-function-status": status, ...headers },
      method: "POST",
      query: Object.fromEntries(parsed.searchParams),
      path: "/build-result",
    };
  }

  it("git-tar answered 502 without reporting → an error status on the GitLab commit, the record removed", async () => {
    const { invoke, statuses, queued, records } = handler();
    await invoke(hop(gitlabPush()));
    const res = await invoke(callback(queued[0]!.headers!["x-callback-url"]!, "502", "upstream connect error\nmore"));
    expect(res).toEqual({ status: 200, text: "build error: git-tar answered 502: upstream connect error" });
    expect(statuses.at(-1)).toEqual({
      scm: "gitlab",
      installationId: 15,
      owner: OWNER,
      repo: "fns",
      sha: SHA,
      state: "error",
      context: "stack-deploy",
      description: "build error: git-tar answered 502: upstream connect error",
    });
    expect(records.size).toBe(0);
  });

  it("git-tar reported the outcome itself → nothing posted", async () => {
    const { invoke, statuses, queued } = handler();
    await invoke(hop(gitlabPush()));
    await invoke(callback(queued[0]!.headers!["x-callback-url"]!, "500", "", { "x-ofc-status-posted": "true" }));
    expect(statuses.map((s) => s.state)).toEqual(["pending"]);
  });

  it("a callback for another commit under the same signature → 401, nothing posted", async () => {
    const { invoke, statuses, queued } = handler();
    await invoke(hop(gitlabPush()));
    const url = new URL(queued[0]!.headers!["x-callback-url"]!);
    url.searchParams.set("sha", "0".repeat(40));
    const res = await invoke(callback(url.toString(), "502"));
    expect(res).toEqual({ status: 401, text: "invalid or missing build-result signature" });
    expect(statuses.map((s) => s.state)).toEqual(["pending"]);
  });
});

describe("gitlab-push depsFromEnv", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "gitlab-push-"));
    for (const [name, value] of Object.entries({
      "payload-secret": SECRET,
      "s3-access-key": "key",
      "s3-secret-key": "secret",
      "gitlab-api-token": "",
    })) {
      writeFileSync(join(dir, name), value);
    }
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const env = (extra: Record<string, string> = {}) => ({
    secret_mount_path: dir,
    s3_url: "127.0.0.1:9000",
    gateway_url: "http://gateway:8080/",
    log_level: "silent",
    ...extra,
  });

  it.each([
    ["no gitlab_url", {}, "glpat-token"],
    ["an empty gitlab-api-token file", { gitlab_url: "https://gitlab.example.com" }, ""],
  ])("%s → it starts, and answers a signed push 503 naming what to set", async (_, extra, token) => {
    writeFileSync(join(dir, "gitlab-api-token"), token);
    const res = await invokeHandler(createHandler(depsFromEnv(env(extra))), hop(gitlabPush()));
    expect([res.status, res.body.toString()]).toEqual([
      503,
      "GitLab is not configured: set gitlab_url and the gitlab-api-token secret",
    ]);
  });

  it("configured → its own callback URL, no check runs, its own stage name", () => {
    writeFileSync(join(dir, "gitlab-api-token"), "glpat-token");
    const deps = depsFromEnv(env({ gitlab_url: "https://gitlab.example.com", build_branch: "live" }));
    expect(deps).toMatchObject({
      selfUrl: "http://gateway:8080/function/gitlab-push",
      useChecks: false,
      stage: "gitlab-push",
      buildBranch: "live",
    });
  });
});
