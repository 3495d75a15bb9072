import examples from "@octokit/webhooks-examples/api.github.com/index.json" with { type: "json" };
import { repoint, startFrontDoor } from "../../test/support/front-door.js";

// Issue #17: "Re-run" on GitHub (check_run.rerequested, check_suite.rerequested) and the suite GitHub requests on each
// push (check_suite.requested), through the real front door: github-event under the local gateway, really signed
// webhooks, github-push against the strict GitHub stand-in, pending-build records in a real S3 server.
type Json = Record<string, unknown> & { installation?: Json; check_suite?: Json; check_run?: Json };
const examplesOf = (name: string) =>
  (examples as Array<{ name: string; examples: Json[] }>).find((e) => e.name === name)!.examples;
const example = (name: string, action: string) => examplesOf(name).find((e) => e.action === action)!;
const masterPush = examplesOf("push").find((p) => p.ref === "refs/heads/master" && p.installation)!;
// The push example's commit and repository (Codertocat/Hello-World, default branch master, installation 1 here).
const SHA = masterPush.after as string;
const NEWER = "def5678".padEnd(40, "0");
const OWNER = "Codertocat";

let door: Awaited<ReturnType<typeof startFrontDoor>>;
let tips: Record<string, string>;
beforeEach(async () => {
  tips = { master: SHA };
  door = await startFrontDoor({ useChecks: true, branchTip });
});
const branchTip = (owner: string, repo: string, branch: string) =>
  owner === OWNER && repo === "Hello-World" ? tips[branch] : undefined;
afterEach(() => door.close());

type Commit = { sha?: string; branch?: string | null };

/** A check_suite webhook (the example, re-pointed at this test's repository, installation and commit). */
function checkSuite(action: "requested" | "rerequested", { sha = SHA, branch = "master" }: Commit = {}): string {
  const body = JSON.parse(repoint(example("check_suite", action), door.standin.url)) as Json;
  body.installation = { ...body.installation, id: 1 };
  body.check_suite = { ...body.check_suite, head_sha: sha, head_branch: branch };
  return JSON.stringify(body);
}

/** A check_run.rerequested webhook: the example's run, moved onto this test's repository and commit. */
function checkRun({ sha = SHA, branch = "master" }: Commit = {}): string {
  const body = JSON.parse(repoint(example("check_run", "rerequested"), door.standin.url)) as Json;
  body.repository = JSON.parse(repoint(example("check_suite", "rerequested").repository, door.standin.url)) as Json;
  body.installation = { ...body.installation, id: 1 };
  const suite = { ...(body.check_run!.check_suite as Json), head_sha: sha, head_branch: branch };
  body.check_run = { ...body.check_run, head_sha: sha, check_suite: suite };
  return JSON.stringify(body);
}

const rerequests: Array<[string, "check_suite" | "check_run", (commit?: Commit) => string]> = [
  ["check_suite.rerequested", "check_suite", (commit) => checkSuite("rerequested", commit)],
  ["check_run.rerequested", "check_run", (commit) => checkRun(commit)],
];

const builds = () =>
  door.queued
    .filter((q) => q.function === "git-tar")
    .map((q) => JSON.parse(q.body.toString()) as Record<string, unknown>);
const stackStatuses = () =>
  door.standin.statuses({ sha: SHA, context: "stack-deploy" }).map((s) => [s.state, s.description]);
const branchLookups = () => door.standin.calls.filter((c) => c.path.includes("/branches/"));

