import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import axios from "axios";
import { pino } from "pino";
import { readBuildConfig } from "../../shared/build-tar.js";
import type { DeployResult, DeploySpec } from "../../shared/deploy-spec.js";
import type { FunctionHandler } from "../../shared/function-handler.js";
import { createGateway } from "../../shared/gateway.js";
import { signHop } from "../../shared/hmac.js";
import { createBuildHistory } from "../../shared/build-history.js";
import { createPendingBuilds } from "../../shared/pending-builds.js";
import type { BuildRequest } from "../../shared/push.js";
import type { GitTarDeps } from "../../functions/git-tar/build-stack.js";
import { createHandler as gitTar } from "../../functions/git-tar/handler.js";
import { createTemplateStore } from "../../functions/git-tar/templates.js";
import { startGateway, type AsyncQueue } from "../../local/gateway.js";
import type { Github } from "../../shared/github.js";
import { readTree, startGitServer } from "../../local/git-server/git-server.js";
import { startS3Server } from "../../local/services/s3.js";
import { startGithub } from "./github.js";

export const PAYLOAD_SECRET = "payload-secret-for-git-tar";
const TEMPLATES = fileURLToPath(new URL("../../local/templates", import.meta.url));

/** What the buildshiprun stand-in received: the decoded builder config of each tar. */
export interface Received {
  ref: string;
  buildArgs: Record<string, string>;
  deploy: DeploySpec;
  tar: Buffer;
}

/**
 * git-tar under the local gateway with real git (smart HTTP), real templates pulled from a template repo, the
 * strict GitHub stand-in, and its pending-build records in a real S3 server. buildshiprun and garbage-collect are played by recorders at the hop boundary: they are
 * exercised for real in their own tests.
 */
