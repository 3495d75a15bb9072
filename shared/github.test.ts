import { pino } from "pino";
import { startGithubStandin, type GithubStandin } from "../local/github-standin/server.js";
import { startGithub } from "../test/support/github.js";
import { createGithub, fitDescription, type CheckAnnotation, type CommitStatus } from "./github.js";

const SHA = "6113728f27ae82c7b1a177c8d03f9e96e0adf246";
const status = (changes: Partial<CommitStatus> = {}): CommitStatus => ({
  installationId: 7,
  owner: "Alex",
  repo: "fns",
  sha: SHA,
  state: "pending",
  context: "stack-deploy",
  description: "in progress",
  ...changes,
});

let world: Awaited<ReturnType<typeof startGithub>>;
let standin: GithubStandin;
beforeEach(async () => {
  world = await startGithub({ installations: [{ id: 7, account: "alex" }] });
  standin = world.standin;
});
afterEach(() => world.close());

const client = (reportStatus = true) => world.client(reportStatus);

describe("github client", () => {
  it("two statuses → both recorded, one installation token minted (cached until near expiry)", async () => {
    const github = client();
    await github.setStatus(status());
    await github.setStatus(status({ state: "success", targetUrl: "http://127.0.0.1:8080/function/alex-fn" }));
    expect(standin.statuses().map((s) => [s.state, s.target_url])).toEqual(
      expect.arrayContaining([
        ["pending", null],
        ["success", "http://127.0.0.1:8080/function/alex-fn"],
      ]),
    );
    expect(standin.tokensIssued).toBe(1);
  });

  it("a 300-character description → cut to GitHub's 140 and accepted", async () => {
    await client().setStatus(status({ description: "x".repeat(300) }));
    const [posted] = standin.statuses();
    expect(Array.from(posted!.description!)).toHaveLength(140);
    expect(posted!.description!.endsWith("…")).toBe(true);
  });

  // Issue #19: GitLab's running state has no GitHub counterpart; the check run's in_progress says it.
  it("a running status → nothing sent to GitHub, no error", async () => {
    await client().setStatus(status({ state: "running" }));
    expect(standin.calls).toHaveLength(0);
  });

  it("cloneCredentials → x-access-token with the installation token the REST calls use", async () => {
    const github = client();
    const credentials = await github.cloneCredentials({ installationId: 7, owner: "Alex", repo: "fns" });
    expect(credentials).toEqual({ username: "x-access-token", password: await github.installationToken(7) });
    expect(standin.tokensMinted(7)).toBe(1);
  });

  it("report_status off → nothing sent to GitHub", async () => {
    await client(false).setStatus(status());
    expect(standin.calls).toHaveLength(0);
  });

  it("an installation GitHub does not know → HttpError 502 naming the status", async () => {
    await expect(client().setStatus(status({ installationId: 99 }))).rejects.toMatchObject({
      status: 502,
      message: expect.stringMatching(/^github: commit status stack-deploy=pending refused/),
    });
  });

  it("installationToken → the token the stand-in minted, reused", async () => {
    const github = client();
    const token = await github.installationToken(7);
    expect(token).toMatch(/^ghs_/);
    await expect(github.installationToken(7)).resolves.toBe(token);
    expect(standin.tokensIssued).toBe(1);
  });

  it("latestStatuses → each context once, at its latest state; other commits' statuses not mixed in", async () => {
    const github = client();
    await github.setStatus(status());
    await github.setStatus(status({ context: "api", state: "pending" }));
    await github.setStatus(status({ context: "api", state: "success" }));
    await github.setStatus(status({ context: "ci/other", state: "pending", sha: "f".repeat(40) }));
    const latest = await github.latestStatuses({ installationId: 7, owner: "Alex", repo: "fns", sha: SHA });
    expect(Object.fromEntries(latest)).toEqual({ "stack-deploy": "pending", api: "success" });
  });

  it("latestStatuses for an installation GitHub does not know → HttpError 404 (gone), not 502", async () => {
    await expect(
      client().latestStatuses({ installationId: 99, owner: "Alex", repo: "fns", sha: SHA }),
    ).rejects.toMatchObject({
      status: 404,
      message: expect.stringMatching(/^github: statuses of Alex\/fns@6113728 not found/),
    });
  });

  it("latestStatuses with report_status off → empty, nothing asked", async () => {
    const latest = await client(false).latestStatuses({ installationId: 7, owner: "Alex", repo: "fns", sha: SHA });
    expect([latest.size, standin.calls.length]).toEqual([0, 0]);
  });

  it.each([
    ["short", "short"],
    ["x".repeat(140), "x".repeat(140)],
    ["é".repeat(141), `${"é".repeat(139)}…`],
  ])("fitDescription(%s) keeps at most 140 characters", (input, expected) => {
    expect(fitDescription(input)).toBe(expected);
  });
});

