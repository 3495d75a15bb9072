import axios from "axios";
import examples from "@octokit/webhooks-examples/api.github.com/index.json" with { type: "json" };
import { PAYLOAD_SECRET, repoint, startFrontDoor } from "../../test/support/front-door.js";
import { signHop, signPayload } from "../../shared/hmac.js";

type Push = Record<string, unknown> & { repository: Record<string, unknown> & { owner: Record<string, unknown> } };
const masterPush = (examples as Array<{ name: string; examples: Push[] }>)
  .find((e) => e.name === "push")!
  .examples.find((p) => p.ref === "refs/heads/master" && p.installation)!;
const SHA = masterPush.after as string;

let door: Awaited<ReturnType<typeof startFrontDoor>>;
afterEach(() => door.close());

/** A push (from the example, with changes) sent to github-push as github-event forwards it. */
async function push(
  changes: Record<string, unknown> = {},
  options: { event?: string; signature?: string; signedFor?: string; signedAt?: number } = {},
) {
  const body = JSON.parse(repoint(masterPush, door.standin.url)) as Push;
  Object.assign(body, changes);
  const text = JSON.stringify(body);
  return axios.post<string>(`${door.gatewayUrl}function/github-push`, text, {
    headers: {
      "content-type": "application/json",
      "x-github-event": options.event ?? "push",
      "x-github-delivery": "delivery-1",
      "x-cloud-signature-256":
        options.signature ?? signHop(PAYLOAD_SECRET, options.signedFor ?? "github-push", text, options.signedAt),
    },
    responseType: "text",
    validateStatus: () => true,
  });
}

const recorded = () =>
  door.standin.statuses().map((s) => ({ state: s.state, context: s.context, description: s.description }));