describe("github-push: a re-run rebuilds the commit (issue #17)", () => {
  it.each(rerequests)(
    "%s of the build branch's tip → git-tar gets the push's build request",
    async (_, event, body) => {
      const res = await door.sendWebhook(event, body(), { delivery: "rerun-1" });
      expect(res.status).toBe(202);
      expect(res.data).toMatch(new RegExp(`^\\[github-push\\]: 202, Re-run \\(${event}\\.rerequested\\)`));
      expect(builds()).toEqual([
        {
          owner: OWNER,
          ownerId: 21031067,
          repo: "Hello-World",
          fullName: "Codertocat/Hello-World",
          repoUrl: `${door.standin.url}/Codertocat/Hello-World`,
          private: false,
          sha: SHA,
          ref: "refs/heads/master",
          branch: "master",
          installationId: 1,
          deliveryId: "rerun-1",
          checkRunId: door.standin.checkRuns()[0]!.id,
        },
      ]);
      // The push path's enqueue: the callback to github-push, the pending status and build-reaper's record.
      expect(new URL(door.queued[0]!.callbackUrl!).searchParams.get("sha")).toBe(SHA);
      expect(stackStatuses()).toEqual([["pending", "codertocat-hello-world stack deploy is in progress"]]);
      expect(await door.pending.get({ owner: OWNER, repo: "Hello-World", sha: SHA })).toBeDefined();
      // Same checks, new attempt: a queued stack-deploy run that git-tar takes over.
      expect(door.standin.checkRuns().map((r) => [r.name, r.head_sha, r.status])).toEqual([
        ["stack-deploy", SHA, "queued"],
      ]);
    },
  );

  it.each(rerequests)("%s of an already built commit → built again (a new attempt)", async (_, event, body) => {
    expect((await door.sendWebhook("push", repoint(masterPush, door.standin.url))).status).toBe(202);
    expect((await door.sendWebhook(event, body())).status).toBe(202);
    expect((await door.sendWebhook(event, body())).status).toBe(202);
    expect(builds().map((b) => b.sha)).toEqual([SHA, SHA, SHA]);
    expect(door.standin.checkRuns().filter((r) => r.name === "stack-deploy")).toHaveLength(3);
  });

  it.each(rerequests)(
    "%s of a commit its branch moved past → refused: a neutral check run, and no status over the commit's own",
    async (_, event, body) => {
      tips.master = NEWER;
      const res = await door.sendWebhook(event, body());
      const title = `Not re-run: ${SHA.slice(0, 7)} is no longer the tip of master (now def5678)`;
      expect([res.status, res.data]).toEqual([200, `[github-push]: 200, ${event}.rerequested: ${title}`]);
      expect(builds()).toEqual([]);
      expect(door.standin.checkRuns()).toEqual([
        expect.objectContaining({
          name: "stack-deploy",
          head_sha: SHA,
          status: "completed",
          conclusion: "neutral",
          output: expect.objectContaining({ title }) as unknown,
        }),
      ]);
      expect(stackStatuses()).toEqual([]);
      expect(await door.pending.get({ owner: OWNER, repo: "Hello-World", sha: SHA })).toBeUndefined();
    },
  );

  it("stale re-run with use_checks off → the error status alone, no check run", async () => {
    await door.close();
    door = await startFrontDoor({ branchTip });
    tips.master = NEWER;
    expect((await door.sendWebhook("check_suite", checkSuite("rerequested"))).status).toBe(200);
    expect(stackStatuses().map(([state]) => state)).toEqual(["error"]);
    expect(door.standin.checkRuns()).toEqual([]);
    expect(builds()).toEqual([]);
  });

  it("check_suite.rerequested after the branch was deleted → refused, naming the branch", async () => {
    delete tips.master;
    const res = await door.sendWebhook("check_suite", checkSuite("rerequested"));
    expect(res.status).toBe(200);
    expect(res.data).toMatch(/Not re-run: branch master no longer exists$/);
    expect(builds()).toEqual([]);
    expect(door.standin.checkRuns().map((r) => r.conclusion)).toEqual(["neutral"]);
  });

  it.each([
    [
      "another branch",
      "changes",
      "check_suite.rerequested: skipping build for: refs/heads/changes branch, the build branch is: master",
    ],
    [
      "a branch ending in the build branch's name",
      "x/master",
      "check_suite.rerequested: skipping build for: refs/heads/x/master branch, the build branch is: master",
    ],
  ])("re-run on %s → not built, as its push was not; nothing posted", async (_, branch, message) => {
    tips[branch] = SHA;
    const res = await door.sendWebhook("check_suite", checkSuite("rerequested", { branch }));
    expect([res.status, res.data]).toEqual([200, `[github-push]: 200, ${message}`]);
    expect(builds()).toEqual([]);
    expect(door.standin.statuses()).toEqual([]);
    expect(branchLookups()).toEqual([]);
  });

  it("enable_previews on: a re-run of another branch's tip → rebuilt as that branch's preview, as its push was", async () => {
    await door.close();
    door = await startFrontDoor({ useChecks: true, branchTip, enablePreviews: true });
    tips.changes = SHA;
    const res = await door.sendWebhook("check_suite", checkSuite("rerequested", { branch: "changes" }));
    expect(res.status).toBe(202);
    expect(builds()).toEqual([expect.objectContaining({ sha: SHA, branch: "changes", preview: true })]);
  });

  it("re-run of a commit on no branch (head_branch null) → not built", async () => {
    const res = await door.sendWebhook("check_run", checkRun({ branch: null }));
    expect(res.status).toBe(200);
    expect(res.data).toMatch(/is on no branch: nothing to build$/);
    expect(builds()).toEqual([]);
  });

  it("GitHub fails the branch lookup → 502, the delivery released so a redelivery builds", async () => {
    // Four refusals: the gateway client retries a 502 from github-push three times before github-event gives up.
    door.standin.failNext("branches", 422, 4);
    const body = checkSuite("rerequested");
    const failed = await door.sendWebhook("check_suite", body, { delivery: "d-9" });
    expect(failed.status).toBe(502);
    expect(builds()).toEqual([]);
    const retried = await door.sendWebhook("check_suite", body, { delivery: "d-9" });
    expect(retried.status).toBe(202);
    expect(builds()).toHaveLength(1);
  });
});

