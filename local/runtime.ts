import { randomUUID } from "node:crypto";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import axios from "axios";
import type { DestinationStream, Logger } from "pino";
import type { FunctionHandler } from "../shared/function-handler.js";
import * as buildReaper from "../functions/build-reaper/handler.js";
import * as buildshiprun from "../functions/buildshiprun/handler.js";
import * as dashboardApi from "../functions/dashboard-api/handler.js";
import * as edgeAuth from "../functions/edge-auth/handler.js";
import * as garbageCollect from "../functions/garbage-collect/handler.js";
import * as gitTar from "../functions/git-tar/handler.js";
import * as importSecrets from "../functions/import-secrets/handler.js";
import * as githubEvent from "../functions/github-event/handler.js";
import * as githubPush from "../functions/github-push/handler.js";
import * as gitlabEvent from "../functions/gitlab-event/handler.js";
import * as gitlabPush from "../functions/gitlab-push/handler.js";
import * as pipelineLog from "../functions/pipeline-log/handler.js";
import { createDockerBackend } from "../of-builder/docker-backend.js";
import { createDockerClient } from "../of-builder/docker-engine.js";
import { createBuilderServer } from "../of-builder/server.js";
import { trustedProxyList } from "../edge-router/config.js";
import { createEdgeRouter } from "../edge-router/server.js";
import { startGateway } from "./gateway.js";
import { type GitFileContent, type GitRepo, readBranchTip, readTree, startGitServer } from "./git-server/git-server.js";
import { startGithubStandin, type RecordedStatus } from "./github-standin/server.js";
import { type GitlabProject, type HookDelivery, startGitlabStandin } from "./gitlab-standin/server.js";
import { listen } from "./listen.js";
import { loadPorts } from "./ports.js";
import { createLocalProvider } from "./provider/provider.js";
import { pushWebhook } from "./push-webhook.js";
import { createJetStreamQueue, dropQueued } from "./queue.js";
import { startQueueWorker } from "./queue-worker.js";
import { cronJobs, startCron } from "./cron.js";
import { ensureBaseImage } from "./services/base-image.js";
import { startDockerd } from "./services/dockerd.js";
import { startNats } from "./services/nats.js";
import { startPrometheus } from "./services/prometheus.js";
import { dockerConfig, startRegistry } from "./services/registry.js";
import { startS3Server } from "./services/s3.js";
import { readStack } from "../shared/stack.js";
import { deploymentOf, PROJECT_ROOT, systemLimits } from "./system-stack.js";
import { prepareWorkspace } from "./workspace.js";

const TEMPLATES = fileURLToPath(new URL("./templates", import.meta.url));
const SYSTEM_FUNCTIONS = {
  "github-event": githubEvent,
  "github-push": githubPush,
  "gitlab-event": gitlabEvent,
  "gitlab-push": gitlabPush,
  "git-tar": gitTar,
  buildshiprun,
  "garbage-collect": garbageCollect,
  "pipeline-log": pipelineLog,
  "build-reaper": buildReaper,
  "edge-auth": edgeAuth,
  "dashboard-api": dashboardApi,
  "import-secrets": importSecrets,
};
// The local GitHub App's OAuth client id: public (it is in every login URL); its secret is random (workspace.ts).
const LOCAL_CLIENT_ID = "Iv1.ofclocal0000000";

