import type { GithubStandin } from "../local/github-standin/server.js";
import { startGithub } from "../test/support/github.js";
import { fitDescription, type CommitStatus } from "./github.js";

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
