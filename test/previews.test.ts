import examples from "@octokit/webhooks-examples/api.github.com/index.json" with { type: "json" };
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import axios from "axios";
import { pino } from "pino";
import { readBuildConfig } from "../shared/build-tar.js";
import type { DeployResult, DeploySpec } from "../shared/deploy-spec.js";
import { functionUrl } from "../shared/function-url.js";
import type { FunctionHandler } from "../shared/function-handler.js";
import { createGateway, type FunctionStatus } from "../shared/gateway.js";
import { signPayload } from "../shared/hmac.js";
import { previewFunctionName, previewKey } from "../shared/naming.js";
import { createPendingBuilds } from "../shared/pending-builds.js";
import { toDeployment, type DeployPolicy } from "../functions/buildshiprun/deployment.js";
import { previewCapRefusal } from "../functions/buildshiprun/preview-cap.js";
import { createHandler as garbageCollect } from "../functions/garbage-collect/handler.js";
import { createHandler as gitTar } from "../functions/git-tar/handler.js";
import { createTemplateStore } from "../functions/git-tar/templates.js";
import { createDeliveries } from "../shared/deliveries.js";
import { createHandler as githubEvent } from "../functions/github-event/handler.js";
import { createHandler as githubPush } from "../functions/github-push/handler.js";
import { startGateway, type QueuedRequest } from "../local/gateway.js";
import { readTree, startGitServer, type GitRepo } from "../local/git-server/git-server.js";
import type { LocalProvider } from "../local/provider/provider.js";
import { pushWebhook } from "../local/push-webhook.js";
import { startS3Server } from "../local/services/s3.js";
import { startGithub } from "./support/github.js";

// Issue #17, preview deployments, on the strict GitHub stand-in: github-event, github-push, git-tar and
// garbage-collect for real, over real git and templates. buildshiprun is played at its hop: it deploys each function
// (with buildshiprun's own labels, toDeployment) as an in-process function answering the handler's reply, and gives
// its URL as buildshiprun does (functionUrl); buildshiprun's build and deploy are tested on their own and end to end.
const SECRET = "payload-secret-for-previews";
const WEBHOOK_SECRET = "webhook-secret-for-previews";
const TEMPLATES = fileURLToPath(new URL("../local/templates", import.meta.url));
const FEATURE = "feature/login";
const log = pino({ level: "silent" });

type World = Awaited<ReturnType<typeof startWorld>>;
let world: World;
afterEach(() => world?.close());

