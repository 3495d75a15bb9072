import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import axios from "axios";
import { pino } from "pino";
import { createBuildHistory } from "../shared/build-history.js";
import { packBuildContext } from "../shared/build-tar.js";
import { scmRouter } from "../shared/clients.js";
import type { DeploySpec } from "../shared/deploy-spec.js";
import { invokeHandler } from "../shared/function-server.js";
import { createGateway } from "../shared/gateway.js";
import type { Github } from "../shared/github.js";
import { createGitlab } from "../shared/gitlab.js";
import { signHop } from "../shared/hmac.js";
import { createLogStore } from "../shared/log-store.js";
import { functionName, gitlabOwner, gitlabOwnerId, imageName } from "../shared/naming.js";
import { createBuilderClient } from "../functions/buildshiprun/builder-client.js";
import { createEditionResolver } from "../functions/buildshiprun/edition.js";
import { createHandler } from "../functions/buildshiprun/handler.js";
import { createImageVisibility } from "../functions/buildshiprun/image-visibility.js";
import { startGitlabStandin, type GitlabStandin } from "../local/gitlab-standin/server.js";
import { startS3Server } from "../local/services/s3.js";
import { startGithub } from "./support/github.js";
import { startRecorder, type Answer, type RecordedRequest } from "./support/http-recorder.js";

// Issue #19 (contract §2, §8): buildshiprun marks a GitLab build's function `running` on GitLab when its build starts
// (after git-tar's pending), then success with the function's URL; the function is labelled with the build's SCM and
// GitLab owner id. For a GitHub build nothing is posted for running (GitHub has no such state).
const SECRET = "payload-secret-for-buildshiprun";
const TOKEN = "glpat-buildshiprun-test";
const log = pino({ level: "silent" });

let gl: GitlabStandin;
let world: Awaited<ReturnType<typeof startGithub>>;
let s3: Awaited<ReturnType<typeof startS3Server>>;
let recorders: Array<Awaited<ReturnType<typeof startRecorder>>>;
beforeEach(async () => {
  gl = await startGitlabStandin({ token: TOKEN });
  world = await startGithub({ installations: [{ id: 1, account: "alice" }], log });
  s3 = await startS3Server();
  recorders = [];
});
afterEach(async () => {
  await Promise.all([gl.close(), world.close(), s3.close(), ...recorders.map((r) => r.close())]);
});

/** The provider's /system/* over one new function: GET 404 until the POST creates it, then that function, ready. */
function provider() {
  let created: { name: string; image: string; labels: Record<string, string>; availableReplicas: number } | undefined;
  return (req: RecordedRequest): Answer => {
    if (req.method === "GET") return created ? { status: 200, body: created } : { status: 404, body: "not found" };
    const body = JSON.parse(req.body.toString()) as { service: string; image: string; labels: Record<string, string> };
    created = { name: body.service, image: body.image, labels: body.labels, availableReplicas: 1 };
    return { status: 202 };
  };
}

async function startBuildshiprun(github: Github) {
  const builder = await startRecorder(() => ({
    status: 200,
    body: { imageName: "", status: "success", log: ["#1 DONE 0.1s"], digest: "sha256:abc" },
  }));
  const gateway = await startRecorder(provider());
  recorders.push(builder, gateway);
  const bucket = {
    endpoint: s3.endpoint,
    useSSL: false,
    region: "us-east-1",
    bucket: "pipeline",
    accessKey: s3.accessKey,
    secretKey: s3.secretKey,
    log,
  };
  const gatewayClient = createGateway({
    url: gateway.url,
    payloadSecret: SECRET,
    auth: { user: "admin", password: "pw" },
    http: axios.create(),
    log,
    sleep: () => Promise.resolve(),
  });
  const handler = createHandler({
    payloadSecret: SECRET,
    builder: createBuilderClient({
      url: `${builder.url}/`,
      payloadSecret: SECRET,
      http: axios.create(),
      sleep: () => Promise.resolve(),
    }),
    logs: createLogStore(bucket),
    history: createBuildHistory({ ...bucket, timeoutMs: 30_000 }),
    gateway: gatewayClient,
    github,
    useChecks: false,
    policy: {
      repositoryUrl: "127.0.0.1:5000",
      pushRepositoryUrl: "127.0.0.1:5000",
      scalingMin: 1,
      scalingMax: 4,
      scalingFactor: 20,
      memoryLimitMb: 128,
      readonlyRootFilesystem: true,
    },
    edition: createEditionResolver({ setting: "pro", gateway: gatewayClient, log }),
    imageVisibility: createImageVisibility({ http: axios.create() }),
    publicUrl: "http://127.0.0.1:8080/",
    readyTimeoutMs: 1000,
    sleep: () => Promise.resolve(),
    log,
    now: () => new Date(),
  });
  const ship = async (spec: DeploySpec) => {
    const dir = await mkdtemp(join(tmpdir(), "bsr-gitlab-"));
    await writeFile(join(dir, "Dockerfile"), "FROM scratch\n");
    await packBuildContext(dir, { ref: spec.image, deploy: spec }, `${dir}.tar`);
    const tar = await readFile(`${dir}.tar`);
    await rm(dir, { recursive: true, force: true });
    await rm(`${dir}.tar`);
    const res = await invokeHandler(handler, {
      body: tar,
      headers: { "x-cloud-signature-256": signHop(SECRET, "buildshiprun", tar) },
      method: "POST",
      query: {},
      path: "/",
    });
    return { status: res.status, body: JSON.parse(res.body.toString()) as Record<string, unknown> };
  };
  /** The labels of the function deployed (the provider's POST). */
  const labels = () =>
    gateway.requests
      .filter((r) => r.method === "POST")
      .map((r) => (JSON.parse(r.body.toString()) as { labels: Record<string, string> }).labels);
  return { ship, labels };
}

