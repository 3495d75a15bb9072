import axios from "axios";
import { pino } from "pino";
import { readBuildConfig } from "../shared/build-tar.js";
import { createBuildHistory } from "../shared/build-history.js";
import type { DeploySpec } from "../shared/deploy-spec.js";
import { createGateway } from "../shared/gateway.js";
import type { Github } from "../shared/github.js";
import { signHop } from "../shared/hmac.js";
import { createLogStore } from "../shared/log-store.js";
import type { QueuedRequest } from "../local/gateway.js";
import type { startS3Server } from "../local/services/s3.js";
import { createBuilderClient } from "../functions/buildshiprun/builder-client.js";
import { createEditionResolver } from "../functions/buildshiprun/edition.js";
import { createHandler as buildshiprun } from "../functions/buildshiprun/handler.js";
import { createImageVisibility } from "../functions/buildshiprun/image-visibility.js";
import { createBuildStarter } from "../functions/github-push/start-build.js";
import { PAYLOAD_SECRET, startGitTar } from "./support/git-tar-harness.js";
import { startRecorder, type RecordedRequest } from "./support/http-recorder.js";

// Issue #17 item 1: github-push → git-tar → buildshiprun for real, against the strict GitHub stand-in (field limits,
// state transitions, 50 annotations per request). Only of-builder (it needs dockerd) and the provider behind
// /system/functions are played by recorders; what the builder prints is what a failed `npm test` prints.
const log = pino({ level: "silent" });

const stack = `version: 1.0
provider:
  name: openfaas
functions:
  api:
    lang: node20
    handler: ./api
    image: api:latest
  web:
    lang: node20
    handler: ./web
    image: web:latest
`;
const files = {
  "stack.yml": stack,
  "api/handler.js": "module.exports = async () => 'hi';\n",
  "api/package.json": '{"name":"api"}\n',
  "web/handler.js": "module.exports = async () => 'Hello';\n",
  "web/handler.test.js": [
    "const test = require('node:test');",
    "const assert = require('node:assert');",
    "const handler = require('./handler');",
    "",
    "test('says hello', async () => {",
    "  const reply = await handler();",
    "  assert.strictEqual(reply, 'Hello, world');",
    "});",
    "",
  ].join("\n"),
  "web/package.json": '{"name":"web","scripts":{"test":"node --test"}}\n',
};

// What of-builder streams back for each function: `web`'s test fails on web/handler.test.js line 7.
const BUILD_LOGS: Record<string, string[]> = {
  api: ["#1 [internal] load build definition from Dockerfile", "#1 DONE 0.1s", "#8 pushing layers 0.2s done"],
  web: [
    "#1 [internal] load build definition from Dockerfile",
    "#7 [6/6] RUN cd function && npm test",
    "#7 0.601 > web@1.0.0 test",
    "#7 0.601 > node --test",
    "#7 0.950 ✖ says hello (2.1ms)",
    "#7 0.950   AssertionError [ERR_ASSERTION]: Expected values to be strictly equal:",
    "#7 0.950   ",
    "#7 0.950   'Hello' !== 'Hello, world'",
    "#7 0.950   ",
    "#7 0.950       at TestContext.<anonymous> (/home/app/function/handler.test.js:7:10)",
    "#7 0.950       at Test.runInAsyncScope (node:async_hooks:206:9)",
    "#7 0.990 npm ERR! Test failed.  See above for more details.",
    '#7 ERROR: process "/bin/sh -c cd function && npm test" did not complete successfully: exit code: 1',
  ],
};

type Harness = Awaited<ReturnType<typeof startGitTar>>;
let h: Harness;
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  await h.close();
  for (const close of closers.splice(0)) await close();
});

