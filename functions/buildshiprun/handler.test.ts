import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import axios from "axios";
import { pino } from "pino";
import { packBuildContext } from "../../shared/build-tar.js";
import type { DeploySpec } from "../../shared/deploy-spec.js";
import { createGateway, type FunctionDeployment, type FunctionStatus } from "../../shared/gateway.js";
import { signHop } from "../../shared/hmac.js";
import { createBuildHistory } from "../../shared/build-history.js";
import { createLogStore } from "../../shared/log-store.js";
import { invokeHandler } from "../../shared/function-server.js";
import { communityEditionAnswer, communityEditionRefusal } from "../../test/support/faas-netes-ce.js";
import { startGithub } from "../../test/support/github.js";
import { startRecorder, type Answer, type RecordedRequest } from "../../test/support/http-recorder.js";
import { gatewaySchema } from "../../test/support/openapi.js";
import { startS3Server } from "../../local/services/s3.js";
import { createBuilderClient } from "./builder-client.js";
import { createEditionResolver, type EditionSetting } from "./edition.js";
import { createHandler } from "./handler.js";
import { createImageVisibility } from "./image-visibility.js";

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
  service: "alice--api",
  image: "127.0.0.1:5000/alice/fns--api:latest-6113728",
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

/** A registry that lets anyone read every manifest (faas-netes CE's check passes). */
const publicRegistry = (): Answer => ({ status: 200, headers: { "docker-content-digest": "sha256:abc" } });