describe("github client: check runs (issue #17)", () => {
  const commit = { installationId: 7, owner: "Alex", repo: "fns", sha: SHA };
  const note = (line: number): CheckAnnotation => ({
    path: "api/handler.ts",
    start_line: line,
    end_line: line,
    annotation_level: "failure",
    message: `error on line ${line}`,
  });

  it("create queued → update in_progress → complete with 120 annotations → the run completed with all 120, 50 per request", async () => {
    const github = client();
    const id = await github.createCheckRun(commit, { name: "api", status: "queued" });
    await github.updateCheckRun(commit, id!, { status: "in_progress", startedAt: new Date("2026-11-25T12:00:00Z") });
    const annotations = Array.from({ length: 120 }, (_, i) => note(i + 1));
    await github.updateCheckRun(commit, id!, {
      conclusion: "failure",
      completedAt: new Date("2026-11-25T12:01:00Z"),
      detailsUrl: "https://system.example.com/build",
      output: { title: "build failed", summary: "s", text: "log", annotations },
    });
    const [run] = standin.checkRuns();
    expect(run).toMatchObject({
      id,
      status: "completed",
      conclusion: "failure",
      started_at: "2026-11-25T12:00:00.000Z",
      completed_at: "2026-11-25T12:01:00.000Z",
      details_url: "https://system.example.com/build",
      output: { title: "build failed", summary: "s", text: "log" },
    });
    expect(run!.annotations.map((a) => a.start_line)).toEqual(annotations.map((a) => a.start_line));
    const sent = standin.calls
      .filter((c) => c.method === "PATCH")
      .map((c) => {
        const body = c.body as { status?: string; conclusion?: string; output?: { annotations?: unknown[] } };
        return [c.status, body.output?.annotations?.length ?? 0, body.conclusion ?? body.status];
      });
    // The run completes with its last batch, once every earlier batch is on it.
    expect(sent).toEqual([
      [200, 0, "in_progress"],
      [200, 50, undefined],
      [200, 50, undefined],
      [200, 20, "failure"],
    ]);
  });

  it("findCheckRun → the latest run of that name on the commit; none → undefined", async () => {
    const github = client();
    await github.createCheckRun(commit, { name: "api", status: "queued" });
    const latest = await github.createCheckRun(commit, { name: "api", status: "in_progress" });
    await github.createCheckRun(commit, { name: "stack-deploy", status: "queued" });
    expect(await github.findCheckRun(commit, "api")).toEqual({ id: latest, status: "in_progress", conclusion: null });
    expect(await github.findCheckRun(commit, "web")).toBeUndefined();
  });

  it("an update GitHub refuses (a completed run sent back to queued) → HttpError 502 naming the run", async () => {
    const github = client();
    const id = await github.createCheckRun(commit, { name: "api", status: "queued" });
    await github.updateCheckRun(commit, id!, { conclusion: "success" });
    await expect(github.updateCheckRun(commit, id!, { status: "queued" })).rejects.toMatchObject({
      status: 502,
      message: expect.stringContaining(`check run ${id} update refused (422)`),
    });
  });

  it("report_status off → create answers undefined, update and find do nothing, nothing sent", async () => {
    const github = client(false);
    expect(await github.createCheckRun(commit, { name: "api", status: "queued" })).toBeUndefined();
    await github.updateCheckRun(commit, 1, { conclusion: "success" });
    expect(await github.findCheckRun(commit, "api")).toBeUndefined();
    expect(standin.calls).toHaveLength(0);
  });
});