export async function startGitTar(
  options: {
    enableDockerfileLang?: boolean;
    maxRepoBytes?: number;
    failFunctions?: string[];
    /** Functions buildshiprun answers 500 for (a fault, no status of its own): git-tar covers for it. */
    brokenFunctions?: string[];
    /** Functions whose status buildshiprun could not post (GitHub refused every retry): it answers statusPosted false. */
    unpostedFunctions?: string[];
    /** system_public_url: statuses link the dashboard (issue #14). */
    systemPublicUrl?: string;
    /** git-tar's heartbeat period (default 30 s, the production one). */
    heartbeatMs?: number;
    /** Runs while the buildshiprun stand-in "builds" a function, before it answers. */
    whileBuilding?: (deploy: DeploySpec) => Promise<void>;
    /** use_checks for git-tar (issue #17). */
    useChecks?: boolean;
    /** The real buildshiprun (or another) instead of the recorder, given the harness's GitHub client and S3. */
    buildshiprun?: (github: Github, s3: Awaited<ReturnType<typeof startS3Server>>) => FunctionHandler;
    /** Where the gateway's /async-function/* calls go (default: accepted and dropped). */
    queue?: AsyncQueue;
  } = {},
) {
  const log = pino({ level: "silent" });
  const {
    standin,
    github,
    close: closeGithub,
  } = await startGithub({
    installations: [
      { id: 1, account: "alice" },
      { id: 2, account: "bob" },
    ],
    log,
  });
  const git = await startGitServer({ privateAuth: (owner, password) => standin.checkToken(password, owner) });
  const templates = await git.createRepo("openfaas", "templates");
  await templates.commit(await readTree(TEMPLATES));
  await templates.push();

  const workRoot = await mkdtemp(join(tmpdir(), "git-tar-work-"));
  const cacheDir = await mkdtemp(join(tmpdir(), "git-tar-templates-"));
  const received: Received[] = [];
  const collected: unknown[] = [];
  const functions = new Map<string, FunctionHandler>();
  const gateway = await startGateway({ functions, queue: options.queue ?? { enqueue: () => Promise.resolve() }, log });
  functions.set("buildshiprun", async (event, context) => {
    const config = await readBuildConfig(event.body);
    const deploy = config.deploy as DeploySpec;
    await options.whileBuilding?.(deploy);
    received.push({ ref: config.ref, buildArgs: config.buildArgs, deploy, tar: event.body });
    if (options.brokenFunctions?.includes(deploy.function)) return context.status(500).succeed("internal error");
    const failed = options.failFunctions?.includes(deploy.function);
    const result: DeployResult = {
      function: deploy.function,
      status: failed ? "failure" : "success",
      description: failed ? "build failed: SyntaxError" : `deployed: ${deploy.service}`,
      image: config.ref,
      ...(options.unpostedFunctions?.includes(deploy.function) ? { statusPosted: false } : {}),
    };
    context.status(200).succeed(result);
  });
  functions.set("garbage-collect", (event, context) => {
    collected.push(JSON.parse(event.body.toString()));
    context.status(200).succeed({ deleted: [] });
    return Promise.resolve();
  });
  const client = createGateway({
    url: gateway.url,
    payloadSecret: PAYLOAD_SECRET,
    http: axios.create(),
    log,
    sleep: () => Promise.resolve(),
  });
  const s3 = await startS3Server();
  if (options.buildshiprun) functions.set("buildshiprun", options.buildshiprun(github, s3));
  const pending = createPendingBuilds({ ...s3, useSSL: false, region: "us-east-1", bucket: "pipeline", log });
  const history = createBuildHistory({
    ...s3,
    useSSL: false,
    region: "us-east-1",
    bucket: "pipeline",
    log,
    timeoutMs: 30_000,
  });
  const deps: GitTarDeps = {
    payloadSecret: PAYLOAD_SECRET,
    github,
    gateway: client,
    templates: createTemplateStore({ cacheDir, now: Date.now, log }),
    templateUrls: [`${git.url}/openfaas/templates.git`],
    githubUrl: git.url,
    pushRepositoryUrl: "127.0.0.1:5000",
    functionsPerRepoLimit: 5,
    buildConcurrency: 2,
    enableDockerfileLang: options.enableDockerfileLang ?? false,
    maxRepoBytes: options.maxRepoBytes ?? 100 * 1024 * 1024,
    workRoot,
    pending,
    heartbeatMs: options.heartbeatMs ?? 30_000,
    history,
    ...(options.systemPublicUrl ? { systemPublicUrl: options.systemPublicUrl } : {}),
    ...(options.useChecks ? { useChecks: true } : {}),
    log,
    now: Date.now,
  };
  functions.set("git-tar", gitTar(deps));

  /** The build request github-push would queue for `sha`; `changes` may add fields a payload could carry. */
  function buildRequest(
    owner: string,
    repo: string,
    sha: string,
    changes: Partial<BuildRequest> & Record<string, unknown> = {},
  ) {
    const request: BuildRequest = {
      owner,
      ownerId: owner === "alice" ? 1001 : 1002,
      repo,
      fullName: `${owner}/${repo}`,
      repoUrl: `https://github.com/${owner}/${repo}`,
      private: false,
      sha,
      ref: "refs/heads/master",
      branch: "master",
      installationId: owner === "alice" ? 1 : 2,
      deliveryId: "delivery-1",
      ...changes,
    };
    return JSON.stringify(request);
  }

  /** Sends git-tar (through the gateway) the build request github-push would queue for `sha`. */
  async function build(
    owner: string,
    repo: string,
    sha: string,
    changes: Partial<BuildRequest> & Record<string, unknown> = {},
    signature?: string,
  ) {
    const body = buildRequest(owner, repo, sha, changes);
    return axios.post<string>(`${gateway.url}function/git-tar`, body, {
      headers: {
        "content-type": "application/json",
        "x-cloud-signature-256": signature ?? signHop(PAYLOAD_SECRET, "git-tar", body),
      },
      responseType: "text",
      validateStatus: () => true,
    });
  }

  return {
    standin,
    /** The GitHub client git-tar uses (the production one, against the stand-in). */
    github,
    gatewayUrl: gateway.url,
    git,
    received,
    collected,
    workRoot,
    /** git-tar's pending-build records, and the S3 server holding them (close it to see S3 fail). */
    pending,
    /** The build records git-tar writes for functions buildshiprun could not report. */
    history,
    s3,
    /** git-tar's dependencies, for a test that serves its own git-tar (e.g. with an exec timeout). */
    deps,
    buildRequest,
    build,
    statuses: () => standin.statuses().map((s) => ({ context: s.context, state: s.state, description: s.description })),
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