describe("github-push: check_suite.requested (sent with every push) builds a commit once", () => {
  it("push, then its check_suite.requested → one build", async () => {
    expect((await door.sendWebhook("push", repoint(masterPush, door.standin.url))).status).toBe(202);
    const res = await door.sendWebhook("check_suite", checkSuite("requested"));
    expect([res.status, res.data]).toEqual([
      200,
      `[github-push]: 200, check_suite.requested: ${SHA.slice(0, 7)} was already built: not built again`,
    ]);
    expect(builds()).toHaveLength(1);
  });

  it("check_suite.requested first (its push not seen) → built; the same request again → not built twice", async () => {
    expect((await door.sendWebhook("check_suite", checkSuite("requested"))).status).toBe(202);
    expect((await door.sendWebhook("check_suite", checkSuite("requested"))).status).toBe(200);
    expect(builds().map((b) => [b.sha, b.branch])).toEqual([[SHA, "master"]]);
  });

  it("a build that ended (record gone, stack-deploy status left) → check_suite.requested does not build it again", async () => {
    expect((await door.sendWebhook("push", repoint(masterPush, door.standin.url))).status).toBe(202);
    await door.pending.remove({ owner: OWNER, repo: "Hello-World", sha: SHA });
    const res = await door.sendWebhook("check_suite", checkSuite("requested"));
    expect(res.status).toBe(200);
    expect(builds()).toHaveLength(1);
  });

  it("a build under way whose pending status GitHub refused (record only) → not built again", async () => {
    door.standin.failNext("statuses", 422);
    expect((await door.sendWebhook("push", repoint(masterPush, door.standin.url))).status).toBe(202);
    expect(stackStatuses()).toEqual([]);
    expect((await door.sendWebhook("check_suite", checkSuite("requested"))).status).toBe(200);
    expect(builds()).toHaveLength(1);
  });

  it("check_suite.requested for an older commit than the tip → refused as stale, not built", async () => {
    tips.master = NEWER;
    const res = await door.sendWebhook("check_suite", checkSuite("requested"));
    expect(res.status).toBe(200);
    expect(res.data).toMatch(/Not re-run: .* is no longer the tip of master/);
    expect(builds()).toEqual([]);
  });
});
