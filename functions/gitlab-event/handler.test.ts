import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { invokeHandler } from "../../shared/function-server.js";
import { createHandler, depsFromEnv } from "./handler.js";

// The composition root over real secret files in a temp folder: an installation without GitLab still starts
// gitlab-event (the secrets exist, empty), and it answers 503 until gitlab_url and both GitLab secrets are set.
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "gitlab-event-"));
  writeFileSync(join(dir, "payload-secret"), "payload");
  writeFileSync(join(dir, "customers"), "gitlab:group\n");
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const env = (extra: Record<string, string> = {}) => ({ secret_mount_path: dir, log_level: "silent", ...extra });
const push = (token: string) => ({
  body: Buffer.from(JSON.stringify({ event_name: "push" })),
  headers: { "x-gitlab-token": token, "x-gitlab-event": "System Hook" },
  method: "POST",
  query: {},
  path: "/",
});

describe("gitlab-event depsFromEnv", () => {
  it.each([
    ["empty GitLab secret files, no gitlab_url", { "gitlab-webhook-secret": "", "gitlab-api-token": "" }, {}],
    ["no gitlab_url", { "gitlab-webhook-secret": "hook", "gitlab-api-token": "api" }, {}],
    ["no webhook secret", { "gitlab-api-token": "api" }, { gitlab_url: "https://gitlab.example.com" }],
  ])("%s → starts, answers 503 naming what to set", async (_, secrets, extra) => {
    for (const [name, value] of Object.entries(secrets)) writeFileSync(join(dir, name), value);
    const res = await invokeHandler(createHandler(depsFromEnv(env(extra))), push("hook"));
    expect([res.status, res.body.toString()]).toEqual([
      503,
      "GitLab is not configured: set gitlab_url and the gitlab-webhook-secret secret",
    ]);
  });

  it("configured → the secret checked (401 for another token), the topic from installation_tag", async () => {
    writeFileSync(join(dir, "gitlab-webhook-secret"), "hook\n");
    writeFileSync(join(dir, "gitlab-api-token"), "api");
    const deps = depsFromEnv(env({ gitlab_url: "https://gitlab.example.com", installation_tag: "faas" }));
    expect(deps).toMatchObject({ webhookSecret: "hook", installationTag: "faas", api: expect.any(Object) });
    const res = await invokeHandler(createHandler(deps), push("other"));
    expect([res.status, res.body.toString()]).toEqual([401, "invalid or missing X-Gitlab-Token"]);
  });

  it("installation_tag unset → openfaas-cloud, as the original", () => {
    expect(depsFromEnv(env()).installationTag).toBe("openfaas-cloud");
  });
});
