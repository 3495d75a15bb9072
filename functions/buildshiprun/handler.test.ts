import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import axios from "axios";
import { pino } from "pino";
import { packBuildContext } from "../../shared/build-tar.js";
import type { DeploySpec } from "../../shared/deploy-spec.js";
import { createGateway } from "../../shared/gateway.js";
import { signPayload } from "../../shared/hmac.js";
import { createLogStore } from "../../shared/log-store.js";
import { invokeHandler } from "../../shared/function-server.js";
import { startGithub } from "../../test/support/github.js";
import { startRecorder, type Answer, type RecordedRequest } from "../../test/support/http-recorder.js";
import { gatewaySchema } from "../../test/support/openapi.js";
import { startS3Server } from "../../local/services/s3.js";
import { createBuilderClient } from "./builder-client.js";
import { createHandler } from "./handler.js";

const SECRET = "payload-secret-for-buildshiprun";
const SHA = "6113728f27ae82c7b1a177c8d03f9e96e0adf246";
const log = pino({ level: "silent" });
const spec: DeploySpec = {
  owner: "Alice",
  ownerId: 42,
  repo: "fns",
  repoUrl: "https://github.com/Alice/fns",
  sha: SHA,
  branch: "master",
  private: false,
  installationId: 1,
  function: "api",
  service: "alice-api",
  image: "127.0.0.1:5000/alice/fns-api:latest-6113728",
  environment: {},
  secrets: [],
  labels: {},
  annotations: {},
  constraints: [],
};

let tar: Buffer;
let world: Awaited<ReturnType<typeof start>>;
beforeAll(async () => {
  const dir = await mkdtemp(join(tmpdir(), "bsr-"));
  await writeFile(join(dir, "Dockerfile"), "FROM scratch\n");
  await packBuildContext(dir, { ref: spec.image, deploy: spec }, `${dir}.tar`);
  tar = await readFile(`${dir}.tar`);
  await rm(dir, { recursive: true, force: true });
  await rm(`${dir}.tar`);
});
afterEach(() => world.close());

async function start(
  builder: (req: RecordedRequest, i: number) => Answer,
  gateway: (req: RecordedRequest, i: number) => Answer,
  useChecks = false,
) {
  const {
    standin,
    github,
    close: closeGithub,
  } = await startGithub({ installations: [{ id: 1, account: "alice" }], log });
  const s3 = await startS3Server();
  const builderServer = await startRecorder(builder);
  const gatewayServer = await startRecorder(gateway);
  const logs = createLogStore({
    endpoint: s3.endpoint,
    useSSL: false,
    region: "us-east-1",
    bucket: "pipeline",
    accessKey: s3.accessKey,
    secretKey: s3.secretKey,
    log,
  });
  const handler = createHandler({
    payloadSecret: SECRET,
    builder: createBuilderClient({
      url: `${builderServer.url}/`,
      payloadSecret: SECRET,
      http: axios.create(),
      sleep: () => Promise.resolve(),
    }),
    logs,
    gateway: createGateway({
      url: gatewayServer.url,
      payloadSecret: SECRET,
      auth: { user: "admin", password: "pw" },
      http: axios.create(),
      log,
      sleep: () => Promise.resolve(),
    }),
    github,
    useChecks,
    policy: {
      repositoryUrl: "127.0.0.1:5000",
      pushRepositoryUrl: "127.0.0.1:5000",
      scalingMin: 1,
      scalingMax: 4,
      memoryLimitMb: 128,
      readonlyRootFilesystem: true,
    },
    publicUrl: "http://127.0.0.1:8080/",
    readyTimeoutMs: 1000,
    sleep: () => Promise.resolve(),
    log,
    now: () => new Date("2026-11-25T12:00:00Z"),
  });
  const call = async (body = tar, signature = signPayload(SECRET, body)) => {
    const res = await invokeHandler(handler, {
      body,
      headers: { "x-cloud-signature-256": signature },
      method: "POST",
      query: {},
      path: "/",
    });
    return { status: res.status, body: res.body.toString() };
  };
  return {
    call,
    standin,
    logs,
    builder: builderServer.requests,
    stopBuilder: () => builderServer.close(),
    gateway: gatewayServer.requests,
    statuses: () =>
      standin
        .statuses()
        .map((s) => ({ context: s.context, state: s.state, description: s.description, target_url: s.target_url })),
    close: async () => {
      await Promise.all([closeGithub(), s3.close(), builderServer.close(), gatewayServer.close()]);
    },
  };
}

const built: Answer = {
  status: 200,
  body: {
    imageName: spec.image,
    status: "success",
    log: ["#1 [internal] load build definition", "#1 DONE 0.1s"],
    digest: "sha256:abc",
  },
};
const logUrlPattern =
  /^http:\/\/127\.0\.0\.1:8080\/function\/pipeline-log\?owner=alice&repo=fns&sha=6113728f27ae82c7b1a177c8d03f9e96e0adf246&function=api&sig=[0-9a-f]{64}$/;