/** The real buildshiprun with a recorded of-builder and provider, against the harness's GitHub and S3. */
async function realBuildshiprun() {
  const builder = await startRecorder(async (req: RecordedRequest) => {
    const { deploy } = (await readBuildConfig(req.body)) as { deploy: DeploySpec };
    const failed = deploy.function === "web";
    const body = { imageName: deploy.image, status: failed ? "failure" : "success", log: BUILD_LOGS[deploy.function] };
    return failed ? { status: 500, body: { ...body, error: "process exited with 1" } } : { status: 200, body };
  });
  const deployed = new Set<string>();
  const provider = await startRecorder((req: RecordedRequest) => {
    const name = /\/system\/function\/([^/?]+)/.exec(req.path)?.[1];
    if (req.method === "GET" && name)
      return deployed.has(name)
        ? { status: 200, body: { name, image: "x", labels: {}, availableReplicas: 1 } }
        : { status: 404, body: `function ${name} not found` };
    if (req.method === "POST") {
      deployed.add((JSON.parse(req.body.toString()) as { service: string }).service);
      return { status: 202 };
    }
    return { status: 405 };
  });
  closers.push(builder.close, provider.close);
  return (github: Github, s3: Awaited<ReturnType<typeof startS3Server>>) => {
    const bucket = { ...s3, useSSL: false, region: "us-east-1", bucket: "pipeline", log };
    const gateway = createGateway({
      url: provider.url,
      payloadSecret: PAYLOAD_SECRET,
      auth: { user: "admin", password: "pw" },
      http: axios.create(),
      log,
      sleep: () => Promise.resolve(),
    });
    return buildshiprun({
      payloadSecret: PAYLOAD_SECRET,
      builder: createBuilderClient({
        url: `${builder.url}/`,
        payloadSecret: PAYLOAD_SECRET,
        http: axios.create(),
        sleep: () => Promise.resolve(),
      }),
      logs: createLogStore(bucket),
      history: createBuildHistory({ ...bucket, timeoutMs: 30_000 }),
      gateway,
      github,
      useChecks: true,
      policy: {
        repositoryUrl: "127.0.0.1:5000",
        pushRepositoryUrl: "127.0.0.1:5000",
        scalingMin: 1,
        scalingMax: 4,
        scalingFactor: 20,
        memoryLimitMb: 128,
        readonlyRootFilesystem: true,
      },
      edition: createEditionResolver({ setting: "pro", gateway, log }),
      imageVisibility: createImageVisibility({ http: axios.create() }),
      publicUrl: "http://127.0.0.1:8080/",
      readyTimeoutMs: 1000,
      sleep: () => Promise.resolve(),
      log,
      now: () => new Date(),
    });
  };
}

/** Runs the queue as the queue-worker does: each queued call goes to its function through the gateway. */
function deliveringQueue(gatewayUrl: () => string) {
  const delivered: Array<Promise<unknown>> = [];
  const enqueue = (req: QueuedRequest) => {
    const headers = {
      "content-type": req.headers["content-type"] ?? "application/json",
      "x-cloud-signature-256": req.headers["x-cloud-signature-256"] ?? "",
    };
    const url = `${gatewayUrl()}function/${req.function}`;
    delivered.push(axios.post(url, req.body, { headers, validateStatus: () => true, responseType: "text" }));
    return Promise.resolve();
  };
  return { queue: { enqueue }, done: () => Promise.all(delivered.splice(0)) };
}

/** github-push, for real, with use_checks on, handing builds to the harness's gateway. */
function githubPush(harness: Harness) {
  return createBuildStarter({
    payloadSecret: PAYLOAD_SECRET,
    selfUrl: `${harness.gatewayUrl}function/github-push`,
    github: harness.github,
    gateway: createGateway({
      url: harness.gatewayUrl,
      payloadSecret: PAYLOAD_SECRET,
      http: axios.create(),
      log,
      sleep: () => Promise.resolve(),
    }),
    pending: harness.pending,
    useChecks: true,
    log,
    now: Date.now,
  });
}

function pushEvent(sha: string) {
  const payload = {
    ref: "refs/heads/master",
    after: sha,
    repository: {
      name: "fns",
      full_name: "alice/fns",
      clone_url: "https://github.com/alice/fns.git",
      html_url: "https://github.com/alice/fns",
      private: false,
      default_branch: "master",
      owner: { login: "alice", id: 1001 },
    },
    installation: { id: 1 },
  };
  const body = Buffer.from(JSON.stringify(payload));
  const headers = {
    "x-github-event": "push",
    "x-github-delivery": "d-1",
    "x-cloud-signature-256": signHop(PAYLOAD_SECRET, "github-push", body),
  };
  return { body, headers, method: "POST", query: {}, path: "/" };
}