describe("github client against a failing or rate-limiting GitHub (issue #16)", () => {
  const posts = () => standin.calls.filter((c) => c.method === "POST" && c.path.includes("/statuses/"));

  it("a status post meeting two 502s → retried, lands once, each failed attempt logged at warn", async () => {
    const lines: string[] = [];
    const log = pino({ level: "warn" }, { write: (line: string) => void lines.push(line) });
    await world.close();
    world = await startGithub({ installations: [{ id: 7, account: "alex" }], log });
    standin = world.standin;
    standin.failNext("statuses", 502, 2);
    await world.github.setStatus(status());
    expect(posts().map((c) => c.status)).toEqual([502, 502, 201]);
    expect(standin.statuses()).toHaveLength(1);
    const warned = lines.map((l) => JSON.parse(l) as { level: number; msg: string });
    expect(warned.map((l) => [l.level, l.msg])).toEqual([
      [40, "github: POST /repos/{owner}/{repo}/statuses/{sha} answered 502 (attempt 1 of 4)"],
      [40, "github: POST /repos/{owner}/{repo}/statuses/{sha} answered 502 (attempt 2 of 4)"],
    ]);
  });

  it("GitHub still 503 after the 3 retries → HttpError 502 after 4 attempts, nothing recorded", async () => {
    standin.failNext("statuses", 503, 10);
    await expect(client().setStatus(status())).rejects.toMatchObject({ status: 502 });
    expect(posts().map((c) => c.status)).toEqual([503, 503, 503, 503]);
    expect(standin.statuses()).toEqual([]);
  });

  it("the token mint answering 502 once → retried, the status lands with one token", async () => {
    standin.failNext("access_tokens", 502);
    await client().setStatus(status());
    expect([standin.statuses().length, standin.tokensMinted(7)]).toEqual([1, 1]);
  });

  it("a secondary rate limit with Retry-After: 1 → waited at least 1 s, then lands once", async () => {
    standin.rateLimitNext("statuses", 1);
    const started = performance.now();
    await client().setStatus(status());
    expect(performance.now() - started).toBeGreaterThanOrEqual(990);
    expect(posts().map((c) => c.status)).toEqual([403, 201]);
    expect(standin.statuses()).toHaveLength(1);
  });

  it("a secondary rate limit asking for an hour → not waited: HttpError 502 at once, one attempt", async () => {
    standin.rateLimitNext("statuses", 3600);
    const started = performance.now();
    await expect(client().setStatus(status())).rejects.toMatchObject({
      status: 502,
      message: expect.stringContaining("(403)"),
    });
    expect(performance.now() - started).toBeLessThan(900);
    expect(posts()).toHaveLength(1);
  });

  it("a secondary rate limit that lasts → given up after 2 waits (3 attempts)", async () => {
    standin.rateLimitNext("statuses", 1, 10);
    await expect(client().setStatus(status())).rejects.toMatchObject({ status: 502 });
    expect(posts().map((c) => c.status)).toEqual([403, 403, 403]);
  });

  it.each([
    ["404: a repo the installation cannot see", () => client().setStatus(status({ owner: "bob" }))],
    ["422: a SHA GitHub rejects", () => client().setStatus(status({ sha: "not-a-sha" }))],
    ["400 injected", () => (standin.failNext("statuses", 400, 5), client().setStatus(status()))],
    ["429 without rate-limit signs", () => (standin.failNext("statuses", 429, 5), client().setStatus(status()))],
  ])("%s → not retried: one attempt, HttpError 502", async (_, post) => {
    await expect(post()).rejects.toMatchObject({ status: 502 });
    expect(posts()).toHaveLength(1);
  });

  it("20 status posts at once and a clone token for one installation → one token minted, used by all", async () => {
    const github = client();
    const contexts = Array.from({ length: 20 }, (_, i) => `fn-${i}`);
    await Promise.all(contexts.map((context) => github.setStatus(status({ context }))));
    const token = await github.installationToken(7);
    expect(standin.statuses()).toHaveLength(20);
    expect(standin.tokensMinted(7)).toBe(1);
    expect(new Set(posts().map((c) => c.headers.authorization))).toEqual(new Set([`token ${token}`]));
  });

  it("a token 4.5 min from its expires_at → replaced before use; 6 min from it → reused", async () => {
    // The stand-in and the client share one clock. Tokens live 8 minutes so the clock stays inside the App JWT's
    // 10-minute window (auth-app signs it with the real clock).
    let clock = Date.now();
    const live = await startGithubStandin({
      appId: world.app.appId,
      publicKeyPem: world.app.publicKeyPem,
      installations: [{ id: 7, account: "alex" }],
      now: () => clock,
      tokenLifetimeMs: 8 * 60_000,
    });
    try {
      const github = createGithub({
        appId: String(world.app.appId),
        privateKey: world.app.privateKeyPem,
        apiUrl: live.url,
        reportStatus: true,
        log: pino({ level: "silent" }),
        now: () => clock,
      });
      await github.setStatus(status());
      const first = await github.installationToken(7);
      clock += 2 * 60_000;
      await github.setStatus(status({ state: "success" }));
      expect(live.tokensMinted(7)).toBe(1);
      clock += 90_000;
      await github.setStatus(status({ state: "success", context: "api" }));
      const second = await github.installationToken(7);
      expect([live.tokensMinted(7), second === first]).toEqual([2, false]);
      expect(live.calls.at(-1)?.headers.authorization).toBe(`token ${second}`);
    } finally {
      await live.close();
    }
  });
});

