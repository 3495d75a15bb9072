import examples from "@octokit/webhooks-examples/api.github.com/index.json" with { type: "json" };
import { signPayload } from "../../shared/hmac.js";
import { repoint, startFrontDoor, WEBHOOK_SECRET } from "../../test/support/front-door.js";

// Issue #17: check_run and check_suite webhooks pass the same front door as pushes (signature, delivery id,
// customers list, payload schema) before github-push sees them; only re-run actions are forwarded.
type Json = Record<string, unknown> & { installation?: Json; check_suite?: Json; check_run?: Json };
const examplesOf = (name: string) =>
  (examples as Array<{ name: string; examples: Json[] }>).find((e) => e.name === name)!.examples;
const SHA = "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c";

let door: Awaited<ReturnType<typeof startFrontDoor>>;
beforeEach(async () => {
  door = await startFrontDoor({ branchTip: (_, __, branch) => (branch === "master" ? SHA : undefined) });
});
afterEach(() => door.close());

/** check_suite.rerequested on this test's commit, with `changes` applied to the suite. */
function rerequested(changes: Json = {}): string {
  const example = examplesOf("check_suite").find((e) => e.action === "rerequested")!;
  const body = JSON.parse(repoint(example, door.standin.url)) as Json;
  body.installation = { ...body.installation, id: 1 };
  body.check_suite = { ...body.check_suite, head_sha: SHA, head_branch: "master", ...changes };
  return JSON.stringify(body);
}

const githubCalls = () => door.standin.calls.filter((c) => c.path.startsWith("/repos/"));

describe("github-event: check_run and check_suite actions that are not re-runs → ignored", () => {
  const ignored = ["check_run", "check_suite"].flatMap((name) =>
    examplesOf(name)
      .map((e, i) => [name, i, e.action as string, e] as const)
      .filter(([n, , action]) => !(action === "rerequested" || (n === "check_suite" && action === "requested"))),
  );

  it.each(ignored)("%s #%s (%s) → 200 ignored, nothing forwarded or asked of GitHub", async (name, _, __, example) => {
    const res = await door.sendWebhook(name, repoint(example, door.standin.url));
    expect([res.status, res.data]).toEqual([200, `github-event ignores ${name} actions other than re-runs`]);
    expect(door.queued).toHaveLength(0);
    expect(githubCalls()).toHaveLength(0);
  });
});

describe("github-event: re-run webhooks pass the push's front door", () => {
  it("check_suite.rerequested, correctly signed → forwarded: git-tar queued", async () => {
    const res = await door.sendWebhook("check_suite", rerequested());
    expect(res.status).toBe(202);
    expect(door.queued.map((q) => q.function)).toEqual(["git-tar"]);
  });

  it.each([
    ["wrong secret", (b: string) => signPayload("not-the-secret", b)],
    ["missing signature", () => null],
    ["signature of another body", () => signPayload(WEBHOOK_SECRET, "{}")],
  ])("check_suite.rerequested with %s → 401, nothing forwarded", async (_, sign) => {
    const body = rerequested();
    const res = await door.sendWebhook("check_suite", body, { signature: sign(body) });
    expect([res.status, res.data]).toEqual([401, "invalid or missing X-Hub-Signature-256"]);
    expect(door.queued).toHaveLength(0);
    expect(githubCalls()).toHaveLength(0);
  });

  it("the same X-GitHub-Delivery twice → built once, the replay answered 200", async () => {
    const first = await door.sendWebhook("check_suite", rerequested(), { delivery: "rerun-d-1" });
    const second = await door.sendWebhook("check_suite", rerequested(), { delivery: "rerun-d-1" });
    expect([first.status, second.status]).toEqual([202, 200]);
    expect(second.data).toBe("delivery rerun-d-1 was already received: ignored");
    expect(door.queued).toHaveLength(1);
  });

  it.each<[string, string, () => string, RegExp]>([
    ["check_suite", "non-JSON body", () => "not json{", /^check_suite event: body is not valid JSON$/],
    ["check_run", "non-JSON body", () => "not json{", /^check_run event: body is not valid JSON$/],
    [
      "check_suite",
      "a short head_sha",
      () => rerequested({ head_sha: "abc" }),
      /check_suite\.head_sha: expected a 40-character hex SHA/,
    ],
    [
      "check_suite",
      "no installation",
      () => JSON.stringify({ ...(JSON.parse(rerequested()) as Json), installation: undefined }),
      /^check_suite event: installation: /,
    ],
    [
      "check_run",
      "a run without its suite",
      () => JSON.stringify({ ...(JSON.parse(rerequested()) as Json), action: "rerequested", check_run: { id: 4 } }),
      /^check_run event: check_run\.check_suite: /,
    ],
  ])("%s with %s → 400 naming it, nothing forwarded", async (name, _, body, message) => {
    const res = await door.sendWebhook(name, body());
    expect(res.status).toBe(400);
    expect(res.data).toMatch(message);
    expect(door.queued).toHaveLength(0);
    expect(githubCalls()).toHaveLength(0);
  });

  it("owner not on the customers list → 403 with the push's text, nothing forwarded", async () => {
    await door.close();
    door = await startFrontDoor({ customers: "alexellis", branchTip: () => SHA });
    const res = await door.sendWebhook("check_suite", rerequested());
    expect([res.status, res.data]).toEqual([403, 'Customer: "Codertocat" not found in customers ACL']);
    expect(door.queued).toHaveLength(0);
    expect(githubCalls()).toHaveLength(0);
  });
});