/** Each run's accepted states in order, repeats (the live log's in_progress updates) folded. */
function sequence(updates: Array<{ status: string; conclusion: string | null }>) {
  const states = updates.map((u) => (u.status === "completed" ? `completed:${u.conclusion}` : u.status));
  return states.filter((s, i) => s !== states[i - 1]);
}

describe("check runs through the pipeline (issue #17)", () => {
  it("a 2-function stack, web's npm test failing → queued → in_progress → completed for stack-deploy, api and web; web annotated on web/handler.test.js:7", async () => {
    const bsr = await realBuildshiprun();
    const q = deliveringQueue(() => h.gatewayUrl);
    h = await startGitTar({ useChecks: true, buildshiprun: bsr, queue: q.queue });
    const repo = await h.git.createRepo("alice", "fns");
    const sha = await repo.commit(files);
    await repo.push();

    const accepted = await githubPush(h)(pushEvent(sha));
    expect(accepted.status).toBe(202);
    const [gitTar] = (await q.done()) as Array<{ status: number; data: string }>;
    expect(gitTar).toMatchObject({ status: 422 });

    // GitHub accepted every check-run call: the stand-in refuses what GitHub refuses.
    const checkCalls = h.standin.calls.filter((c) => c.path.includes("/check-runs"));
    expect(checkCalls.filter((c) => c.status >= 300)).toEqual([]);
    const runs = new Map(h.standin.checkRuns().map((r) => [r.name, r]));
    // One run per name: each stage updated the run it was handed (by id), none created a second one.
    expect(h.standin.checkRuns()).toHaveLength(3);
    expect([...runs.keys()].sort()).toEqual(["api", "stack-deploy", "web"]);
    expect(sequence(runs.get("stack-deploy")!.updates)).toEqual(["queued", "in_progress", "completed:failure"]);
    expect(sequence(runs.get("api")!.updates)).toEqual(["queued", "in_progress", "completed:success"]);
    expect(sequence(runs.get("web")!.updates)).toEqual(["queued", "in_progress", "completed:failure"]);

    const web = runs.get("web")!;
    expect(web.annotations).toEqual([
      expect.objectContaining({
        path: "web/handler.test.js",
        start_line: 7,
        end_line: 7,
        annotation_level: "failure",
        message: "AssertionError [ERR_ASSERTION]: Expected values to be strictly equal:",
      }),
    ]);
    expect(web.output?.text).toContain("'Hello' !== 'Hello, world'");
    expect(web.output?.summary).toMatch(/Image: `127\.0\.0\.1:5000\/alice\/fns--web:latest-[0-9a-f]{7}`/);
    expect(web.output?.summary).toMatch(/Duration: \d+\.\d s/);
    // Without system_public_url the details link is the signed build log.
    expect(web.details_url).toMatch(/^http:\/\/127\.0\.0\.1:8080\/function\/pipeline-log\?owner=alice&repo=fns&sha=/);
    expect(runs.get("api")!.output?.summary).toContain("URL: http://127.0.0.1:8080/function/alice--api");
    expect(runs.get("api")!.started_at).not.toBeNull();

    const summary = runs.get("stack-deploy")!.output?.summary ?? "";
    expect(summary).toMatch(
      /\| api \| success: deployed: alice--api \| http:\/\/127\.0\.0\.1:8080\/function\/alice--api \|/,
    );
    expect(summary).toMatch(/\| web \| failure: build failed: [^|]+ \| {2}\|/);

    // The commit statuses stay as they were (branch protection rules read them).
    const terminal = h.statuses().filter((s) => s.state !== "pending");
    expect(terminal.map((s) => [s.context, s.state]).sort()).toEqual([
      ["api", "success"],
      ["stack-deploy", "failure"],
      ["web", "failure"],
    ]);
  });
});