describe("buildshiprun", () => {
  it("build succeeds, function new (PUT 404 → POST) → deployed, success status with the function URL, log stored", async () => {
    world = await start(
      () => built,
      (req) =>
        req.method === "PUT"
          ? { status: 404 }
          : req.method === "GET"
            ? { status: 200, body: { name: "alice-api", image: spec.image, availableReplicas: 1 } }
            : { status: 202 },
    );
    const res = await world.call();
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({
      function: "api",
      status: "success",
      description: "deployed: alice-api",
      url: "http://127.0.0.1:8080/function/alice-api",
      image: spec.image,
    });
    expect(world.statuses()).toEqual([
      {
        context: "api",
        state: "success",
        description: "deployed: alice-api",
        target_url: "http://127.0.0.1:8080/function/alice-api",
      },
    ]);
    expect(world.builder[0]!.body.equals(tar)).toBe(true);
    expect(world.gateway.map((r) => `${r.method} ${r.path}`)).toEqual([
      "PUT /system/functions",
      "POST /system/functions",
      "GET /system/function/alice-api",
    ]);
    const deployment = JSON.parse(world.gateway[1]!.body.toString()) as unknown;
    expect(gatewaySchema("FunctionDeployment")(deployment)).toEqual([]);
    expect(deployment).toMatchObject({
      service: "alice-api",
      image: spec.image,
      labels: { "com.openfaas.cloud.git-owner": "alice" },
    });
    const stored = await world.logs.get({ owner: "alice", repo: "fns", sha: SHA, function: "api" });
    expect(stored).toMatch(
      /^#1 \[internal\] load build definition\n#1 DONE 0\.1s\nbuildshiprun: build succeeded in 0\.0s\nbuildshiprun: created 127\.0\.0\.1:5000/,
    );
  });

  it("build fails → failure status with the error line and a link to the stored log, nothing deployed", async () => {
    const failed: Answer = {
      status: 500,
      body: {
        imageName: spec.image,
        status: "failure",
        log: ["#5 [3/3] RUN npm test", "#5 0.4 SyntaxError: Unexpected token ')'", "#5 ERROR: process exited with 1"],
        error: "SyntaxError: Unexpected token ')'",
      },
    };
    world = await start(
      () => failed,
      () => ({ status: 500 }),
    );
    const res = JSON.parse((await world.call()).body) as { status: string; description: string };
    expect(res).toMatchObject({ status: "failure", description: "build failed: SyntaxError: Unexpected token ')'" });
    const [status] = world.statuses();
    expect(status).toMatchObject({
      context: "api",
      state: "failure",
      description: "build failed: SyntaxError: Unexpected token ')'",
    });
    expect(status!.target_url).toMatch(logUrlPattern);
    expect(world.gateway).toHaveLength(0);
    expect(await world.logs.get({ owner: "alice", repo: "fns", sha: SHA, function: "api" })).toMatch(
      /SyntaxError: Unexpected token/,
    );
  });

  it("gateway refuses the deploy → failure status with the gateway's status and message", async () => {
    world = await start(
      () => built,
      () => ({ status: 400, body: "image is not allowed" }),
    );
    await world.call();
    expect(world.statuses()[0]).toMatchObject({
      state: "failure",
      description: "deploy failed: gateway: PUT /system/functions answered 400: image is not allowed",
    });
  });

  it("deployed but the function never reports a ready replica → success, saying it is not answering yet", async () => {
    world = await start(
      () => built,
      (req) =>
        req.method === "GET"
          ? { status: 200, body: { name: "alice-api", image: spec.image, availableReplicas: 0 } }
          : { status: 200 },
    );
    await world.call();
    expect(world.statuses()[0]).toMatchObject({
      state: "success",
      description: "deployed: alice-api (not answering yet)",
    });
  });

  it("of-builder busy (429) twice → waits and retries, then deploys", async () => {
    world = await start(
      (_, i) => (i < 2 ? { status: 429, body: { status: "failure", error: "too many builds in flight" } } : built),
      () => ({ status: 200 }),
    );
    expect(JSON.parse((await world.call()).body)).toMatchObject({ status: "success" });
    expect(world.builder).toHaveLength(3);
  });

  it("of-builder unreachable → failure status naming it", async () => {
    world = await start(
      () => built,
      () => ({ status: 200 }),
    );
    expect(JSON.parse((await world.call()).body)).toMatchObject({ status: "success" }); // the builder works
    await world.stopBuilder();
    await world.call();
    expect(world.statuses().at(-1)).toMatchObject({
      context: "api",
      state: "failure",
      description: expect.stringMatching(/builder unreachable/),
    });
  });

  it("use_checks → a completed check run whose text is the log", async () => {
    world = await start(
      () => built,
      () => ({ status: 200 }),
      true,
    );
    await world.call();
    const [run] = world.standin.checkRuns();
    expect(run).toMatchObject({ name: "api", head_sha: SHA, status: "completed", conclusion: "success" });
    expect(run!.output?.text).toMatch(/```shell\n#1 \[internal\] load build definition/);
  });

  it.each([
    ["no signature", (t: Buffer) => ({ body: t, signature: "" }), 401],
    ["a signature with another secret", (t: Buffer) => ({ body: t, signature: signPayload("other", t) }), 401],
    [
      "a body that is not a tar",
      () => ({ body: Buffer.from("not a tar"), signature: signPayload(SECRET, "not a tar") }),
      400,
    ],
  ])("%s → %s, nothing built", async (_, make, status) => {
    world = await start(
      () => built,
      () => ({ status: 200 }),
    );
    const { body, signature } = make(tar);
    expect((await world.call(body, signature)).status).toBe(status);
    expect(world.builder).toHaveLength(0);
  });
});