const baseSpec = (changes: Partial<DeploySpec>): DeploySpec => ({
  owner: "alice",
  ownerId: 42,
  repo: "fns",
  repoUrl: "https://github.com/alice/fns",
  sha: "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
  branch: "master",
  private: false,
  installationId: 1,
  function: "api",
  service: "alice--api",
  image: imageName("127.0.0.1:5000", "alice", "fns", "api", "6113728"),
  environment: {},
  secrets: [],
  labels: {},
  annotations: {},
  constraints: [],
  ...changes,
});

describe("buildshiprun: a GitLab build's function", () => {
  it("git-tar's pending → running when the build starts → success with the function's URL, on GitLab; labels git-scm gitlab and the GitLab owner id", async () => {
    const { project, repo } = await gl.createProject({ fullPath: "group/sub/project", namespaceId: 7 });
    const sha = await repo.commit({ "stack.yml": "version: 1.0\n" });
    await repo.push();
    const github = scmRouter(world.github, createGitlab({ url: gl.url, token: TOKEN, log, backoffMs: 1 }));
    const owner = gitlabOwner("group/sub");
    const spec = baseSpec({
      scm: "gitlab",
      owner,
      ownerId: gitlabOwnerId(7),
      repo: "project",
      repoUrl: `${gl.url}/group/sub/project`,
      sha,
      installationId: project.id,
      service: functionName(owner, "api"),
      image: imageName("127.0.0.1:5000", owner, "project", "api", sha),
    });
    // git-tar's part: the function's status pending before it hands the build over.
    await github.setStatus({ ...spec, state: "pending", context: "api", description: "api function build started" });
    const bsr = await startBuildshiprun(github);

    const res = await bsr.ship(spec);
    expect([res.status, res.body.status]).toEqual([200, "success"]);
    expect(gl.statuses({ projectId: project.id, sha, name: "api" }).map((s) => [s.state, s.target_url])).toEqual([
      ["pending", null],
      ["running", expect.stringMatching(/^http:\/\/127\.0\.0\.1:8080\/function\/pipeline-log\?/)],
      ["success", `http://127.0.0.1:8080/function/${owner}--api`],
    ]);
    expect(bsr.labels()).toEqual([
      expect.objectContaining({
        "com.openfaas.cloud.git-scm": "gitlab",
        "com.openfaas.cloud.git-owner-id": "gitlab-7",
        "com.openfaas.cloud.git-owner": owner,
        "com.openfaas.cloud.git-repo": "project",
      }),
    ]);
    expect(world.standin.calls).toEqual([]);
  });

  it("a GitHub build's function → GitHub gets only the success status (no running); labels git-scm github", async () => {
    const github = scmRouter(world.github, createGitlab({ url: gl.url, token: TOKEN, log }));
    const bsr = await startBuildshiprun(github);
    const res = await bsr.ship(baseSpec({}));
    expect([res.status, res.body.status]).toEqual([200, "success"]);
    const posted = world.standin.calls
      .filter((c) => c.method === "POST" && c.path.includes("/statuses/"))
      .map((c) => (c.body as { state: string }).state);
    expect(posted).toEqual(["success"]);
    expect(bsr.labels()[0]).toMatchObject({
      "com.openfaas.cloud.git-scm": "github",
      "com.openfaas.cloud.git-owner-id": "42",
    });
    expect(gl.calls).toEqual([]);
  });
});