export interface LocalCloudOptions {
  /** State: secrets, daemons' data, ports, the record of statuses. Reused by the next start. */
  dir: string;
  /** The owners (GitHub logins) with the App installed, each on the customers list. */
  owners: string[];
  /**
   * GitLab namespaces (full paths such as `acme` or `demo/team`) on the customers list, as `gitlab:<path>` lines: each
   * admits its subgroups too (issue #19, docs/gitlab.md). Default: none.
   */
  gitlabNamespaces?: string[];
  /** The runtime's own components' logger: gateway, queue and its worker, of-builder, edge router, cron, provider. */
  log: Logger;
  /**
   * Where the in-process system functions write their log lines (each its own logger, at `log`'s level). Default:
   * stdout, as in a deployment; a test passes the stream `log` writes to, to read every line of a run (issue #15).
   */
  logDestination?: DestinationStream;
  gatewayPort?: number;
  /** How often Prometheus scrapes the gateway's /metrics (default 5 s, as the OpenFaaS chart's Prometheus). */
  scrapeIntervalMs?: number;
  /** The edge router's port (`http://<owner>.localhost:<port>/<fn>`); default: kept in `<dir>/ports.json`. */
  edgePort?: number;
  /** How long the queue waits for a silent worker before redelivering (crash recovery time). */
  ackWaitMs?: number;
  /** Settings over the runtime's own for every system function, e.g. a short `pending_deadline` for a test. */
  settings?: Readonly<Record<string, string>>;
  /** Every cron function (build-reaper) on this schedule instead of its stack.yml one, e.g. `* * * * * *` in tests. */
  cronSchedule?: string;
  /**
   * Who can log in through the stand-in's GitHub OAuth (issue #13), with their organisations; a test approves as one
   * of them with `login=<user>` on the authorize URL. Default: each owner, a user of id 1000 + its installation id.
   */
  githubUsers?: Array<{ id: number; login: string; orgs: string[] }>;
  /**
   * A real GitHub App instead of the local record (docs/github-app.md): statuses and installation tokens go to
   * `apiUrl` with the App's id, its private key and webhook secret taken from `<dir>/secrets`.
   */
  realGithub?: { appId: string; apiUrl: string; templatesUrl: string; gitUrl: string };
  /** Start-up progress as it happens (npm start prints it, issue #18): each service once up, and slow first-run work. */
  progress?: (event: StartProgress) => void;
}

/** A service that is up and how long it took (ms since the previous step), or a note before slow work. */
export type StartProgress = { step: string; ms: number } | { note: string };

/**
 * OpenFaaS Cloud on one machine (DESIGN §7): dockerd with BuildKit, a registry, NATS JetStream, S3 for logs, a local
 * git host, local records of GitHub's and GitLab's APIs, of-builder, and the gateway running the system functions
 * in-process and user functions as containers. Everything binds to 127.0.0.1.
 */
export async function startLocalCloud(options: LocalCloudOptions) {
  const stops: Array<() => Promise<void>> = [];
  /** Stops everything this start began, newest first; daemons started by an earlier run are left running. */
  const stopAll = async () => {
    for (const stop of stops.splice(0).reverse()) {
      await stop().catch((error: unknown) => options.log.warn({ err: error }, "stopping a local service failed"));
    }
  };
  try {
    return await assemble(options, stops, stopAll);
  } catch (error) {
    // A start that fails part-way (a port taken, a daemon that would not come up) must not leave dockerd, the
    // registry or NATS running with no parent: the next start would trip over them, and a test run would hang.
    await stopAll();
    throw error;
  }
}