// Issue #17: a re-run asks GitHub for its branch's tip; a missing branch is an answer (undefined), a failure is not.
describe("github client: branchTip", () => {
  const RELEASE = "c".repeat(40);
  let tipsWorld: Awaited<ReturnType<typeof startGithub>>;
  beforeEach(async () => {
    tipsWorld = await startGithub({
      installations: [{ id: 7, account: "alex" }],
      branchTip: (owner, repo, branch) =>
        owner === "Alex" && repo === "fns" ? { main: SHA, "release/1.x": RELEASE }[branch] : undefined,
    });
  });
  afterEach(() => tipsWorld.close());

  it.each([
    ["main", SHA],
    ["release/1.x", RELEASE],
    ["gone", undefined],
  ])("branch %s → %s", async (branch, tip) => {
    expect(await tipsWorld.github.branchTip({ installationId: 7, owner: "Alex", repo: "fns" }, branch)).toBe(tip);
  });

  it("with report_status off → still asked (a read, not a report)", async () => {
    expect(await tipsWorld.client(false).branchTip({ installationId: 7, owner: "Alex", repo: "fns" }, "main")).toBe(
      SHA,
    );
  });

  it("GitHub refuses (422) → HttpError 502 naming the branch, not undefined", async () => {
    tipsWorld.standin.failNext("branches", 422);
    await expect(
      tipsWorld.github.branchTip({ installationId: 7, owner: "Alex", repo: "fns" }, "main"),
    ).rejects.toMatchObject({
      status: 502,
      message: expect.stringMatching(/^github: branch main of Alex\/fns unavailable \(422\)/) as unknown,
    });
  });

  it("an installation that cannot see the repository → undefined (GitHub's 404)", async () => {
    expect(
      await tipsWorld.github.branchTip({ installationId: 7, owner: "someone-else", repo: "fns" }, "main"),
    ).toBeUndefined();
  });
});