describe("github-push", () => {
  it("build branch (the repository's default) → pending stack-deploy, git-tar queued with the build request", async () => {
    door = await startFrontDoor();
    const res = await push();
    expect(res.status).toBe(202);
    expect(res.data).toBe(
      `Push: Codertocat/Hello-World@refs/heads/master [${door.standin.url}/Codertocat/Hello-World.git], git-tar: 202`,
    );
    expect(recorded()).toEqual([
      { state: "pending", context: "stack-deploy", description: "codertocat-hello-world stack deploy is in progress" },
    ]);
    expect(door.standin.statuses()[0]!.sha).toBe(SHA);
    // Without system_public_url there is no dashboard to link (as before issue #14).
    expect(door.standin.statuses()[0]!.target_url).toBeNull();
    expect(door.queued.map((q) => q.function)).toEqual(["git-tar"]);
    expect(JSON.parse(door.queued[0]!.body.toString())).toEqual({
      owner: "Codertocat",
      ownerId: 21031067,
      repo: "Hello-World",
      fullName: "Codertocat/Hello-World",
      repoUrl: `${door.standin.url}/Codertocat/Hello-World`,
      private: false,
      sha: SHA,
      ref: "refs/heads/master",
      branch: "master",
      installationId: 1,
      deliveryId: "delivery-1",
    });
  });

  it("other branch → success 'skipping build' status with the original text, nothing queued", async () => {
    door = await startFrontDoor();
    const res = await push({ ref: "refs/heads/staging" });
    const message = "skipping build for: refs/heads/staging branch, the build branch is: master";
    expect([res.status, res.data]).toEqual([200, message]);
    expect(recorded()).toEqual([{ state: "success", context: "stack-deploy", description: message }]);
    expect(door.queued).toHaveLength(0);
  });

  it("tag → success 'skipping build' status, nothing queued", async () => {
    door = await startFrontDoor();
    await push({ ref: "refs/tags/v1.0.0" });
    expect(recorded()).toEqual([
      {
        state: "success",
        context: "stack-deploy",
        description: "skipping build for: refs/tags/v1.0.0 branch, the build branch is: master",
      },
    ]);
    expect(door.queued).toHaveLength(0);
  });

  it("system_public_url set → the pending and the skipping stack-deploy statuses link the owner's dashboard", async () => {
    door = await startFrontDoor({ systemPublicUrl: "https://system.example.com/" });
    expect((await push()).status).toBe(202);
    expect((await push({ ref: "refs/heads/staging" })).status).toBe(200);
    expect(door.standin.statuses().map((s) => [s.state, s.target_url])).toEqual([
      ["pending", "https://system.example.com/dashboard/codertocat"],
      ["success", "https://system.example.com/dashboard/codertocat"],
    ]);
  });

  it("build_branch set → that branch builds and the default branch is skipped", async () => {
    door = await startFrontDoor({ buildBranch: "staging" });
    expect((await push({ ref: "refs/heads/staging" })).status).toBe(202);
    expect((await push({ ref: "refs/heads/master" })).status).toBe(200);
    expect(recorded()).toEqual([
      { state: "pending", context: "stack-deploy", description: "codertocat-hello-world stack deploy is in progress" },
      {
        state: "success",
        context: "stack-deploy",
        description: "skipping build for: refs/heads/master branch, the build branch is: staging",
      },
    ]);
    expect(door.queued).toHaveLength(1);
  });

  it.each([
    ["deleted build branch", { deleted: true, after: "0".repeat(40) }],
    ["zero SHA without deleted flag", { after: "0".repeat(40) }],
    ["deleted flag with a SHA", { deleted: true }],
  ])("%s → 200 skipped cleanly, no status, nothing queued", async (_, changes) => {
    door = await startFrontDoor();
    const res = await push(changes);
    expect(res.status).toBe(200);
    expect(res.data).toBe("skipping build for: refs/heads/master: the ref was deleted");
    expect(door.standin.calls.filter((c) => c.path.includes("/statuses/"))).toHaveLength(0);
    expect(door.queued).toHaveLength(0);
  });

  it("mixed-case owner and repo → lower-case names in the status, the owner's own case for GitHub's API", async () => {
    door = await startFrontDoor({ installations: [{ id: 1, account: "MiXeD-Case" }] });
    const body = JSON.parse(repoint(masterPush, door.standin.url)) as Push;
    const repository = {
      ...body.repository,
      name: "My-Repo",
      full_name: "MiXeD-Case/My-Repo",
      owner: { ...body.repository.owner, login: "MiXeD-Case" },
    };
    expect((await push({ repository })).status).toBe(202);
    expect(recorded()).toEqual([
      { state: "pending", context: "stack-deploy", description: "mixed-case-my-repo stack deploy is in progress" },
    ]);
    expect(door.standin.statuses()[0]).toMatchObject({ owner: "MiXeD-Case", repo: "My-Repo" });
  });

  it("hand-off to git-tar fails → failure status naming the reason, 502, never a silent drop", async () => {
    door = await startFrontDoor();
    door.state.failQueue = true;
    const res = await push();
    expect(res.status).toBe(502);
    expect(recorded()).toEqual([
      { state: "pending", context: "stack-deploy", description: "codertocat-hello-world stack deploy is in progress" },
      {
        state: "failure",
        context: "stack-deploy",
        description: "unable to start the build: gateway: async-function/git-tar answered 500: internal error",
      },
    ]);
  });

  it("build accepted → a pending-build record for build-reaper, without a heartbeat (issue #11)", async () => {
    door = await startFrontDoor();
    const before = Date.now();
    expect((await push()).status).toBe(202);
    const record = await door.pending.get({ owner: "Codertocat", repo: "Hello-World", sha: SHA });
    expect(record).toEqual({
      owner: "Codertocat",
      ownerId: 21031067,
      repo: "Hello-World",
      sha: SHA,
      installationId: 1,
      acceptedAt: expect.any(String),
    });
    expect(Date.parse(record!.acceptedAt)).toBeGreaterThanOrEqual(before - 1000);
    expect(Date.parse(record!.acceptedAt)).toBeLessThanOrEqual(Date.now());
  });

  it.each([
    ["other branch", { ref: "refs/heads/staging" }],
    ["deleted branch", { deleted: true, after: "0".repeat(40) }],
  ])("%s → no pending-build record", async (_, changes) => {
    door = await startFrontDoor();
    await push(changes);
    expect((await door.pending.list({ limit: 10 })).entries).toEqual([]);
  });

  it("hand-off to git-tar fails → the failure ends the build: no pending-build record left", async () => {
    door = await startFrontDoor();
    door.state.failQueue = true;
    expect((await push()).status).toBe(502);
    expect((await door.pending.list({ limit: 10 })).entries).toEqual([]);
  });

  it("S3 down → the build still starts (the record is best effort)", async () => {
    door = await startFrontDoor();
    await door.s3.close();
    expect((await push()).status).toBe(202);
    expect(door.queued).toHaveLength(1);
  });

  it("GitHub refuses the pending status → the build still starts", async () => {
    door = await startFrontDoor();
    door.standin.failNext("statuses", 500);
    expect((await push()).status).toBe(202);
    expect(door.queued).toHaveLength(1);
  });

  it.each([
    ["no signature", 401, { signature: "" }],
    ["a signature made with another secret", 401, { signature: signHop("other", "github-push", "{}") }],
    ["a hop signed for git-tar", 401, { signedFor: "git-tar" }],
    ["a hop signed 6 minutes ago (replayed)", 401, { signedAt: Date.now() - 6 * 60_000 }],
    ["another event", 400, { event: "issues" }],
  ])("%s → %s, nothing posted or queued", async (_, status, options) => {
    door = await startFrontDoor();
    const res = await push({}, options);
    expect(res.status).toBe(status);
    expect(door.standin.calls.filter((c) => c.path.includes("/statuses/"))).toHaveLength(0);
    expect(door.queued).toHaveLength(0);
  });

  it("a push without the fields it needs → 400 naming them", async () => {
    door = await startFrontDoor();
    const res = await push({ after: "xyz", ref: "" });
    expect(res.status).toBe(400);
    expect(res.data).toMatch(/^push event: ref: .*; after: expected a 40-character hex SHA/);
  });
});

