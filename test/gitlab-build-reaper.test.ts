import { pino } from "pino";
import { invokeHandler } from "../shared/function-server.js";
import { scmRouter } from "../shared/clients.js";
import type { Github } from "../shared/github.js";
import { createGitlab } from "../shared/gitlab.js";
import { gitlabOwner, gitlabOwnerId } from "../shared/naming.js";
import { createPendingBuilds, type PendingBuild } from "../shared/pending-builds.js";
import { createHandler } from "../functions/build-reaper/handler.js";
import { startGitlabStandin, type GitlabStandin } from "../local/gitlab-standin/server.js";
import { startS3Server } from "../local/services/s3.js";
import { startGithub } from "./support/github.js";

// Issue #19: a lost GitLab build is ended on GitLab. build-reaper reads the commit's statuses there (GitLab's running
// counts as still under way) and marks what is left failed, functions first, stack-deploy last.
const TOKEN = "glpat-reaper-test";
const MIN = 60_000;
const START = Date.parse("2026-05-01T12:00:00.000Z");
const log = pino({ level: "silent" });

let gl: GitlabStandin;
let world: Awaited<ReturnType<typeof startGithub>>;
let s3: Awaited<ReturnType<typeof startS3Server>>;
beforeEach(async () => {
  gl = await startGitlabStandin({ token: TOKEN });
  world = await startGithub({ installations: [{ id: 1, account: "alice" }], log });
  s3 = await startS3Server();
});
afterEach(async () => {
  await Promise.all([gl.close(), world.close(), s3.close()]);
});

it("a GitLab build whose heartbeat went stale → its running function and stack-deploy failed on GitLab, a finished one untouched, record removed", async () => {
  const { project, repo } = await gl.createProject({ fullPath: "group/sub/project", namespaceId: 7 });
  const sha = await repo.commit({ "stack.yml": "version: 1.0\n" });
  await repo.push();
  const github: Github = scmRouter(world.github, createGitlab({ url: gl.url, token: TOKEN, log, backoffMs: 1 }));
  const owner = gitlabOwner("group/sub");
  const commit = { scm: "gitlab" as const, installationId: project.id, owner, repo: "project", sha };
  for (const [context, state] of [
    ["stack-deploy", "pending"],
    ["stack-deploy", "running"],
    ["api", "pending"],
    ["api", "running"],
    ["web", "pending"],
    ["web", "running"],
    ["web", "success"],
  ] as const) {
    await github.setStatus({ ...commit, state, context, description: "x" });
  }
  const pending = createPendingBuilds({ ...s3, useSSL: false, region: "us-east-1", bucket: "pipeline", log });
  const build: PendingBuild = {
    scm: "gitlab",
    owner,
    ownerId: gitlabOwnerId(7),
    repo: "project",
    sha,
    installationId: project.id,
    acceptedAt: new Date(START - 5 * MIN).toISOString(),
    heartbeatAt: new Date(START - 4 * MIN).toISOString(),
    functions: ["api", "web"],
  };
  await pending.put(build);
  const handler = createHandler({
    payloadSecret: "payload-secret-for-build-reaper",
    pending,
    github,
    deadlines: { pendingDeadlineMs: 30 * MIN, heartbeatTimeoutMs: 3 * MIN },
    log,
    now: () => START,
  });

  const res = await invokeHandler(handler, {
    body: Buffer.alloc(0),
    headers: {},
    method: "POST",
    query: {},
    path: "/",
  });
  expect(JSON.parse(res.body.toString())).toMatchObject({ examined: 1, reaped: 1 });
  expect(
    gl
      .statuses({ projectId: project.id, sha })
      .slice(7)
      .map((s) => [s.name, s.state]),
  ).toEqual([
    ["api", "failed"],
    ["stack-deploy", "failed"],
  ]);
  expect(await pending.get(build)).toBeUndefined();
  expect(world.standin.calls).toEqual([]);
});