async function assemble(options: LocalCloudOptions, stops: Array<() => Promise<void>>, stopAll: () => Promise<void>) {
  const { dir, log } = options;
  let last = performance.now();
  const step = (name: string) => {
    const now = performance.now();
    options.progress?.({ step: name, ms: Math.round(now - last) });
    last = now;
  };
  const workspace = prepareWorkspace(dir);
  const secret = (name: string) => readFile(join(workspace.secretsDir, name), "utf8");
  const customers = [...options.owners, ...(options.gitlabNamespaces ?? []).map((path) => `gitlab:${path}`)];
  await writeFile(join(workspace.secretsDir, "customers"), customers.join("\n") + "\n");
  const ports = await loadPorts(join(dir, "ports.json"), {
    ...(options.gatewayPort ? { gateway: options.gatewayPort } : {}),
    ...(options.edgePort ? { edge: options.edgePort } : {}),
  });
  // git-tar's clones go under the state folder, emptied at each start (one runtime per folder, local/state-lock.ts):
  // a build cut short by a stop or a kill leaves nothing in the machine's temp folder (issue #18).
  const scratch = join(dir, "tmp");
  await rm(scratch, { recursive: true, force: true });
  await mkdir(scratch, { recursive: true });
  step("secrets and ports");
  // Prometheus (issue #13) scrapes the gateway's /metrics with the /system/* account, which also opens its own API.
  // It needs nothing else, so it starts beside the rest; the start awaits it last (about 0.6 s on its own).
  const gatewayAccount = {
    username: (await secret("basic-auth-user")).trim(),
    password: (await secret("basic-auth-password")).trim(),
  };
  const prometheusStarting = startPrometheus({
    dataDir: join(dir, "prometheus"),
    port: ports.prometheus,
    credentials: gatewayAccount,
    scrape: {
      target: `127.0.0.1:${ports.gateway}`,
      intervalMs: options.scrapeIntervalMs ?? 5_000,
      username: gatewayAccount.username,
      passwordFile: join(workspace.secretsDir, "basic-auth-password"),
    },
  });
  // Handled here and awaited below: a failed start must not be an unhandled rejection while the others start.
  prometheusStarting.catch(() => undefined);
  stops.push(async () => (await prometheusStarting).stop());

  const dockerd = await startDockerd({ dataDir: join(dir, "d") });
  stops.push(() => dockerd.stop());
  step("dockerd");
  // Each internal service takes only its own random account from <dir>/secrets (issue #10, docs/local.md).
  const registryOptions = {
    dataDir: join(dir, "registry"),
    port: ports.registry,
    credentials: { username: "ofc", password: (await secret("registry-password")).trim() },
  };
  let registry = await startRegistry(registryOptions);
  const registryConfig = dockerConfig(registry.url, registry.credentials);
  stops.push(() => registry.stop());
  step("registry");
  const baseImage = await ensureBaseImage({
    socketPath: dockerd.socketPath,
    registry: registry.url,
    credentials: registry.credentials,
    workDir: join(dir, "base"),
    onBuild: () => options.progress?.({ note: "first run: about 30–60 s to prepare the base image (Node.js 24)" }),
  });
  step("base image");
  const natsOptions = {
    dataDir: join(dir, "nats"),
    port: ports.nats,
    credentials: { user: "ofc", password: (await secret("nats-password")).trim() },
  };
  // Every client connects by URL and account, which a restart on the same port keeps (faults.restartNats).
  const nats = await startNats(natsOptions);
  let stopNats = () => nats.stop();
  stops.push(() => stopNats());
  step("NATS JetStream");
  // github-event keeps X-GitHub-Delivery ids in this NATS (nats_url), with its account read from the secrets.
  await writeFile(join(workspace.secretsDir, "nats-user"), nats.user, { mode: 0o600 });
  const s3 = await startS3Server({
    port: ports.s3,
    directory: join(dir, "s3"),
    keys: { accessKey: (await secret("s3-access-key")).trim(), secretKey: (await secret("s3-secret-key")).trim() },
  });
  stops.push(() => s3.close());
  step("S3");
  const installations = options.owners.map((account, i) => ({ id: i + 1, account }));
  const github = await startGithubStandin({
    appId: workspace.appId,
    publicKeyPem: workspace.publicKeyPem,
    installations,
    port: ports.github,
    recordFile: join(dir, "github-statuses.jsonl"),
    // "Get a branch" answers the local git host's real tips, so a stale re-run is refused as on GitHub (issue #17).
    branchTip: (owner, repo, branch) => readBranchTip(join(dir, "git"), owner, repo, branch),
    // edge-auth's login (issue #13): the callback is the system host's through the edge router.
    oauth: {
      clientId: LOCAL_CLIENT_ID,
      clientSecret: (await secret("oauth-client-secret")).trim(),
      callbackUrl: `http://system.localhost:${ports.edge}/auth/oauth2/authorized`,
      users: options.githubUsers ?? installations.map((i) => ({ id: 1000 + i.id, login: i.account, orgs: [] })),
    },
  });
  stops.push(() => github.close());
  step("GitHub record");
  // GitLab's side (issue #19), always: a stand-in instance (API and git host on one port) takes little to start. Its
  // API accepts only the gitlab-api-token the system functions hold. Its repositories live in the state folder, so a
  // killed runtime leaves nothing in the machine's temp folder (issue #18); it holds its projects in memory, so each
  // start begins with none.
  const gitlabRoot = join(dir, "gitlab");
  await rm(gitlabRoot, { recursive: true, force: true });
  const gitlab = await startGitlabStandin({
    token: (await secret("gitlab-api-token")).trim(),
    port: ports.gitlab,
    recordFile: join(dir, "gitlab-statuses.jsonl"),
    root: gitlabRoot,
  });
  stops.push(() => gitlab.close());
  step("GitLab record");
  const git = await startGitServer({
    root: join(dir, "git"),
    port: ports.git,
    privateAuth: (owner, password) => github.checkToken(password, owner),
  });
  stops.push(() => git.close());
  const repos = new Map<string, { repo: GitRepo; files: Set<string> }>();

  /** Commits `files` (or a folder) as the new tip of `owner/name`'s `branch` (master); returns the SHA. */
  async function publish(
    owner: string,
    name: string,
    source: string | Record<string, GitFileContent>,
    message = "update",
    branch = "master",
  ) {
    let entry = repos.get(`${owner}/${name}`);
    entry ??= { repo: await git.createRepo(owner, name), files: new Set() };
    repos.set(`${owner}/${name}`, entry);
    return commitTree(entry, source, message, branch);
  }
  const templates = await publish("openfaas", "templates", TEMPLATES, "templates");
  step("git host");

  // of-builder, in-process, on the Docker backend: templates get the local base image (no image can be pulled here).
  const payloadSecret = (await secret("payload-secret")).trim();
  const newBuilder = () =>
    createBuilderServer({
      backend: createDockerBackend({
        docker: createDockerClient({ socketPath: dockerd.socketPath }),
        // of-builder's process holds the registry account, as DOCKER_CONFIG gives it in a deployment; builds never do.
        readDockerConfig: () => Promise.resolve(registryConfig),
      }),
      payloadSecret,
      maxInflight: 2,
      maxBuildBytes: 500 * 1024 * 1024,
      maxBuildFiles: 10_000,
      baseBuildArgs: { NODE_IMAGE: baseImage },
      tmpDir: tmpdir(),
      log: log.child({ component: "of-builder" }),
    });
  let builder = newBuilder();
  await listen(builder.server, ports.builder);
  stops.push(() => builder.shutdown(10_000));
  step("of-builder");

  const gatewayUrl = `http://127.0.0.1:${ports.gateway}/`;
  const env: Record<string, string> = {
    gateway_url: gatewayUrl,
    gateway_public_url: gatewayUrl,
    // Status links name the edge router's pretty URL, http://<owner>.localhost:<edge port>/<fn> (issue #13).
    gateway_pretty_url: `http://user.localhost:${ports.edge}/function`,
    builder_url: `http://127.0.0.1:${ports.builder}/`,
    repository_url: registry.url,
    push_repository_url: registry.url,
    s3_url: s3.endpoint,
    github_api_url: options.realGithub?.apiUrl ?? github.url,
    // git-tar clones <github_url>/<owner>/<repo>.git: the local git host stands in for github.com.
    github_url: options.realGithub?.gitUrl ?? git.url,
    github_app_id: options.realGithub?.appId ?? String(workspace.appId),
    templates_url: options.realGithub?.templatesUrl ?? `${git.url}/openfaas/templates.git`,
    secret_mount_path: workspace.secretsDir,
    readonly_root_filesystem: "true",
    log_level: options.log.level,
    nats_url: nats.url,
    // edge-auth (issue #13): GitHub's login is the stand-in's; the system host is the edge router's.
    client_id: LOCAL_CLIENT_ID,
    github_oauth_url: options.realGithub?.gitUrl ?? github.url,
    // GitLab (issue #19): its API and git-tar's clones of GitLab projects go to the stand-in.
    gitlab_url: gitlab.url,
    system_public_url: `http://system.localhost:${ports.edge}`,
    // The dashboard APIs (issue #13) ask the local Prometheus, which takes the gateway's account.
    prometheus_url: `http://127.0.0.1:${ports.prometheus}`,
    prometheus_basic_auth: "true",
    ...options.settings,
  };
  const functions = new Map<string, FunctionHandler>();
  for (const [name, fn] of Object.entries(SYSTEM_FUNCTIONS)) {
    const deps = fn.depsFromEnv(env, options.logDestination);
    functions.set(name, fn.createHandler((name === "git-tar" ? { ...deps, workRoot: scratch } : deps) as never));
    // github-event's delivery store holds a NATS connection of its own.
    if ("deliveries" in deps) stops.push(() => deps.deliveries.close());
  }

  const queue = await createJetStreamQueue({ nats, log });
  stops.push(() => queue.close());
  const provider = createLocalProvider({
    socketPath: dockerd.socketPath,
    dockerConfig: registryConfig,
    stateDir: join(dir, "provider"),
    log,
    now: () => new Date(),
  });
  stops.push(() => Promise.resolve(provider.close()));
  const auth = {
    user: (await secret("basic-auth-user")).trim(),
    password: (await secret("basic-auth-password")).trim(),
  };
  const gateway = await startGateway({
    functions,
    // Each in-process system function refuses what its image would (stack.yml max_body_bytes, issue #10).
    functionLimits: await systemLimits(),
    queue,
    log,
    port: ports.gateway,
    provider,
    auth,
  });
  stops.push(() => gateway.close());
  step("gateway");

  // The edge router (issue #13) on its own port: browsers and curl resolve *.localhost to loopback.
  const edge = createEdgeRouter({
    domain: "localhost",
    gatewayUrl,
    trustedProxies: trustedProxyList([]),
    log: log.child({ component: "edge-router" }),
  });
  await listen(edge.server, ports.edge);
  stops.push(() => edge.close(1000));
  step("edge router");
  const edgeUrl = `http://localhost:${ports.edge}/`;

  const startWorker = () =>
    startQueueWorker({
      nats,
      log,
      ...(options.ackWaitMs ? { ackWaitMs: options.ackWaitMs } : {}),
      invoke: async (req) => {
        const query = new URLSearchParams(req.query).toString();
        const res = await axios.post<ArrayBuffer>(
          `${gatewayUrl}function/${req.function}${req.path === "/" ? "" : req.path}${query ? `?${query}` : ""}`,
          req.body,
          {
            headers: { ...req.headers, host: `127.0.0.1:${ports.gateway}` },
            responseType: "arraybuffer",
            validateStatus: () => true,
            maxBodyLength: Infinity,
            maxRedirects: 0,
            transformRequest: (data: unknown) => data,
          },
        );
        return { status: res.status, headers: res.headers as Record<string, string>, body: Buffer.from(res.data) };
      },
    });
  let worker: Awaited<ReturnType<typeof startWorker>> | undefined = await startWorker();
  stops.push(async () => worker?.stop());

  // cron-connector's part (issue #11): build-reaper on its stack.yml schedule, called unsigned through the gateway.
  const jobs = cronJobs((await readStack(PROJECT_ROOT, {})).functions).map((job) =>
    options.cronSchedule ? { ...job, schedule: options.cronSchedule } : job,
  );
  const cron = startCron({
    jobs,
    invoke: async (name) =>
      (await axios.post(`${gatewayUrl}function/${name}`, "", { validateStatus: () => true, maxRedirects: 0 })).status,
    log: log.child({ component: "cron" }),
  });
  stops.push(() => Promise.resolve(cron.stop()));
  step("queue worker and cron");
  const prometheus = await prometheusStarting;
  step("Prometheus");

  /**
   * Swaps the in-process system functions for containers of their images, deployed from stack.yml as
   * `faas-cli deploy --env` would (the local addresses overlaid on its environment files), with its secrets put in
   * the provider's store. Resolves once every container answers; the gateway routes to them from then on. A function
   * `images` does not name keeps running in-process (the dogfood test builds the GitHub side only).
   */
  async function runSystemImages(images: ReadonlyMap<string, string>) {
    const all = await readStack(PROJECT_ROOT, {});
    const stack = { ...all, functions: all.functions.filter((fn) => images.has(fn.name)) };
    const unknown = [...images.keys()].filter((name) => !all.functions.some((fn) => fn.name === name));
    if (unknown.length > 0) throw new Error(`not system functions of stack.yml: ${unknown.join(", ")}`);
    const overlay = { ...env, secret_mount_path: "/var/openfaas/secrets" };
    for (const name of new Set(stack.functions.flatMap((fn) => fn.secrets))) {
      const value = await readFile(join(workspace.secretsDir, name));
      if (provider.secrets.list().includes(name)) provider.secrets.replace(name, value);
      else provider.secrets.create(name, value);
    }
    for (const fn of stack.functions) {
      const image = images.get(fn.name)!;
      const deployment = deploymentOf(fn, image, overlay);
      if (await provider.functions.get(fn.name)) await provider.functions.update(deployment);
      else await provider.functions.deploy(deployment);
    }
    for (const fn of stack.functions) {
      for (const deadline = Date.now() + 60_000; ;) {
        const target = await provider.functions.target(fn.name);
        if (typeof target === "object") {
          target.release();
          break;
        }
        if (Date.now() > deadline) throw new Error(`the system function ${fn.name} did not start within 60 s`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      functions.delete(fn.name);
    }
  }

  const webhookSecret = (await secret("github-webhook-secret")).trim();
  const gitlabHookToken = (await secret("gitlab-webhook-secret")).trim();
  const gitlabRepos = new Map<string, { project: GitlabProject; repo: GitRepo; files: Set<string> }>();

  /**
   * Posts a hook delivery (the stand-in's payload and headers, or a hand-made body: then a system hook with a fresh
   * `X-Gitlab-Event-UUID`) to gitlab-event as GitLab does, with the hook's secret token: the runtime's own unless
   * `token` says otherwise; null sends none.
   */
  async function sendGitlabHook(
    delivery: HookDelivery | { body: unknown; headers?: Record<string, string> },
    options: { token?: string | null } = {},
  ): Promise<{ status: number; body: string }> {
    const token = options.token === undefined ? gitlabHookToken : options.token;
    const res = await axios.post<string>(
      `${gatewayUrl}function/gitlab-event`,
      typeof delivery.body === "string" ? delivery.body : JSON.stringify(delivery.body),
      {
        headers: {
          ...(delivery.headers ?? {
            "Content-Type": "application/json",
            "X-Gitlab-Event": "System Hook",
            "X-Gitlab-Event-UUID": randomUUID(),
          }),
          ...(token === null ? {} : { "X-Gitlab-Token": token }),
        },
        responseType: "text",
        validateStatus: () => true,
        transformRequest: (d: unknown) => d,
      },
    );
    return { status: res.status, body: res.data };
  }

  return {
    gatewayUrl,
    /** Prometheus, scraping the gateway's /metrics; its API takes the /system/* account (`auth`). */
    prometheusUrl: prometheus.url,
    /** The edge router: `http://<owner>.localhost:<port>/<fn>`, `http://system.localhost:<port>/github-event` (and gitlab-event). */
    edgeUrl,
    edgePort: ports.edge,
    builderUrl: `http://127.0.0.1:${ports.builder}/`,
    payloadSecret,
    runSystemImages,
    /** The system functions' settings as the runtime gave them (s3_url, secret_mount_path, …). */
    settings: env as Readonly<Record<string, string>>,
    /**
     * The queue-worker, for fault tests (issue #11): `stop()` leaves queued calls in the queue, `start()` takes them
     * up again, and `drop()` loses every queued call as a NATS Streaming restart does on Community Edition.
     */
    queueWorker: {
      async stop() {
        await worker?.stop();
        worker = undefined;
      },
      async start() {
        worker ??= await startWorker();
      },
      drop: () => dropQueued(nats),
    },
    /**
     * Fault injection for test/e2e/faults.test.ts (issue #16), each on the same port, so clients find the part again.
     * `killBuilder()` is of-builder dying mid-build: its listener and every connection (uploads, streamed builds) are
     * cut at once, with no answer, and a fresh of-builder (no memory of the old one's builds) listens again.
     * `stopRegistry()`/`startRegistry()` stop and start the registry daemon (same storage and account).
     * `restartNats()` stops nats-server (SIGTERM) and starts it again on the same JetStream store.
     */
    faults: {
      builderInflight: () => builder.inflight(),
      async killBuilder() {
        const dead = builder;
        const closed = new Promise<void>((resolve) => dead.server.close(() => resolve()));
        dead.server.closeAllConnections();
        await closed;
        builder = newBuilder();
        await listen(builder.server, ports.builder);
      },
      stopRegistry: () => registry.stop(),
      async startRegistry() {
        registry = await startRegistry(registryOptions);
      },
      async restartNats() {
        await stopNats();
        const again = await startNats(natsOptions);
        stopNats = () => again.stop();
      },
    },
    github,
    git,
    /** The GitLab stand-in (issue #19): its projects, recorded statuses, deploy tokens and payload builders. */
    gitlab,
    /**
     * Commits `files` (or a folder) as the new tip of the GitLab project `fullPath` (e.g. `group/sub/project`),
     * created on first use with the opt-in topic unless `topics` says otherwise; returns the project and the SHA.
     */
    async publishGitlab(
      fullPath: string,
      source: string | Record<string, GitFileContent>,
      options: { topics?: string[]; visibility?: "public" | "internal" | "private"; message?: string } = {},
    ) {
      let entry = gitlabRepos.get(fullPath.toLowerCase());
      if (!entry) {
        const created = await gitlab.createProject({
          fullPath,
          topics: options.topics ?? ["openfaas-cloud"],
          visibility: options.visibility ?? "private",
        });
        entry = { ...created, files: new Set() };
        gitlabRepos.set(fullPath.toLowerCase(), entry);
      }
      const sha = await commitTree(entry, source, options.message ?? "update", entry.project.defaultBranch);
      return { project: entry.project, sha };
    },
    sendGitlabHook,
    /**
     * Sends the system hook's push GitLab sends for `after` on `project`'s default branch (the stand-in's payload of
     * GitLab's documented event) to gitlab-event, with the hook's secret token.
     */
    async gitlabPush(project: GitlabProject, push: { before?: string; after: string; ref?: string }) {
      const delivery = await gitlab.pushEvent(project, {
        before: push.before ?? "0".repeat(40),
        after: push.after,
        ref: push.ref ?? `refs/heads/${project.defaultBranch}`,
        hook: "system",
      });
      return sendGitlabHook(delivery);
    },
    /** Waits for a terminal GitLab status (success, failed, canceled) named `name` on `projectId`'s `sha`. */
    async waitForGitlabStatus(projectId: number, sha: string, name: string, timeoutMs = 180_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = gitlab
          .statuses({ projectId, sha, name })
          .filter((s) => ["success", "failed", "canceled"].includes(s.state));
        if (found.length > 0) return found.at(-1)!;
        if (Date.now() > deadline)
          throw new Error(
            `no terminal ${name} status for project ${projectId}@${sha.slice(0, 7)} within ${timeoutMs} ms`,
          );
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    },
    registry: registry.url,
    /** The registry's account (the operator's, for pushing by hand: `docker login` with it). */
    registryCredentials: registry.credentials,
    /** The private dockerd's API socket: the runtime's own, never mounted into a build or a function. */
    dockerSocket: dockerd.socketPath,
    templatesSha: templates,
    publish,
    auth,
    /**
     * Sends the push webhook GitHub would send for `sha` on `owner/repo` to github-event. The owner's id is
     * 1000 + its installation id unless `ownerId` says otherwise (an account that took a renamed login, issue #10).
     * `branch` pushes another branch than master; an all-zero `sha` is that branch's deletion (issue #17).
     */
    async sendPush(owner: string, repo: string, sha: string, before?: string, ownerId?: number, branch?: string) {
      const installation = installations.find((i) => i.account.toLowerCase() === owner.toLowerCase());
      const { body, headers } = pushWebhook(
        {
          owner,
          ownerId: ownerId ?? 1000 + (installation?.id ?? 0),
          repo,
          sha,
          before,
          cloneUrl: `${git.url}/${owner}/${repo}.git`,
          installationId: installation?.id ?? 0,
          // Another branch than master (previews, issue #17); master stays the default branch.
          ...(branch ? { branch, defaultBranch: "master" } : {}),
        },
        webhookSecret,
        randomUUID(),
      );
      const res = await axios.post<string>(`${gatewayUrl}function/github-event`, body, {
        headers,
        responseType: "text",
        validateStatus: () => true,
        transformRequest: (d: unknown) => d,
      });
      return { status: res.status, body: res.data };
    },
    /** Waits for a terminal status (success, failure, error) on `context` for `sha`. */
    async waitForStatus(
      owner: string,
      repo: string,
      sha: string,
      context: string,
      timeoutMs = 180_000,
    ): Promise<RecordedStatus> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = github.statuses({ owner, repo, sha, context }).filter((s) => s.state !== "pending");
        if (found.length > 0) return found.at(-1)!;
        if (Date.now() > deadline)
          throw new Error(
            `no terminal ${context} status for ${owner}/${repo}@${sha.slice(0, 7)} within ${timeoutMs} ms`,
          );
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    },
    /** Stops everything this start began, newest first; daemons started by an earlier run are left running. */
    close: stopAll,
  };
}

export type LocalCloud = Awaited<ReturnType<typeof startLocalCloud>>;

/**
 * Commits `source` (files, or a folder read whole) as the new tip of `branch` in a repository the runtime tracks:
 * files the last commit had and `source` lacks are removed, and this session's history replaces whatever an earlier
 * run pushed.
 */
async function commitTree(
  entry: { repo: GitRepo; files: Set<string> },
  source: string | Record<string, GitFileContent>,
  message: string,
  branch: string,
): Promise<string> {
  const files = typeof source === "string" ? await readTree(source) : source;
  const remove = [...entry.files].filter((f) => !(f in files));
  const sha = await entry.repo.commit(files, message, { remove });
  await entry.repo.push({ force: true, branch });
  entry.files = new Set(Object.keys(files));
  return sha;
}