describe("github-push /build-result: the queue-worker's callback after git-tar", () => {
  /** Queues a build, then plays the queue-worker: POSTs git-tar's answer to the X-Callback-Url the build carried. */
  async function callback(answer: { status: string; body?: string; headers?: Record<string, string> }, url?: string) {
    expect((await push()).status).toBe(202);
    const target = url ?? door.queued[0]!.callbackUrl!;
    return axios.post<string>(target, answer.body ?? "", {
      headers: {
        "x-function-status": answer.status,
        "x-function-name": "git-tar",
        "x-call-id": door.queued[0]!.callId,
        ...answer.headers,
      },
      responseType: "text",
      validateStatus: () => true,
    });
  }
  const final = () => recorded().filter((s) => s.state !== "pending");

  it("every queued build names github-push's /build-result, signed, for its commit", async () => {
    door = await startFrontDoor();
    await push();
    const url = new URL(door.queued[0]!.callbackUrl!);
    expect(url.pathname).toBe("/function/github-push/build-result");
    expect(Object.fromEntries(url.searchParams)).toEqual({
      owner: "Codertocat",
      repo: "Hello-World",
      sha: SHA,
      installation: "1",
      sig: expect.stringMatching(/^sha256=[0-9a-f]{64}$/),
    });
  });

  it("git-tar answered 502 without reporting → error status with the status and its first line", async () => {
    door = await startFrontDoor();
    const res = await callback({ status: "502", body: "upstream connect error\nsecond line" });
    expect(res.status).toBe(200);
    expect(final()).toEqual([
      {
        state: "error",
        context: "stack-deploy",
        description: "build error: git-tar answered 502: upstream connect error",
      },
    ]);
    expect(door.standin.statuses().at(-1)!.sha).toBe(SHA);
  });

  it("git-tar answered 502, system_public_url set → the error status links the owner's dashboard", async () => {
    door = await startFrontDoor({ systemPublicUrl: "https://system.example.com" });
    await callback({ status: "502", body: "upstream connect error" });
    expect(door.standin.statuses().at(-1)).toMatchObject({
      state: "error",
      target_url: "https://system.example.com/dashboard/codertocat",
    });
  });

  it("git-tar answered 502 → the build ended: its pending-build record is removed", async () => {
    door = await startFrontDoor();
    await callback({ status: "502", body: "upstream connect error" });
    expect(await door.pending.get({ owner: "Codertocat", repo: "Hello-World", sha: SHA })).toBeUndefined();
  });

  it("use_checks, git-tar crashed with api's run in progress → stack-deploy and api runs completed failure", async () => {
    door = await startFrontDoor({ useChecks: true });
    expect((await push()).status).toBe(202);
    const commit = { installationId: 1, owner: "Codertocat", repo: "Hello-World", sha: SHA };
    // What git-tar did before it crashed: api's run in progress, and api named in the pending-build record.
    await door.github.createCheckRun(commit, { name: "api", status: "in_progress" });
    const record = await door.pending.get(commit);
    await door.pending.put({ ...record!, functions: ["api"] });
    const res = await axios.post<string>(door.queued[0]!.callbackUrl!, "upstream connect error", {
      headers: { "x-function-status": "502", "x-function-name": "git-tar" },
      responseType: "text",
      validateStatus: () => true,
    });
    expect(res.status).toBe(200);
    const description = "build error: git-tar answered 502: upstream connect error";
    expect(door.standin.checkRuns().map((r) => [r.name, r.status, r.conclusion, r.output?.title])).toEqual([
      ["stack-deploy", "completed", "failure", description],
      ["api", "completed", "failure", description],
    ]);
  });

  it("git-tar reported the outcome itself → the record is git-tar's to remove, left alone here", async () => {
    door = await startFrontDoor();
    await callback({ status: "500", headers: { "x-ofc-status-posted": "true" } });
    expect(await door.pending.get({ owner: "Codertocat", repo: "Hello-World", sha: SHA })).toBeDefined();
  });

  it("git-tar refused the hand-off (401, no status of its own) → error status", async () => {
    door = await startFrontDoor();
    await callback({ status: "401", body: "invalid or missing X-Cloud-Signature-256" });
    expect(final()).toEqual([
      {
        state: "error",
        context: "stack-deploy",
        description: "build error: git-tar answered 401: invalid or missing X-Cloud-Signature-256",
      },
    ]);
  });

  it.each([
    ["a 500 after git-tar reported the error itself", "500", { "x-ofc-status-posted": "true" }],
    ["a 422 after git-tar reported the failure itself", "422", { "x-ofc-status-posted": "true" }],
    ["a 200 whose status post failed (outcome unknown here)", "200", {}],
  ])("%s → nothing posted", async (_, status, headers) => {
    door = await startFrontDoor();
    const res = await callback({ status, headers });
    expect(res.status).toBe(200);
    expect(final()).toEqual([]);
  });

  it.each([
    ["no signature", (u: URL) => u.searchParams.delete("sig")],
    ["another commit under the same signature", (u: URL) => u.searchParams.set("sha", "0".repeat(40))],
    ["another owner under the same signature", (u: URL) => u.searchParams.set("owner", "octocat")],
    ["a signature made with another secret", (u: URL) => u.searchParams.set("sig", signPayload("other", "x"))],
  ])("%s → 401, nothing posted", async (_, tamper) => {
    door = await startFrontDoor();
    await push();
    const url = new URL(door.queued[0]!.callbackUrl!);
    tamper(url);
    door.queued.length = 0;
    const res = await callback({ status: "502" }, url.toString());
    expect([res.status, res.data]).toEqual([401, "invalid or missing build-result signature"]);
    expect(final()).toEqual([]);
  });
});