async function startWorld(settings: { enablePreviews?: boolean; maxPreviews?: number } = {}) {
  const {
    standin,
    github,
    close: closeGithub,
  } = await startGithub({ installations: [{ id: 1, account: "alice" }], log });
  const git = await startGitServer({});
  const templates = await git.createRepo("openfaas", "templates");
  await templates.commit(await readTree(TEMPLATES));
  await templates.push();
  const workRoot = await mkdtemp(join(tmpdir(), "previews-work-"));
  const cacheDir = await mkdtemp(join(tmpdir(), "previews-templates-"));
  const s3 = await startS3Server();
  const pending = createPendingBuilds({ ...s3, useSSL: false, region: "us-east-1", bucket: "pipeline", log });

  // The provider's functions: what /system/functions lists and garbage-collect deletes; each deployed one answers
  // /function/<name> in-process.
  const deployed = new Map<string, FunctionStatus>();
  const functions = new Map<string, FunctionHandler>();
  const provider = {
    functions: {
      list: () => Promise.resolve([...deployed.values()]),
      get: (name: string) => Promise.resolve(deployed.get(name)),
      // Deployed functions are answered in-process (above); a removed one is no target.
      target: () => Promise.resolve(undefined),
      remove: (name: string) => {
        deployed.delete(name);
        functions.delete(name);
        return Promise.resolve();
      },
    },
  } as unknown as LocalProvider;
  const queued: QueuedRequest[] = [];
  const gateway = await startGateway({
    functions,
    provider,
    queue: {
      enqueue: (request) => {
        queued.push(request);
        return Promise.resolve();
      },
    },
    log,
  });
  const client = createGateway({ url: gateway.url, payloadSecret: SECRET, http: axios.create(), log });

  functions.set("buildshiprun", async (event, context) => {
    const config = await readBuildConfig(event.body);
    const spec = config.deploy as DeploySpec;
    const reply = replies.get(spec.sha) ?? "?";
    const policy = {
      repositoryUrl: "127.0.0.1:5000",
      pushRepositoryUrl: "127.0.0.1:5000",
      scalingMin: 1,
      scalingMax: 4,
      memoryLimitMb: 128,
      scalingFactor: 20,
      readonlyRootFilesystem: true,
    } as DeployPolicy;
    const edition = { name: "pro", publicImagesOnly: false, source: "test" } as const;
    // buildshiprun's cap check (ship.ts): a new preview past max_previews_per_owner fails with its own status.
    const capped =
      spec.preview && !deployed.has(spec.service)
        ? await previewCapRefusal(client, spec, settings.maxPreviews ?? 5)
        : undefined;
    if (capped) {
      const { installationId, owner, repo, sha } = spec;
      await github.setStatus({
        installationId,
        owner,
        repo,
        sha,
        state: "failure",
        context: spec.function,
        description: capped,
      });
      const failed: DeployResult = { function: spec.function, status: "failure", description: capped };
      return void context.status(200).succeed(failed);
    }
    const deployment = toDeployment(spec, config.ref, policy, edition, new Date());
    deployed.set(spec.service, { name: spec.service, image: deployment.image, labels: deployment.labels ?? {} });
    functions.set(spec.service, (_, ctx) => Promise.resolve(void ctx.status(200).succeed(reply)));
    const result: DeployResult = {
      function: spec.function,
      status: "success",
      description: `deployed: ${spec.service}`,
      url: functionUrl(spec, gateway.url),
      image: config.ref,
    };
    context.status(200).succeed(result);
  });
  functions.set("garbage-collect", garbageCollect({ payloadSecret: SECRET, gateway: client, log }));
  functions.set(
    "git-tar",
    gitTar({
      payloadSecret: SECRET,
      github,
      gateway: client,
      templates: createTemplateStore({ cacheDir, now: Date.now, log }),
      templateUrls: [`${git.url}/openfaas/templates.git`],
      githubUrl: git.url,
      pushRepositoryUrl: "127.0.0.1:5000",
      functionsPerRepoLimit: 5,
      buildConcurrency: 2,
      enableDockerfileLang: false,
      maxRepoBytes: 100 * 1024 * 1024,
      workRoot,
      pending,
      heartbeatMs: 30_000,
      log,
      now: Date.now,
    }),
  );
  functions.set(
    "github-push",
    githubPush({
      payloadSecret: SECRET,
      enablePreviews: settings.enablePreviews ?? true,
      selfUrl: `${gateway.url}function/github-push`,
      github,
      gateway: client,
      pending,
      log,
      now: Date.now,
    }),
  );
  functions.set(
    "github-event",
    githubEvent({
      webhookSecret: WEBHOOK_SECRET,
      validateHmac: true,
      gateway: client,
      deliveries: createDeliveries({ now: Date.now }),
      log,
    }),
  );

  const replies = new Map<string, string>();
  let optedIn = false;
  const repo: GitRepo = await git.createRepo("alice", "fns");
  // The default branch exists before any other, as on GitHub.
  await repo.commit({ "README.md": "fns\n" }, "initial");
  await repo.push({ branch: "master" });
  let deliveries = 0;
  const post = (event: string, body: string) =>
    axios.post<string>(`${gateway.url}function/github-event`, body, {
      headers: {
        "content-type": "application/json",
        "x-github-event": event,
        "x-github-delivery": `delivery-${++deliveries}`,
        "x-hub-signature-256": signPayload(WEBHOOK_SECRET, body),
      },
      responseType: "text",
      validateStatus: () => true,
      transformRequest: (data: unknown) => data,
    });

  return {
    standin,
    deployed,
    gatewayUrl: gateway.url,
    /** Commits a stack of one function `api` answering `reply` (with `extra` files) and pushes it to `branch`. */
    async publish(branch: string, reply: string, extra: Record<string, string> = {}) {
      const sha = await repo.commit(
        {
          "stack.yml":
            "version: 1.0\nprovider:\n  name: openfaas\nfunctions:\n  api:\n    lang: node20\n    handler: ./api\n    image: api\n",
          "api/handler.js": `module.exports = async () => ${JSON.stringify(reply)};\n`,
          "api/package.json": '{"name":"api"}\n',
          ...extra,
        },
        "update",
        // The opt-in file, committed on an earlier branch's commit, goes when this one lacks it.
        { remove: optedIn && !(".openfaas-cloud.yml" in extra) ? [".openfaas-cloud.yml"] : [] },
      );
      optedIn = ".openfaas-cloud.yml" in extra;
      await repo.push({ branch, force: true });
      replies.set(sha, reply);
      return sha;
    },
    /** GitHub's push webhook for `sha` on `branch` (master is the default branch), then every queued build run. */
    async push(branch: string, sha: string, before?: string) {
      const { body } = pushWebhook(
        {
          owner: "alice",
          ownerId: 1001,
          repo: "fns",
          sha,
          ...(before ? { before } : {}),
          branch,
          defaultBranch: "master",
          cloneUrl: `${git.url}/alice/fns.git`,
          installationId: 1,
        },
        WEBHOOK_SECRET,
        "unused",
      );
      const res = await post("push", body);
      for (const request of queued.splice(0)) {
        await axios.post(`${gateway.url}function/${request.function}`, request.body, {
          headers: request.headers,
          validateStatus: () => true,
        });
      }
      return res;
    },
    post,
    call: (url: string) => axios.get<string>(url, { responseType: "text", validateStatus: () => true }),
    stack: (sha: string) =>
      standin.statuses({ sha, context: "stack-deploy" }).map((s) => ({ state: s.state, description: s.description })),
    async close() {
      await gateway.close();
      await git.close();
      await closeGithub();
      await s3.close();
      await rm(workRoot, { recursive: true, force: true });
      await rm(cacheDir, { recursive: true, force: true });
    },
  };
}