async function start(
  builder: (req: RecordedRequest, i: number) => Answer,
  gateway: (req: RecordedRequest, i: number) => Answer,
  useChecks = false,
  options: {
    edition?: EditionSetting;
    registry?: (req: RecordedRequest) => Answer;
    scalingMax?: number;
    /** Another of-builder than the recorder (one that streams). */
    builderUrl?: string;
    systemPublicUrl?: string;
    /** The sleeps buildshiprun waits (default: none). */
    sleep?: (ms: number) => Promise<void>;
  } = {},
) {
  const {
    standin,
    github,
    close: closeGithub,
  } = await startGithub({ installations: [{ id: 1, account: "alice" }], log });
  const s3 = await startS3Server();
  const builderServer = await startRecorder(builder);
  const gatewayServer = await startRecorder(gateway);
  // The registry the nodes pull from (repository_url); images are pushed under another name (127.0.0.1:5000), which
  // nothing may contact.
  const registryServer = await startRecorder(options.registry ?? publicRegistry);
  const registry = registryServer.url.replace("http://", "");
  const bucket = {
    endpoint: s3.endpoint,
    useSSL: false,
    region: "us-east-1",
    bucket: "pipeline",
    accessKey: s3.accessKey,
    secretKey: s3.secretKey,
    log,
  };
  const logs = createLogStore(bucket);
  // A generous bound: the machine running the suites may be busy (production keeps the 3 s default).
  const history = createBuildHistory({ ...bucket, timeoutMs: 30_000 });
  const gatewayClient = createGateway({
    url: gatewayServer.url,
    payloadSecret: SECRET,
    auth: { user: "admin", password: "pw" },
    http: axios.create(),
    log,
    sleep: () => Promise.resolve(),
  });
  const handler = createHandler({
    payloadSecret: SECRET,
    builder: createBuilderClient({
      url: `${options.builderUrl ?? builderServer.url}/`,
      payloadSecret: SECRET,
      http: axios.create(),
      sleep: () => Promise.resolve(),
    }),
    logs,
    history,
    gateway: gatewayClient,
    github,
    useChecks,
    policy: {
      repositoryUrl: registry,
      pushRepositoryUrl: "127.0.0.1:5000",
      scalingMin: 1,
      scalingMax: options.scalingMax ?? 4,
      scalingFactor: 20,
      memoryLimitMb: 128,
      readonlyRootFilesystem: true,
    },
    edition: createEditionResolver({ setting: options.edition ?? "ce", gateway: gatewayClient, log }),
    imageVisibility: createImageVisibility({ http: axios.create() }),
    publicUrl: "http://127.0.0.1:8080/",
    ...(options.systemPublicUrl ? { systemPublicUrl: options.systemPublicUrl } : {}),
    readyTimeoutMs: 1000,
    sleep: options.sleep ?? (() => Promise.resolve()),
    log,
    now: () => new Date("2026-11-25T12:00:00Z"),
  });
  const call = async (body = tar, signature = signHop(SECRET, "buildshiprun", body)) => {
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
    history,
    builder: builderServer.requests,
    stopBuilder: () => builderServer.close(),
    gateway: gatewayServer.requests,
    registry,
    registryRequests: registryServer.requests,
    statuses: () =>
      standin
        .statuses()
        .map((s) => ({ context: s.context, state: s.state, description: s.description, target_url: s.target_url })),
    close: async () => {
      await Promise.all([
        closeGithub(),
        s3.close(),
        builderServer.close(),
        gatewayServer.close(),
        registryServer.close(),
      ]);
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

/** A function as the provider lists it, with cloud labels for `ownerId`/`owner`/`repo` (none when `ownerId` is null). */
const deployed = (ownerId: number | null, owner = "alice", repo = "fns", extra: Record<string, string> = {}) =>
  ({
    name: spec.service,
    image: "127.0.0.1:5000/someone/else:1",
    labels:
      ownerId === null
        ? { faas_function: spec.service }
        : {
            faas_function: spec.service,
            "com.openfaas.cloud.git-owner-id": String(ownerId),
            "com.openfaas.cloud.git-owner": owner,
            "com.openfaas.cloud.git-repo": repo,
            ...extra,
          },
    availableReplicas: 1,
  }) satisfies FunctionStatus;

/**
 * The gateway's /system/* over one function: `existing` (or none) until a POST creates it, as providers answer:
 * GET 404 when absent, POST 500 when it exists, PUT 404 when absent. `then` replaces the function after the first GET
 * (someone else deploying it while we build); `ready` is what it reports once deployed by us.
 */
function provider(options: { existing?: FunctionStatus; then?: FunctionStatus; post?: Answer; ready?: number } = {}) {
  let current = options.existing;
  let gets = 0;
  return (req: RecordedRequest): Answer => {
    if (req.method === "GET") {
      if (gets++ === 1 && options.then) current = options.then;
      return current ? { status: 200, body: current } : { status: 404, body: `function ${spec.service} not found` };
    }
    const body = JSON.parse(req.body.toString()) as { service: string; image: string; labels: Record<string, string> };
    const mine = { name: body.service, image: body.image, labels: body.labels, availableReplicas: options.ready ?? 1 };
    if (req.method === "POST") {
      if (options.post) return options.post;
      if (current) return { status: 500, body: `unable to create function: ${spec.service} already exists` };
      current = mine;
      return { status: 202 };
    }
    if (req.method === "PUT") {
      if (!current) return { status: 404, body: `function ${spec.service} not found` };
      current = mine;
      return { status: 200 };
    }
    return { status: 405 };
  };
}
const calls = (requests: RecordedRequest[]) => requests.map((r) => `${r.method} ${r.path}`);
const GET = "GET /system/function/alice--api";

describe("buildshiprun", () => {
  it("build succeeds, function new (GET 404 → POST only) → deployed, success status with the function URL, log stored", async () => {
    world = await start(() => built, provider());
    const res = await world.call();
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({
      function: "api",
      status: "success",
      description: "deployed: alice--api",
      url: "http://127.0.0.1:8080/function/alice--api",
      image: spec.image,
    });
    expect(world.statuses()).toEqual([
      {
        context: "api",
        state: "success",
        description: "deployed: alice--api",
        target_url: "http://127.0.0.1:8080/function/alice--api",
      },
    ]);
    expect(world.builder[0]!.body.equals(tar)).toBe(true);
    // Looked up before the build and again before the deploy; created with POST alone; then waited for.
    expect(calls(world.gateway)).toEqual([GET, GET, "POST /system/functions", GET]);
    const deployment = JSON.parse(world.gateway[2]!.body.toString()) as unknown;
    expect(gatewaySchema("FunctionDeployment")(deployment)).toEqual([]);
    expect(deployment).toMatchObject({
      service: "alice--api",
      // Pulled from repository_url, where faas-netes CE's anonymous check found it.
      image: `${world.registry}/alice/fns--api:latest-6113728`,
      labels: {
        "com.openfaas.cloud.git-owner": "alice",
        "com.openfaas.cloud.git-owner-id": "42",
        "com.openfaas.cloud.git-repo": "fns",
      },
    });
    const stored = await world.logs.get({ owner: "alice", repo: "fns", sha: SHA, function: "api" });
    expect(stored).toMatch(
      /^#1 \[internal\] load build definition\n#1 DONE 0\.1s\nbuildshiprun: build succeeded in 0\.0s\nbuildshiprun: created 127\.0\.0\.1:\d+\/alice\/fns--api:latest-6113728, ready$/,
    );
    // The dashboard's record of the build (issue #14).
    expect(await world.history.get({ owner: "alice", repo: "fns", sha: SHA, function: "api" })).toEqual({
      owner: "alice",
      repo: "fns",
      branch: "master",
      sha: SHA,
      function: "api",
      state: "success",
      startedAt: "2026-11-25T12:00:00.000Z",
      finishedAt: "2026-11-25T12:00:00.000Z",
      durationMs: 0,
      image: spec.image,
      url: "http://127.0.0.1:8080/function/alice--api",
    });
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
    world = await start(() => failed, provider());
    const res = JSON.parse((await world.call()).body) as { status: string; description: string };
    expect(res).toMatchObject({ status: "failure", description: "build failed: SyntaxError: Unexpected token ')'" });
    const [status] = world.statuses();
    expect(status).toMatchObject({
      context: "api",
      state: "failure",
      description: "build failed: SyntaxError: Unexpected token ')'",
    });
    expect(status!.target_url).toMatch(logUrlPattern);
    expect(calls(world.gateway)).toEqual([GET]);
    expect(await world.logs.get({ owner: "alice", repo: "fns", sha: SHA, function: "api" })).toMatch(
      /SyntaxError: Unexpected token/,
    );
    expect(await world.history.list({ owner: "alice", function: "api" })).toEqual([
      expect.objectContaining({ state: "failure", reason: "build failed: SyntaxError: Unexpected token ')'" }),
    ]);
  });

  it("system_public_url set → a failure links the build's dashboard page, a success still the function's URL", async () => {
    const failed: Answer = { status: 500, body: { imageName: spec.image, status: "failure", log: [], error: "boom" } };
    world = await start(() => failed, provider(), false, { systemPublicUrl: "https://system.example.com" });
    await world.call();
    expect(world.statuses()[0]).toMatchObject({
      state: "failure",
      target_url: `https://system.example.com/dashboard/alice/builds/fns/${SHA}/api`,
    });
    await world.close();
    world = await start(() => built, provider(), false, { systemPublicUrl: "https://system.example.com" });
    await world.call();
    expect(world.statuses()[0]).toMatchObject({
      state: "success",
      target_url: "http://127.0.0.1:8080/function/alice--api",
    });
  });

  it("gateway refuses the deploy → failure status with the gateway's status and message", async () => {
    world = await start(() => built, provider({ post: { status: 400, body: "image is not allowed" } }));
    await world.call();
    expect(world.statuses()[0]).toMatchObject({
      state: "failure",
      description: "deploy failed: gateway: POST /system/functions answered 400: image is not allowed",
    });
  });

  it("gateway cannot say whether the function exists (500) → failure naming the lookup, nothing deployed", async () => {
    world = await start(
      () => built,
      () => ({ status: 500, body: "provider down" }),
    );
    await world.call();
    expect(world.statuses()[0]).toMatchObject({
      state: "failure",
      description: "deploy failed: gateway: GET /system/function/alice--api answered 500: provider down",
    });
    expect(world.gateway.filter((r) => r.method !== "GET")).toEqual([]);
  });

  it("deployed but the function never reports a ready replica → success, saying it is not answering yet", async () => {
    world = await start(() => built, provider({ ready: 0 }));
    await world.call();
    expect(world.statuses()[0]).toMatchObject({
      state: "success",
      description: "deployed: alice--api (not answering yet)",
    });
  });

  it("of-builder busy (429) twice → waits and retries, then deploys", async () => {
    world = await start(
      (_, i) => (i < 2 ? { status: 429, body: { status: "failure", error: "too many builds in flight" } } : built),
      provider(),
    );
    expect(JSON.parse((await world.call()).body)).toMatchObject({ status: "success" });
    expect(world.builder).toHaveLength(3);
  });

  it("of-builder unreachable → failure status naming it", async () => {
    world = await start(() => built, provider({ existing: deployed(42) }));
    expect(JSON.parse((await world.call()).body)).toMatchObject({ status: "success" }); // the builder works
    await world.stopBuilder();
    await world.call();
    expect(world.statuses().at(-1)).toMatchObject({
      context: "api",
      state: "failure",
      description: expect.stringMatching(/builder unreachable/),
    });
  });

  it("GitHub refuses the status on every retry (502 × 4) → deployed, and the answer says statusPosted: false", async () => {
    world = await start(() => built, provider());
    // The client tries 4 times (3 retries): git-tar reads the flag and posts the status again later (issue #16).
    world.standin.failNext("statuses", 502, 4);
    const res = await world.call();
    expect(JSON.parse(res.body)).toMatchObject({ status: "success", statusPosted: false });
    expect(world.statuses()).toEqual([]);
    world.standin.failNext("statuses", 502, 3);
    const posted = JSON.parse((await world.call()).body) as Record<string, unknown>;
    expect(posted).toMatchObject({ status: "success" });
    expect(posted).not.toHaveProperty("statusPosted");
    expect(world.statuses()).toHaveLength(1);
  });

  it("use_checks, no run id handed over → one run found-or-created: queued → in_progress → completed, text the log", async () => {
    world = await start(() => built, provider(), true);
    await world.call();
    const [run, ...others] = world.standin.checkRuns();
    expect(others).toEqual([]);
    expect(run).toMatchObject({ name: "api", head_sha: SHA, status: "completed", conclusion: "success" });
    expect(run!.updates.map((u) => u.status).filter((s, i, all) => s !== all[i - 1])).toEqual([
      "queued",
      "in_progress",
      "completed",
    ]);
    expect(run!.output?.text).toMatch(/```shell\n#1 \[internal\] load build definition/);
    expect(run!.output?.summary).toContain(`Image: \`${spec.image}\``);
    expect(run!.output?.summary).toContain("URL: http://127.0.0.1:8080/function/alice--api");
    expect(run!.details_url).toMatch(logUrlPattern);
  });

  it("use_checks, a tsc error in handler ./api → failure run annotated on api/handler.ts:3, linking the log", async () => {
    const dir = await mkdtemp(join(tmpdir(), "bsr-"));
    await writeFile(join(dir, "Dockerfile"), "FROM scratch\n");
    await packBuildContext(dir, { ref: spec.image, deploy: { ...spec, handler: "./api" } }, `${dir}.tar`);
    const annotatedTar = await readFile(`${dir}.tar`);
    await rm(dir, { recursive: true, force: true });
    await rm(`${dir}.tar`);
    const error = "function/handler.ts(3,7): error TS2322: Type 'string' is not assignable to type 'number'.";
    const failed: Answer = {
      status: 500,
      body: { imageName: spec.image, status: "failure", log: ["#6 [4/5] RUN npm run build", `#6 2.9 ${error}`], error },
    };
    world = await start(() => failed, provider(), true);
    await world.call(annotatedTar);
    const [run] = world.standin.checkRuns();
    expect(run).toMatchObject({ status: "completed", conclusion: "failure" });
    expect(run!.details_url).toMatch(logUrlPattern);
    expect(run!.annotations).toEqual([
      expect.objectContaining({
        path: "api/handler.ts",
        start_line: 3,
        start_column: 7,
        annotation_level: "failure",
        message: "TS2322: Type 'string' is not assignable to type 'number'.",
      }),
    ]);
  });

  it.each([
    ["no signature", (t: Buffer) => ({ body: t, signature: "" }), 401],
    [
      "a signature with another secret",
      (t: Buffer) => ({ body: t, signature: signHop("other", "buildshiprun", t) }),
      401,
    ],
    [
      "a body that is not a tar",
      () => ({ body: Buffer.from("not a tar"), signature: signHop(SECRET, "buildshiprun", "not a tar") }),
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

// Issue #14: while of-builder streams the build (Accept: application/x-ndjson), the build page can already read the
// log so far and a running record.
describe("buildshiprun: the live build log", () => {
  it("a streamed build → while it runs, the log so far and a running record are stored; at the end the full log", async () => {
    const key = { owner: "alice", repo: "fns", sha: SHA, function: "api" };
    const seenWhileRunning: { log?: string; state?: string } = {};
    const streaming = createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        void (async () => {
          res.writeHead(200, { "content-type": "application/x-ndjson" });
          res.write(`${JSON.stringify({ log: "#1 [1/2] FROM base" })}\n`);
          // Held open until buildshiprun has stored the first line and the running record (written beside the
          // build, so either may land first): only a live log and record can be read here.
          for (let i = 0; i < 500 && seenWhileRunning.state === undefined; i++) {
            const stored = await world.logs.get(key);
            const state = (await world.history.get(key))?.state;
            if (stored && state) Object.assign(seenWhileRunning, { log: stored, state });
            else await new Promise((resolve) => setTimeout(resolve, 20));
          }
          const result = { imageName: spec.image, status: "success", log: ["#1 [1/2] FROM base", "#2 DONE 0.1s"] };
          res.end(`${JSON.stringify({ log: "#2 DONE 0.1s" })}\n${JSON.stringify(result)}\n`);
        })();
      });
    });
    await new Promise<void>((resolve) => streaming.listen(0, "127.0.0.1", resolve));
    try {
      const builderUrl = `http://127.0.0.1:${(streaming.address() as AddressInfo).port}`;
      world = await start(() => built, provider(), false, { builderUrl });
      expect(JSON.parse((await world.call()).body)).toMatchObject({ status: "success" });
      expect(seenWhileRunning).toEqual({ log: "#1 [1/2] FROM base", state: "running" });
      expect(await world.logs.get(key)).toMatch(/^#1 \[1\/2\] FROM base\n#2 DONE 0\.1s\nbuildshiprun: build succeeded/);
      expect((await world.history.get(key))?.state).toBe("success");
    } finally {
      streaming.closeAllConnections();
      await new Promise<void>((resolve) => streaming.close(() => resolve()));
    }
  });
});

// Issue #17: the check run's log tail while the build runs, at most one update per 10 s (the App's rate limit).
describe("buildshiprun: the check run's live log", () => {
  it("a streamed build of 6 lines, 10 s never passing → one log update at the first line, then the completion", async () => {
    const lines = ["#1 [1/2] FROM base", "#2 RUN a", "#2 RUN b", "#2 RUN c", "#2 RUN d", "#2 DONE 0.1s"];
    const streaming = createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        res.writeHead(200, { "content-type": "application/x-ndjson" });
        for (const log of lines) res.write(`${JSON.stringify({ log })}\n`);
        res.end(`${JSON.stringify({ imageName: spec.image, status: "success", log: lines })}\n`);
      });
    });
    await new Promise<void>((resolve) => streaming.listen(0, "127.0.0.1", resolve));
    try {
      const builderUrl = `http://127.0.0.1:${(streaming.address() as AddressInfo).port}`;
      // The clock stands still: no interval ever passes.
      world = await start(() => built, provider(), true, { builderUrl, sleep: () => new Promise(() => undefined) });
      expect(JSON.parse((await world.call()).body)).toMatchObject({ status: "success" });
      const [run] = world.standin.checkRuns();
      const live = run!.updates.filter((u) => u.status === "in_progress" && JSON.stringify(u.body).includes("```"));
      expect(live).toHaveLength(1);
      expect(JSON.stringify(live[0]!.body)).toContain("#1 [1/2] FROM base");
      expect(run).toMatchObject({ status: "completed", conclusion: "success" });
      expect(run!.output?.text).toContain("#2 RUN d");
    } finally {
      streaming.closeAllConnections();
      await new Promise<void>((resolve) => streaming.close(() => resolve()));
    }
  });
});

// Issue #10 item 2: buildshiprun creates a function only under a free name and updates only one carrying this push's
// owner id and repository.
describe("buildshiprun: ownership of the function name", () => {
  const sent = () => world.gateway.filter((r) => r.method === "PUT" || r.method === "POST");

  it.each([
    ["another owner's function", deployed(7, "alice-bob", "other-repo"), "belongs to alice-bob/other-repo"],
    [
      "another owner's function from a private repository",
      deployed(7, "alice-bob", "secret-repo", { "com.openfaas.cloud.git-private": "1" }),
      "belongs to alice-bob (a private repository)",
    ],
    [
      "a function of the account that held the login alice before (another owner id)",
      deployed(7, "alice", "fns"),
      "belongs to alice/fns, owner id 7",
    ],
    ["the same owner's function from another repository", deployed(42, "alice", "first"), "belongs to alice/first"],
    ["a function without cloud labels (system or operator)", deployed(null), "is a system or operator function"],
    [
      "a function with no labels at all",
      { name: "alice--api", image: "i", labels: null },
      "is a system or operator function",
    ],
  ])("%s → failure naming the holder, nothing built, no PUT or POST", async (_, existing, holder) => {
    world = await start(() => built, provider({ existing }));
    const res = JSON.parse((await world.call()).body) as { status: string; description: string };
    const description = `deploy refused: alice--api ${holder}`;
    expect(res).toMatchObject({ status: "failure", description });
    expect(world.statuses()).toEqual([
      { context: "api", state: "failure", description, target_url: expect.stringMatching(logUrlPattern) },
    ]);
    expect(world.builder).toHaveLength(0);
    expect(sent()).toEqual([]);
    expect(await world.logs.get({ owner: "alice", repo: "fns", sha: SHA, function: "api" })).toBe(
      `buildshiprun: ${description}`,
    );
    // Refused before any build: the record is terminal at once, never running.
    expect(await world.history.list({ owner: "alice" })).toEqual([
      expect.objectContaining({ function: "api", state: "failure", reason: description }),
    ]);
  });

  it("the name taken by another owner while building → failure naming the holder, no PUT or POST", async () => {
    world = await start(() => built, provider({ then: deployed(7, "alice-bob", "other-repo") }));
    await world.call();
    expect(world.statuses()[0]).toMatchObject({
      state: "failure",
      description: "deploy refused: alice--api belongs to alice-bob/other-repo",
    });
    expect(world.builder).toHaveLength(1);
    expect(sent()).toEqual([]);
  });

  it("created by someone else between the lookup and the POST (500 exists) → failure, never a PUT", async () => {
    world = await start(
      () => built,
      provider({ post: { status: 500, body: "unable to create function: alice--api already exists" } }),
    );
    await world.call();
    expect(world.statuses()[0]).toMatchObject({
      state: "failure",
      description:
        "deploy failed: gateway: POST /system/functions answered 500: unable to create function: alice--api already exists",
    });
    expect(calls(sent())).toEqual(["POST /system/functions"]);
  });

  it("our own function (same owner id and repository) → updated with PUT only", async () => {
    world = await start(() => built, provider({ existing: deployed(42, "alice", "fns") }));
    await world.call();
    expect(world.statuses()[0]).toMatchObject({ state: "success", description: "deployed: alice--api" });
    expect(calls(world.gateway)).toEqual([GET, GET, "PUT /system/functions", GET]);
  });

  it("our own function deployed under our old login (same owner id) → updated, the owner label renamed", async () => {
    world = await start(() => built, provider({ existing: deployed(42, "alice-old-login", "fns") }));
    await world.call();
    expect(world.statuses()[0]).toMatchObject({ state: "success" });
    const [put] = sent();
    expect(put!.method).toBe("PUT");
    expect(JSON.parse(put!.body.toString())).toMatchObject({
      labels: { "com.openfaas.cloud.git-owner": "alice", "com.openfaas.cloud.git-owner-id": "42" },
    });
  });

  it("a stack label trying to claim another owner id → dropped: the deployment carries the pusher's id", async () => {
    const forged = { ...spec, labels: { "com.openfaas.cloud.git-owner-id": "7", "com.openfaas.cloud.git-repo": "x" } };
    const dir = await mkdtemp(join(tmpdir(), "bsr-"));
    await writeFile(join(dir, "Dockerfile"), "FROM scratch\n");
    await packBuildContext(dir, { ref: spec.image, deploy: forged }, `${dir}.tar`);
    const forgedTar = await readFile(`${dir}.tar`);
    await rm(dir, { recursive: true, force: true });
    await rm(`${dir}.tar`);
    world = await start(() => built, provider());
    await world.call(forgedTar);
    const [post] = sent();
    expect(JSON.parse(post!.body.toString())).toMatchObject({
      labels: { "com.openfaas.cloud.git-owner-id": "42", "com.openfaas.cloud.git-repo": "fns" },
    });
  });
});

// Issue #11 item 1: buildshiprun reads what the gateway is and never sends what that edition refuses. The gateway here
// answers POST and PUT as faas-netes CE's rules do (test/support/faas-netes-ce.ts), the registry as a real one would.
describe("buildshiprun on OpenFaaS Community Edition", () => {
  const info = (name: string) => ({
    provider: { provider: name, orchestration: "kubernetes", version: { release: "0.18.17", sha: "e000629a" } },
    version: { release: "0.27.14", sha: "x" },
    arch: "x86_64",
  });
  /** A gateway whose provider calls itself `name` in /system/info and applies CE's rules to every POST and PUT. */
  function communityGateway(options: { name?: string; existing?: FunctionStatus; functions?: number } = {}) {
    const functions = provider(options.existing ? { existing: options.existing } : {});
    return (req: RecordedRequest): Answer => {
      if (req.path === "/system/info") return { status: 200, body: info(options.name ?? "faas-netes-ce") };
      if (req.method === "POST" || req.method === "PUT") {
        const deployment = JSON.parse(req.body.toString()) as FunctionDeployment;
        const answer = communityEditionAnswer(req.method, deployment, { functions: options.functions ?? 6 });
        if (answer.status !== 202) return answer;
      }
      return functions(req);
    };
  }
  const privateRegistry = (): Answer => ({ status: 401, headers: { "www-authenticate": 'Basic realm="Registry"' } });
  const sent = () => world.gateway.filter((r) => r.method === "PUT" || r.method === "POST");
  const MANIFEST = "HEAD /v2/alice/fns--api/manifests/latest-6113728";

  it("auto, the gateway is faas-netes-ce, the image is public → deployed once info was read; CE's rules refuse nothing", async () => {
    world = await start(() => built, communityGateway(), false, { edition: "auto" });
    await world.call();
    expect(world.statuses()[0]).toMatchObject({ state: "success", description: "deployed: alice--api" });
    expect(calls(world.gateway)).toEqual(["GET /system/info", GET, GET, "POST /system/functions", GET]);
    const [post] = sent();
    const deployment = JSON.parse(post!.body.toString()) as FunctionDeployment;
    expect(deployment.labels?.["com.openfaas.scale.zero"]).toBe("false");
    expect(communityEditionRefusal(deployment)).toBeUndefined();
    // Asked of the registry the nodes pull from (repository_url), nothing else.
    expect(calls(world.registryRequests)).toEqual([MANIFEST]);
  });

  it.each([
    ["a new function (CE would answer a bare 400)", undefined, [GET, GET]],
    ["our own function (CE would answer 200 and not update it)", deployed(42), [GET, GET]],
  ])(
    "auto, faas-netes-ce, the image is private, %s → failure naming the image and what to do; no POST or PUT",
    async (_, existing, gatewayCalls) => {
      world = await start(() => built, communityGateway(existing ? { existing } : {}), false, {
        edition: "auto",
        registry: privateRegistry,
      });
      const res = JSON.parse((await world.call()).body) as { status: string; description: string };
      const description = `${world.registry}/alice/fns--api is not public; OpenFaaS CE runs only public images: make it public or use OpenFaaS Standard/Enterprise`;
      expect(res).toMatchObject({ status: "failure", description });
      expect(world.statuses()).toEqual([
        { context: "api", state: "failure", description, target_url: expect.stringMatching(logUrlPattern) },
      ]);
      expect(description.length).toBeLessThanOrEqual(140);
      expect(calls(world.gateway)).toEqual(["GET /system/info", ...gatewayCalls]);
      expect(await world.logs.get({ owner: "alice", repo: "fns", sha: SHA, function: "api" })).toMatch(
        /buildshiprun: 127\.0\.0\.1:\d+\/alice\/fns--api:latest-6113728: http:\/\/.*\/manifests\/latest-6113728 answered 401 and offers no anonymous token \(basic\)$/,
      );
    },
  );

  it.each([
    ["faasd-ce (pulls with its own credentials)", "faasd-ce", "false"],
    ["the local runtime (ofc-local)", "ofc-local", "true"],
    ["any other provider (Standard, Enterprise)", "openfaas-pro-provider", "true"],
  ])("auto, %s, the image is private → deployed, the registry never asked; scale.zero %s", async (_, name, zero) => {
    world = await start(
      () => built,
      (req) => (req.path === "/system/info" ? { status: 200, body: info(name) } : provider()(req)),
      false,
      { edition: "auto", registry: privateRegistry },
    );
    await world.call();
    expect(world.statuses()[0]).toMatchObject({ state: "success" });
    expect(world.registryRequests).toEqual([]);
    const [post] = sent();
    expect(JSON.parse(post!.body.toString())).toMatchObject({ labels: { "com.openfaas.scale.zero": zero } });
  });

  it("auto, /system/info refused (401) → deployed under CE's rules (scale.zero false, image checked), asked again next push", async () => {
    const functions = provider();
    world = await start(
      () => built,
      (req) => (req.path === "/system/info" ? { status: 401, body: "invalid credentials" } : functions(req)),
      false,
      { edition: "auto" },
    );
    await world.call();
    await world.call();
    expect(world.statuses().map((s) => s.state)).toEqual(["success", "success"]);
    expect(world.gateway.filter((r) => r.path === "/system/info")).toHaveLength(2);
    const [post] = sent();
    expect(JSON.parse(post!.body.toString())).toMatchObject({ labels: { "com.openfaas.scale.zero": "false" } });
    expect(calls(world.registryRequests)).toEqual([MANIFEST, MANIFEST]);
  });

  it("auto, faas-netes-ce, scaling_max_limit 6 → failure naming the limit and the edition; nothing built or sent", async () => {
    world = await start(() => built, communityGateway(), false, { edition: "auto", scalingMax: 6 });
    await world.call();
    expect(world.statuses()[0]).toMatchObject({
      state: "failure",
      description:
        "deploy failed: scaling_max_limit 6 is over OpenFaaS CE's 5 replicas (faas-netes-ce): the operator lowers it",
    });
    expect(world.builder).toHaveLength(0);
    expect(calls(world.gateway)).toEqual(["GET /system/info"]);
  });

  it("a 16th function on CE (the gateway refuses) → failure saying CE's cap and the system's share of it", async () => {
    world = await start(() => built, communityGateway({ functions: 15 }), false, { edition: "auto" });
    await world.call();
    expect(world.statuses()[0]).toMatchObject({
      state: "failure",
      description:
        "OpenFaaS CE runs at most 15 functions, 12 of them this system's: remove unused ones or use Standard/Enterprise",
    });
    expect(await world.logs.get({ owner: "alice", repo: "fns", sha: SHA, function: "api" })).toMatch(
      /answered 400: unable to create function, maximum: 15, visit https:\/\/openfaas\.com\/pricing/,
    );
  });

  it("openfaas_edition=pro on a CE gateway → CE's refusal of scale to zero explained: set openfaas_edition to auto or ce", async () => {
    world = await start(() => built, communityGateway(), false, { edition: "pro" });
    await world.call();
    expect(world.statuses()[0]).toMatchObject({
      state: "failure",
      description:
        "the gateway runs OpenFaaS CE, which refused com.openfaas.scale.zero: the operator sets openfaas_edition to auto or ce",
    });
    expect(world.registryRequests).toEqual([]);
  });
});
