import examples from "@octokit/webhooks-examples/api.github.com/index.json" with { type: "json" };
import { parseGithubRerun, wantsRerun } from "./rerun.js";

type Example = {
  action: string;
  installation?: { id: number };
  repository: { full_name: string };
  check_suite?: { head_sha: string; head_branch: string | null };
  check_run?: { check_suite: { head_sha: string; head_branch: string | null } };
};
const all = (examples as Array<{ name: string; examples: Example[] }>)
  .filter((e) => e.name === "check_run" || e.name === "check_suite")
  .flatMap((e) => e.examples.map((example, i) => [e.name, i, example.action, example] as const));
const body = (value: unknown) => Buffer.from(JSON.stringify(value));

describe("wantsRerun (issue #17)", () => {
  it.each(all)(
    "%s #%s (%s) → a re-run only for check_run.rerequested, check_suite.(re)requested",
    (name, _, action, e) => {
      const expected = action === "rerequested" || (name === "check_suite" && action === "requested");
      expect(wantsRerun(name, body(e))).toBe(expected);
    },
  );

  it.each([
    ["pull_request", "rerequested"],
    ["push", "requested"],
    ["check_run", "requested"],
  ])("%s with action %s → not a re-run", (name, action) => {
    expect(wantsRerun(name, body({ action }))).toBe(false);
  });

  it("a body that is not JSON → HttpError 400 naming the event", () => {
    expect(() => wantsRerun("check_suite", Buffer.from("not json{"))).toThrow(
      expect.objectContaining({ status: 400, message: "check_suite event: body is not valid JSON" }) as Error,
    );
  });
});

describe("parseGithubRerun", () => {
  const reruns = all.filter(([name, , action]) => wantsRerun(name, body({ action })));

  it.each(reruns)("%s #%s (%s) → the suite's commit and branch, repository, installation", (name, _, action, e) => {
    const suite = e.check_suite ?? e.check_run!.check_suite;
    expect(parseGithubRerun(name, body(e))).toMatchObject({
      event: name,
      action,
      sha: suite.head_sha,
      branch: suite.head_branch,
      installationId: e.installation!.id,
      repository: expect.objectContaining({ full_name: e.repository.full_name }) as unknown,
    });
  });

  it("a check_suite without a branch (head_branch null) → branch null, not a 400", () => {
    const [, , , e] = reruns.find(([name]) => name === "check_suite")!;
    const parsed = parseGithubRerun(
      "check_suite",
      body({ ...e, check_suite: { ...e.check_suite, head_branch: null } }),
    );
    expect(parsed.branch).toBeNull();
  });

  it.each([
    ["check_suite", { action: "completed" }, /^check_suite event: action: /],
    ["check_run", { action: "requested" }, /^check_run event: action: /],
    ["push", {}, /^not a re-run event: push$/],
  ])("%s %j → HttpError 400", (name, changes, message) => {
    const [, , , e] = reruns.find(([n]) => n === (name === "push" ? "check_suite" : name))!;
    expect(() => parseGithubRerun(name, body({ ...e, ...changes }))).toThrow(
      expect.objectContaining({ status: 400, message: expect.stringMatching(message) as unknown }) as Error,
    );
  });
});
