import { pino } from "pino";
import { createGithub, type GithubApp } from "../../shared/github.js";
import { createTestApp } from "./app-keys.js";
import { startGithubStandin, type GithubStandin } from "./server.js";

// Issue #17: the stand-in's Deployments API refuses what GitHub refuses, and the production client's calls pass it.
const SHA = "b".repeat(40);
let standin: GithubStandin;
let github: GithubApp;
let token: string;
beforeAll(async () => {
  const app = createTestApp();
  standin = await startGithubStandin({ ...app, installations: [{ id: 11, account: "alice" }] });
  github = createGithub({
    appId: String(app.appId),
    privateKey: app.privateKeyPem,
    apiUrl: standin.url,
    reportStatus: true,
    log: pino({ level: "silent" }),
    now: Date.now,
  });
  token = await github.installationToken(11);
});
afterAll(() => standin.close());
beforeEach(() => standin.reset());

const repo = { installationId: 11, owner: "alice", repo: "fns" };
async function call(method: string, path: string, body?: unknown, auth = `token ${token}`) {
  const res = await fetch(standin.url + path, {
    method,
    headers: { "content-type": "application/json", authorization: auth },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as { message?: string; errors?: Array<{ field: string }> } };
}
const created = () => call("POST", "/repos/alice/fns/deployments", { ref: SHA, required_contexts: [] });

describe("the stand-in's Deployments API", () => {
  it("the client's create, statuses and list → recorded in order; listed by environment, newest first", async () => {
    const first = await github.createDeployment({ ...repo, sha: SHA }, "preview/feature/x", "preview of feature/x");
    const second = await github.createDeployment({ ...repo, sha: SHA }, "preview/feature/x", "again");
    await github.createDeployment({ ...repo, sha: SHA }, "preview/other", "other");
    await github.setDeploymentStatus(repo, first!, { state: "in_progress" });
    await github.setDeploymentStatus(repo, first!, { state: "success", environmentUrl: "http://alice.localhost/x" });
    expect(await github.listDeployments(repo, "preview/feature/x")).toEqual([second, first]);
    expect(standin.deployments()[0]).toMatchObject({
      sha: SHA,
      environment: "preview/feature/x",
      transient_environment: true,
      production_environment: false,
      statuses: [
        { state: "in_progress", environment_url: null },
        { state: "success", environment_url: "http://alice.localhost/x" },
      ],
    });
  });

  it.each([
    ["no token", () => call("POST", "/repos/alice/fns/deployments", { ref: SHA }, ""), 401],
    ["a bad token", () => call("POST", "/repos/alice/fns/deployments", { ref: SHA }, "token ghs_nope"), 401],
    ["another account's repository", () => call("POST", "/repos/bob/fns/deployments", { ref: SHA }), 404],
    ["no ref", () => call("POST", "/repos/alice/fns/deployments", { required_contexts: [] }), 422],
    [
      "a ref that names no commit",
      () => call("POST", "/repos/alice/fns/deployments", { ref: "nope", required_contexts: [] }),
      422,
    ],
    [
      "an environment over 255 characters",
      () =>
        call("POST", "/repos/alice/fns/deployments", { ref: SHA, environment: "e".repeat(256), required_contexts: [] }),
      422,
    ],
    ["a string for a boolean", () => call("POST", "/repos/alice/fns/deployments", { ref: SHA, auto_merge: "no" }), 422],
    [
      "required contexts left to the default (pending)",
      () => call("POST", "/repos/alice/fns/deployments", { ref: SHA }),
      409,
    ],
  ])("create with %s → refused as GitHub does, nothing recorded", async (_, send, status) => {
    expect((await send()).status).toBe(status);
    expect(standin.deployments()).toEqual([]);
  });

  it.each([
    ["a state GitHub does not know", { state: "done" }, "state"],
    ["no state", {}, "state"],
    [
      "an environment_url that is no URL",
      { state: "success", environment_url: "alice.localhost/x" },
      "environment_url",
    ],
    ["a log_url that is no URL", { state: "success", log_url: "javascript:alert(1)" }, "log_url"],
    ["a description over 140 characters", { state: "failure", description: "d".repeat(141) }, "description"],
  ])("a status with %s → 422 naming the field, nothing recorded", async (_, body, field) => {
    const { body: deployment } = (await created()) as unknown as { body: { id: number } };
    const res = await call("POST", `/repos/alice/fns/deployments/${deployment.id}/statuses`, body);
    expect(res.status).toBe(422);
    expect(res.body.errors?.map((e) => e.field)).toEqual([field]);
    expect(standin.deployments()[0]?.statuses).toEqual([]);
  });

  it("a status for a deployment of another repository → 404", async () => {
    const { body: deployment } = (await created()) as unknown as { body: { id: number } };
    expect(
      (await call("POST", `/repos/alice/other/deployments/${deployment.id}/statuses`, { state: "inactive" })).status,
    ).toBe(404);
  });
});