const OPT_IN = { ".openfaas-cloud.yml": "previews: true\n" };
const previewName = (branch: string) => previewFunctionName("alice", "api", branch);

describe("preview deployments on the GitHub stand-in", () => {
  it("a push to feature/login → a preview deployment whose URL answers the branch's reply; main answers main's", async () => {
    world = await startWorld();
    const main = await world.publish("master", "main reply");
    expect((await world.push("master", main)).status).toBe(202);
    const feature = await world.publish(FEATURE, "feature reply", OPT_IN);
    expect((await world.push(FEATURE, feature)).status).toBe(202);

    expect(world.stack(feature)).toEqual([
      { state: "pending", description: "alice-fns stack deploy is in progress" },
      { state: "success", description: "stack is successfully deployed" },
    ]);
    const url = `${world.gatewayUrl}function/${previewName(FEATURE)}`;
    const [deployment, ...others] = world.standin.deployments();
    expect(others).toEqual([]);
    expect(deployment).toMatchObject({
      owner: "alice",
      repo: "fns",
      sha: feature,
      environment: `preview/${FEATURE}`,
      transient_environment: true,
      production_environment: false,
    });
    expect(deployment!.statuses.map((s) => [s.state, s.environment_url])).toEqual([
      ["in_progress", null],
      ["success", url],
    ]);
    // The deployment's URL answers with the branch's code, the main one with main's.
    expect((await world.call(url)).data).toBe("feature reply");
    expect((await world.call(`${world.gatewayUrl}function/alice--api`)).data).toBe("main reply");
    expect(world.deployed.get(previewName(FEATURE))?.labels).toMatchObject({
      "com.openfaas.cloud.preview-branch": previewKey(FEATURE),
      "com.openfaas.cloud.git-owner-id": "1001",
    });

    // Each build's garbage collection stays on its side: a new main build keeps the preview, and the other way round.
    const again = await world.publish("master", "main again");
    await world.push("master", again);
    expect([...world.deployed.keys()].sort()).toEqual(["alice--api", previewName(FEATURE)].sort());
    expect((await world.call(url)).data).toBe("feature reply");
    expect((await world.call(`${world.gatewayUrl}function/alice--api`)).data).toBe("main again");
  });

  it("deleting the branch (all-zero SHA) → its preview function removed, its deployment inactive, main untouched", async () => {
    world = await startWorld();
    await world.push("master", await world.publish("master", "main reply"));
    const feature = await world.publish(FEATURE, "feature reply", OPT_IN);
    await world.push(FEATURE, feature);
    expect(world.deployed.has(previewName(FEATURE))).toBe(true);

    const res = await world.push(FEATURE, "0".repeat(40), feature);
    expect(res.status).toBe(200);
    expect(res.data).toMatch(
      /preview preview\/feature\/login removed: garbage-collect 200, 1 deployment\(s\) inactive/,
    );
    expect([...world.deployed.keys()]).toEqual(["alice--api"]);
    expect((await world.call(`${world.gatewayUrl}function/${previewName(FEATURE)}`)).status).toBe(404);
    expect(world.standin.deployments()[0]!.statuses.at(-1)?.state).toBe("inactive");
  });

  it("closing the branch's pull request (GitHub's closed example) → the same removal", async () => {
    world = await startWorld();
    await world.push("master", await world.publish("master", "main reply"));
    await world.push(FEATURE, await world.publish(FEATURE, "feature reply", OPT_IN));
    type Example = Record<string, Record<string, unknown>>;
    const closed = (examples as Array<{ name: string; examples: Example[] }>)
      .find((e) => e.name === "pull_request")!
      .examples.find((e) => (e.action as unknown) === "closed")!;
    const owner = { ...(closed.repository!.owner as object), login: "alice", id: 1001 };
    const repository = { ...closed.repository, name: "fns", full_name: "alice/fns", owner };
    const pr = closed.pull_request!;
    const head: Record<string, unknown> = { ...(pr.head as Record<string, unknown>), ref: FEATURE };
    const body = JSON.stringify({ ...closed, repository, pull_request: { ...pr, head }, installation: { id: 1 } });

    // Other actions, and a fork's branch of the same name, remove nothing.
    const opened = await world.post("pull_request", JSON.stringify({ ...JSON.parse(body), action: "opened" }));
    expect(opened.data).toBe("github-event ignores pull_request actions other than closed");
    const fork = { ...head, repo: { ...(head.repo as object), id: 1 } };
    const fromFork = JSON.stringify({ ...JSON.parse(body), pull_request: { ...pr, head: fork } });
    expect((await world.post("pull_request", fromFork)).data).toMatch(/no preview to remove/);
    expect(world.deployed.has(previewName(FEATURE))).toBe(true);

    const res = await world.post("pull_request", body);
    expect(res.status).toBe(200);
    expect(res.data).toMatch(/pull_request closed #\d+: preview preview\/feature\/login removed/);
    expect([...world.deployed.keys()]).toEqual(["alice--api"]);
    expect(world.standin.deployments()[0]!.statuses.at(-1)?.state).toBe("inactive");
  });

  it("max_previews_per_owner=1 (buildshiprun's check): a second branch → failure naming the cap; the live one still updates", async () => {
    world = await startWorld({ maxPreviews: 1 });
    await world.push(FEATURE, await world.publish(FEATURE, "feature reply", OPT_IN));
    const other = await world.publish("other", "other reply", OPT_IN);
    await world.push("other", other);
    expect(world.standin.statuses({ sha: other, context: "api" }).at(-1)).toMatchObject({
      state: "failure",
      description:
        "preview refused: alice already has 1 live previews, the cap (max_previews_per_owner=1); delete a branch or close its pull request",
    });
    expect(world.stack(other).at(-1)).toEqual({
      state: "failure",
      description: "deploy failed: api failed to be deployed via buildshiprun",
    });
    expect(
      world.standin
        .deployments()
        .find((d) => d.sha === other)
        ?.statuses.at(-1)?.state,
    ).toBe("failure");
    expect(world.deployed.has(previewName("other"))).toBe(false);
    const update = await world.publish(FEATURE, "feature v2", OPT_IN);
    await world.push(FEATURE, update);
    expect(world.stack(update).at(-1)?.state).toBe("success");
    expect((await world.call(`${world.gatewayUrl}function/${previewName(FEATURE)}`)).data).toBe("feature v2");
  });

  it("a repository without previews: true → the skipping status, nothing deployed, no deployment", async () => {
    world = await startWorld();
    const sha = await world.publish(FEATURE, "feature reply");
    await world.push(FEATURE, sha);
    expect(world.stack(sha).at(-1)).toEqual({
      state: "success",
      description:
        "skipping build for: refs/heads/feature/login branch: previews are off for this repository (.openfaas-cloud.yml)",
    });
    expect(world.deployed.size).toBe(0);
    expect(world.standin.deployments()).toEqual([]);
  });

  it("enable_previews off → the skipping status github-push always gave, and a deleted branch removes nothing", async () => {
    world = await startWorld({ enablePreviews: false });
    const sha = await world.publish(FEATURE, "feature reply", OPT_IN);
    await world.push(FEATURE, sha);
    expect(world.stack(sha)).toEqual([
      {
        state: "success",
        description: "skipping build for: refs/heads/feature/login branch, the build branch is: master",
      },
    ]);
    const res = await world.push(FEATURE, "0".repeat(40), sha);
    expect(res.data).toMatch(/the ref was deleted/);
    expect(world.deployed.size).toBe(0);
  });
});
