import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import pLimit from "p-limit";
import type { Logger } from "pino";
import type { BuildHistory } from "../../shared/build-history.js";
import { STATUS_POSTED_HEADER } from "../../shared/build-result.js";
import { packBuildContext } from "../../shared/build-tar.js";
import { deployResultSchema, type DeployResult, type DeploySpec } from "../../shared/deploy-spec.js";
import type { FunctionEvent, Reply } from "../../shared/function-handler.js";
import type { Gateway } from "../../shared/gateway.js";
import { commitOf, STACK_CONTEXT, type CheckConclusion, type Github, type StatusState } from "../../shared/github.js";
import { QUEUED_HOP_MAX_AGE_MS, requireHop } from "../../shared/hmac.js";
import { HttpError, isHttpError } from "../../shared/http-error.js";
import { secretName } from "../../shared/naming.js";
import type { PendingBuilds } from "../../shared/pending-builds.js";
import { parseBuildRequest, type BuildRequest } from "../../shared/push.js";
import { readStack, type Stack, type StackFunction } from "../../shared/stack.js";
import { statusLinks, type StatusLinks } from "../../shared/status-links.js";
import { stageTimer, type StageTimer } from "../../shared/stage-timing.js";
import { abandonedBecause, atMost, untilAborted } from "./abort.js";
import { cloneAt, gitlabRepositoryUrl, repositoryUrl } from "./clone.js";
import type { CloneLimit } from "./clone-limit.js";
import { startHeartbeat } from "./heartbeat.js";
import {
  builtImage,
  createPreviewDeployment,
  deployedName,
  previewOf,
  type PreviewDeployment,
} from "./preview-deployment.js";
import { PREVIEW_FILE, readPreviewOptIn } from "./preview-settings.js";
import { createStackChecks, type StackChecks } from "./stack-checks.js";
import { importRepoSecrets, pruneRepoSecrets } from "./secrets.js";
import { buildArgsFor, readTemplate, shrinkwrap } from "./shrinkwrap.js";
import { STACK_ROOT_PATHS, stackPaths } from "./stack-paths.js";
import { stackTemplates } from "./stack-templates.js";
import type { TemplateStore } from "./templates.js";

export interface GitTarDeps {
  payloadSecret: string;
  github: Github;
  gateway: Gateway;
  templates: TemplateStore;
  templateUrls: string[];
  /** template_sources_allowed: where a stack's configuration.templates may come from; default templateUrls. */
  templateSourcesAllowed?: string[];
  /** The git host (github_url): git-tar clones `<githubUrl>/<owner>/<repo>.git`, never a URL a payload names. */
  githubUrl: string;
  /**
   * The GitLab instance (gitlab_url, issue #19): GitLab builds clone `<gitlabUrl>/<fullName>.git`, nowhere else;
   * without it a GitLab build ends with an error status (GitLab is not configured).
   */
  gitlabUrl?: string;
  pushRepositoryUrl: string;
  functionsPerRepoLimit: number;
  buildConcurrency: number;
  enableDockerfileLang: boolean;
  /** Cap on what a clone may fetch and check out. */
  maxRepoBytes: number;
  /** Runs a clone within this replica's clone slots (max_concurrent_clones, issue #16); the rest wait. */
  cloneLimit?: CloneLimit;
  /** Where per-build workspaces are made (each removed afterwards). */
  workRoot: string;
  /** The pending-build records: a heartbeat while a build runs, removed once it has its terminal status (issue #11). */
  pending: PendingBuilds;
  /** How often the heartbeat is refreshed (a fraction of heartbeat_timeout). */
  heartbeatMs: number;
  /** system_public_url: statuses link the dashboard when set (issue #14, shared/status-links.ts). */
  systemPublicUrl?: string;
  /**
   * The dashboard's build records: each function's `running` one as it is marked pending (buildshiprun replaces it),
   * and the failure of a function buildshiprun could not report.
   */
  history?: BuildHistory;
  /** use_checks: a check run for `stack-deploy` and each function beside the statuses (issue #17); off when absent. */
  useChecks?: boolean;
  log: Logger;
  now: () => number;
}

/**
 * Posts a commit status; a failure to tell GitHub is logged, never thrown. Without a link of its own a status links
 * the owner's dashboard (when system_public_url is set).
 */
type Report = (context: string, state: StatusState, description: string, targetUrl?: string) => Promise<void>;

/**
 * One push's run: `signal` aborts when nobody waits any more; `unconcluded` holds function contexts left pending;
 * `beat` refreshes the build's heartbeat at once.
 */
interface Run {
  signal: AbortSignal | undefined;
  unconcluded: Set<string>;
  beat: () => Promise<void>;
  links: StatusLinks;
  /** This push's stage timings (issue #16). */
  timer: StageTimer;
  /** A preview build's GitHub deployment (issue #17); inert otherwise. */
  preview: PreviewDeployment;
  /** The push's check runs (issue #17). */
  checks: StackChecks;
  /** buildshiprun's answers so far, for the `stack-deploy` check run's table. */
  results: DeployResult[];
}

/** A state that ends a context: neither pending nor running (issue #19: GitLab's running comes between). */
function isTerminal(state: StatusState): state is "success" | "failure" | "error" | "canceled" {
  return state !== "pending" && state !== "running";
}

// After the signal fired, the last statuses get this long: the push must not hold git-tar much past its deadline.
const FINAL_STATUS_MS = 5000;

// Build args a repository may set (original-spec §16.10 kept GO111MODULE; ADDITIONAL_PACKAGE carries build_options).
const ALLOWED_BUILD_ARGS = ["GO111MODULE", "ADDITIONAL_PACKAGE"];

interface Prepared {
  fn: StackFunction;
  spec: DeploySpec;
  tarFile: string;
  /** Writes the build tar with the spec as it is then (its check run id is added after prepare). */
  pack: () => Promise<unknown>;
}

/** git-tar (original-spec §4): from a queued push to deployed functions, always ending in a terminal status. */
export function createStackBuilder(deps: GitTarDeps): (event: FunctionEvent) => Promise<Reply> {
  return async (event) => {
    requireHop(deps.payloadSecret, "git-tar", event, { maxAgeMs: QUEUED_HOP_MAX_AGE_MS });
    const request = parseBuildRequest(event.body);
    const log = deps.log.child({ repo: request.fullName, sha: request.sha, delivery: request.deliveryId });
    const timer = stageTimer(log, deps.now);
    const whole = timer.start("git-tar");
    // Whether the commit got its terminal stack-deploy status: the queue's callback to github-push covers it if not.
    let concluded = false;
    // The terminal stack-deploy status, which the stack-deploy check run concludes with too.
    let stackEnd: { state: StatusState; description: string } | undefined;
    const links = statusLinks({ systemPublicUrl: deps.systemPublicUrl });
    const commit = commitOf(request);
    const postStatus: Report = (context, state, description, targetUrl = links.stack(request.owner)) => {
      if (context === STACK_CONTEXT && isTerminal(state)) stackEnd = { state, description };
      return timer
        .time(
          "status-post",
          () =>
            deps.github.setStatus({
              ...commit,
              state,
              context,
              description,
              ...(targetUrl ? { targetUrl } : {}),
            }),
          { context, state },
        )
        .then(
          () => void (concluded ||= context === STACK_CONTEXT && isTerminal(state)),
          (error: unknown) => log.warn({ err: error, context, state }, "could not post the commit status"),
        );
    };
    // A preview's deployment ends with the stack's terminal status (issue #17), just before it: the commit status
    // stays the last word, so whoever sees it also finds the deployment's URL.
    const preview = createPreviewDeployment({ github: deps.github, log }, request, links.stack(request.owner));
    const report: Report = async (context, state, description, targetUrl) => {
      if (context === STACK_CONTEXT && isTerminal(state)) await preview.onStackStatus(state, description);
      await postStatus(context, state, description, targetUrl);
    };
    const checks = createStackChecks(
      { github: deps.github, enabled: deps.useChecks ?? false, log, now: deps.now },
      request,
      links.stack(request.owner),
    );
    const reply = (status: number, body: string): Reply => ({
      status,
      body,
      ...(concluded ? { headers: { [STATUS_POSTED_HEADER]: "true" } } : {}),
    });

    const started = deps.now();
    const workspace = await mkdtemp(join(deps.workRoot, "git-tar-"));
    const unconcluded = new Set<string>();
    const { owner, ownerId, repo, sha, installationId } = request;
    const heartbeat = startHeartbeat(
      { pending: deps.pending, everyMs: deps.heartbeatMs, log, now: deps.now },
      { ...(request.scm ? { scm: request.scm } : {}), owner, ownerId, repo, sha, installationId },
      () => [...unconcluded],
    );
    const run: Run = {
      signal: event.signal,
      unconcluded,
      beat: () => heartbeat.beat(),
      links,
      timer,
      checks,
      results: [],
      preview,
    };
    await checks.start();
    // stack-deploy is running from here (issue #19, contract §8): GitLab shows it between the push's pending and the
    // end; the GitHub client posts nothing for it (the check run above is in_progress).
    await report(STACK_CONTEXT, "running", "building the stack");
    try {
      const outcome = await buildStack(deps, request, workspace, report, log, run);
      return reply(200, `${outcome}, time taken: ${((deps.now() - started) / 1000).toFixed(2)}s`);
    } catch (error) {
      // exec_timeout passed or the caller left (issue #10): the work stopped; the commit still gets a terminal status.
      if (run.signal?.aborted) {
        const description = abandonedBecause(run.signal.reason, deps.now() - started);
        log.warn({ err: error }, description);
        const contexts = [STACK_CONTEXT, ...run.unconcluded];
        await atMost(Promise.all(contexts.map((c) => report(c, "error", description))).then(), FINAL_STATUS_MS);
        return reply(504, description);
      }
      // Every accepted push ends in a terminal status: refusals are the user's to fix (failure), faults ours (error).
      if (isHttpError(error) && error.status < 500) {
        await report(STACK_CONTEXT, "failure", error.message);
        return reply(422, error.message);
      }
      log.error({ err: error }, "build failed on a fault");
      const reason = isHttpError(error) ? error.message : "internal error, see the git-tar log";
      await report(STACK_CONTEXT, "error", `build error: ${reason}`);
      return reply(isHttpError(error) ? error.status : 500, `build error: ${reason}`);
    } finally {
      // No check run of the push is left open, whatever the end; after an abort within the final statuses' bound.
      const end = checkEnd(stackEnd, run.signal?.aborted === true);
      const finished = checks.finish(end.conclusion, end.description, run.results);
      await (run.signal?.aborted ? atMost(finished, FINAL_STATUS_MS) : finished);
      await heartbeat.stop();
      // Concluded: nothing is left for build-reaper. Not concluded (GitHub refused the status): the record stays, and
      // the reaper ends the build once the heartbeat is stale, unless the queue's callback to github-push does first.
      if (concluded) {
        await deps.pending
          .remove({ owner, repo, sha })
          .catch((error: unknown) => log.warn({ err: error }, "could not remove the pending-build record"));
      }
      await rm(workspace, { recursive: true, force: true });
      whole({ concluded });
    }
  };
}

async function buildStack(
  deps: GitTarDeps,
  request: BuildRequest,
  workspace: string,
  report: Report,
  log: Logger,
  run: Run,
): Promise<string> {
  const { signal } = run;
  const repoDir = join(workspace, "repo");
  const url = cloneUrl(deps, request);
  // Private repositories only: GitHub's installation token, or a GitLab deploy token that reads only this project.
  const asked = request.private ? deps.github.cloneCredentials(request) : undefined;
  const credentials = asked
    ? await untilAborted(asked, signal).catch((error: unknown) => {
        // Abandoned while GitLab made a deploy token: it is revoked once it exists rather than left for its hour.
        void asked.then((c) => c.revoke?.()).catch(() => undefined);
        throw error;
      })
    : undefined;
  const vars = {
    OWNER: request.owner.toLowerCase(),
    REPO: request.repo.toLowerCase(),
    SHA: request.sha,
    BRANCH: request.branch,
  };
  // The wait for a clone slot counts in the clone's time: under a burst it is where the time goes.
  const clones = deps.cloneLimit ?? ((clone) => clone());
  const { tip } = await run.timer
    .time("git-tar.clone", () =>
      clones(() =>
        cloneAt({
          url,
          sha: request.sha,
          branch: request.branch,
          dir: repoDir,
          ...(credentials ? { username: credentials.username, token: credentials.password } : {}),
          maxBytes: deps.maxRepoBytes,
          log,
          signal,
          // Only what the stack uses is checked out: a big folder no function needs is never written (issue #16).
          sparse: { first: STACK_ROOT_PATHS, select: () => stackPaths(repoDir, vars) },
        }),
      ),
    )
    .finally(async () => {
      // A deploy token outlives nothing it is needed for: revoked after the clone, whatever its end (issue #19).
      await credentials
        ?.revoke?.()
        .catch((error: unknown) => log.warn({ err: error }, "could not revoke the clone token"));
    });
  if (tip !== request.sha) {
    // A newer push to the branch is on its way through the pipeline and builds instead (DESIGN §10).
    // canceled: GitLab's word for it; GitHub's client posts it as error.
    await report(STACK_CONTEXT, "canceled", `superseded by a newer push: ${tip.slice(0, 7)}`);
    return `superseded by ${tip}`;
  }
  if (request.preview && !(await readPreviewOptIn(repoDir))) {
    // enable_previews is on, this repository has not opted in: the branch is skipped as before previews (issue #17).
    const skipped = `skipping build for: ${request.ref} branch: previews are off for this repository (${PREVIEW_FILE})`;
    await report(STACK_CONTEXT, "success", skipped);
    return skipped;
  }
  if (await exists(join(repoDir, "template"))) throw new HttpError(400, 'unsupported custom "templates" folder');

  const stackRead = run.timer.start("git-tar.stack");
  const stack = await readStack(repoDir, vars, { maxFunctions: deps.functionsPerRepoLimit });
  checkStack(deps, stack);
  checkNames(request, stack);
  // configuration.templates as faas-cli pulls them (issue #17), refused before any work when off the allow-list.
  const fromStack = stackTemplates(stack, deps.templateSourcesAllowed ?? deps.templateUrls);
  // The repo's sealed secrets exist before any function that mounts them is deployed (issue #15).
  // A preview uses the owner's secrets as the build branch left them: its secrets.yml is neither imported nor pruned.
  const secrets = request.preview ? undefined : await importRepoSecrets(deps.gateway, request, repoDir, signal);
  const pulled = deps.templates.pull(deps.templateUrls, fromStack).catch((error: unknown) => {
    // A stack's template source without the template it names is the user's to fix: a failure, not an error.
    if (isHttpError(error)) throw error;
    throw new HttpError(502, `error fetching templates: ${(error as Error).message}`, { cause: error });
  });
  // The pull is shared with other pushes: this one stops waiting for it, the pull itself goes on.
  const templatesDir = await untilAborted(pulled, signal);
  stackRead({ functions: stack.functions.length });

  // Everything that can be refused is checked for every function before the first build starts.
  const prepared: Prepared[] = [];
  for (const fn of stack.functions)
    prepared.push(await prepare(deps, request, workspace, repoDir, templatesDir, stack, fn, run));
  // Each function's check run, queued, its id packed into the signed spec for buildshiprun (issue #17).
  for (const p of prepared) {
    const checkRunId = await run.checks.queue(p.fn.name);
    if (checkRunId !== undefined) p.spec.checkRunId = checkRunId;
    await p.pack();
  }

  // The preview's deployment exists (in_progress) once everything that can be refused was (issue #17).
  await run.preview.start();
  const pendingMarked = run.timer.start("git-tar.pending");
  for (const { fn } of prepared) run.unconcluded.add(fn.name);
  // The record names the function contexts now, so a reaper that finds git-tar gone ends them too. Written beside the
  // statuses below, not after them: one S3 round trip less on the way to live (issue #16).
  const beaten = run.beat();
  for (const { fn, spec } of prepared) {
    // The build's page, with its log live once buildshiprun starts it (issue #14). Its record exists from now on, so
    // the page the pending status links shows the build while it still waits for a build slot.
    const key = { owner: spec.owner, repo: spec.repo, sha: spec.sha, function: spec.function };
    await deps.history
      ?.put({ ...key, branch: spec.branch, state: "running", startedAt: new Date(deps.now()).toISOString() })
      .catch((error: unknown) => log.warn({ err: error }, "could not store the build record"));
    await report(fn.name, "pending", `${fn.name} function build started, image: ${spec.image}`, run.links.pending(key));
  }
  await beaten;
  pendingMarked();
  const limit = pLimit(deps.buildConcurrency);
  const build = async (p: Prepared) => {
    const result = await buildAndDeploy(deps, p, report, log, run);
    // buildshiprun reported this function's status (or buildAndDeploy did for it).
    run.unconcluded.delete(p.fn.name);
    run.results.push(result);
    return result;
  };
  const results = await Promise.all(prepared.map((p) => limit(() => build(p))));

  const failed = results.filter((r) => r.status !== "success").map((r) => r.function);
  if (failed.length > 0)
    throw new HttpError(422, `deploy failed: ${failed.join(",")} failed to be deployed via buildshiprun`);

  const finished = run.timer.start("git-tar.finish");
  // Keyed on the owner's id (DESIGN §5): a new account that took an old login never collects the old one's functions.
  const garbage = {
    functions: prepared.map((p) => p.spec.service),
    repo: request.repo.toLowerCase(),
    owner: request.owner.toLowerCase(),
    ownerId: request.ownerId,
    // A preview's collection touches only its branch's previews; a main one's never a preview (issue #17).
    ...(request.preview ? { preview: previewOf(request) } : {}),
  };
  try {
    const gc = await deps.gateway.invoke("garbage-collect", JSON.stringify(garbage), {
      "content-type": "application/json",
    });
    if (gc.status >= 300) log.warn({ status: gc.status, body: gc.body.toString() }, "garbage collection refused");
  } catch (error) {
    log.warn({ err: error }, "garbage collection failed");
  }
  if (secrets) await pruneRepoSecrets(deps.gateway, request, secrets, log);
  run.preview.deployed(results);
  await report(STACK_CONTEXT, "success", "stack is successfully deployed");
  finished();
  return `Deployed: ${results.map((r) => `${r.function} @ ${r.image ?? "?"}`).join(", ")}`;
}

/**
 * Where this build clones from: the configured host only, never a URL a payload names, since the credentials go
 * there (issue #10). GitHub: `<github_url>/<owner>/<repo>.git`; GitLab: `<gitlab_url>/<path_with_namespace>.git`.
 */
function cloneUrl(deps: GitTarDeps, request: BuildRequest): string {
  if (request.scm !== "gitlab") return repositoryUrl(deps.githubUrl, request.owner, request.repo);
  if (!deps.gitlabUrl) throw new HttpError(503, "GitLab is not configured (gitlab_url)");
  return gitlabRepositoryUrl(deps.gitlabUrl, request.fullName);
}

async function prepare(
  deps: GitTarDeps,
  request: BuildRequest,
  workspace: string,
  repoDir: string,
  templatesDir: string,
  stack: Stack,
  fn: StackFunction,
  { signal, timer }: Run,
): Promise<Prepared> {
  const service = deployedName(request, fn.name);
  const image = builtImage(request, deps.pushRepositoryUrl, fn.name);
  const template = await readTemplate(templatesDir, fn.lang, fn.name);
  const contextDir = join(workspace, "build", fn.name);
  await timer.time(
    "git-tar.shrinkwrap",
    () => shrinkwrap({ repoDir, templatesDir, fn, copy: stack.configuration.copy, outDir: contextDir, signal }),
    { function: fn.name },
  );
  const spec: DeploySpec = {
    ...(request.scm ? { scm: request.scm } : {}),
    owner: request.owner,
    ownerId: request.ownerId,
    repo: request.repo,
    repoUrl: request.repoUrl,
    sha: request.sha,
    branch: request.branch,
    private: request.private,
    installationId: request.installationId,
    function: fn.name,
    service,
    image,
    environment: fn.environment,
    secrets: fn.secrets.map((s) => secretName(request.owner, s)),
    labels: fn.labels,
    annotations: fn.annotations,
    ...(fn.limits ? { limits: fn.limits } : {}),
    ...(fn.requests ? { requests: fn.requests } : {}),
    ...(fn.readonlyRootFilesystem !== undefined ? { readonlyRootFilesystem: fn.readonlyRootFilesystem } : {}),
    constraints: fn.constraints,
    ...(request.preview ? { preview: previewOf(request) } : {}),
    handler: fn.handler,
  };
  const tarFile = join(workspace, `${fn.name}.tar`);
  const buildArgs = buildArgsFor(fn, template, ALLOWED_BUILD_ARGS);
  const pack = () =>
    timer.time("git-tar.tar", () => packBuildContext(contextDir, { ref: image, buildArgs, deploy: spec }, tarFile), {
      function: fn.name,
    });
  return { fn, spec, tarFile, pack };
}

// functions_per_repo_limit is enforced by readStack, before any environment_file is read.
function checkStack(deps: GitTarDeps, stack: Stack): void {
  if (!deps.enableDockerfileLang && stack.functions.some((fn) => fn.lang.toLowerCase() === "dockerfile")) {
    throw new HttpError(400, "detected a dockerfile function but feature is not enabled");
  }
  const skipped = stack.functions.filter((fn) => fn.skipBuild).map((fn) => fn.name);
  if (skipped.length > 0)
    throw new HttpError(400, `skip_build is not supported: functions are built from source (${skipped.join(", ")})`);
}

/**
 * Every function's deployed name, checked before any work (issue #10): a name with "--" or one too long is refused by
 * naming, and two functions whose names differ only in case would deploy over each other.
 */
function checkNames(request: BuildRequest, stack: Stack): void {
  const seen = new Map<string, string>();
  for (const fn of stack.functions) {
    const service = deployedName(request, fn.name);
    const other = seen.get(service);
    if (other !== undefined) {
      throw new HttpError(
        400,
        `functions ${JSON.stringify(other)} and ${JSON.stringify(fn.name)} both deploy as ${service}`,
      );
    }
    seen.set(service, fn.name);
    for (const secret of fn.secrets) secretName(request.owner, secret);
  }
}

/** Hands one function to buildshiprun, which reports the function's own status; covers for it when it cannot. */
async function buildAndDeploy(
  deps: GitTarDeps,
  { fn, spec, tarFile }: Prepared,
  report: Report,
  log: Logger,
  { signal, links, timer, checks }: Run,
): Promise<DeployResult> {
  const startedAt = new Date(deps.now()).toISOString();
  const key = { owner: spec.owner, repo: spec.repo, sha: spec.sha, function: spec.function };
  /** buildshiprun did not report this function: the status and the build record say so instead. */
  const fail = async (reason: string) => {
    const finishedAt = new Date(deps.now()).toISOString();
    await deps.history
      ?.put({
        ...key,
        branch: spec.branch,
        state: "failure",
        startedAt,
        finishedAt,
        durationMs: Date.parse(finishedAt) - Date.parse(startedAt),
        reason: reason.slice(0, 1000),
      })
      .catch((error: unknown) => log.warn({ err: error }, "could not store the build record"));
    await report(fn.name, "failure", reason, links.failure(key));
    await checks.fail(fn.name, reason, links.failure(key));
  };
  try {
    // A build still queued behind build_concurrency does not start for an abandoned push.
    signal?.throwIfAborted();
    const tar = await readFile(tarFile);
    const res = await timer.time(
      "git-tar.buildshiprun",
      () => deps.gateway.invoke("buildshiprun", tar, { "content-type": "application/x-tar" }, { signal }),
      { function: fn.name },
    );
    const parsed = deployResultSchema.safeParse(safeJson(res.body));
    if (res.status === 200 && parsed.success) {
      const result = parsed.data;
      checks.handedOver(fn.name);
      // GitHub refused buildshiprun's status after every retry (a 5xx or rate-limit spell): posted again after a
      // pause, a few times, so the context does not stay pending on the commit for good (issue #16).
      if (result.statusPosted === false) await postLate(deps, spec, result, result.url ?? links.failure(key), log);
      return result;
    }
    const reason = `buildshiprun answered ${res.status}: ${res.body.toString("utf8").slice(0, 100)}`;
    await fail(reason);
    return { function: fn.name, status: "failure", description: reason };
  } catch (error) {
    if (signal?.aborted) throw error;
    log.warn({ err: error, function: fn.name }, "buildshiprun unreachable");
    const reason = isHttpError(error) ? error.message : "buildshiprun unreachable";
    await fail(reason);
    return { function: fn.name, status: "failure", description: reason, image: spec.image };
  }
}

/** How the push's check runs conclude: as its terminal stack-deploy status, timed out when it was abandoned. */
function checkEnd(
  end: { state: StatusState; description: string } | undefined,
  aborted: boolean,
): { conclusion: CheckConclusion; description: string } {
  if (aborted) return { conclusion: "timed_out", description: end?.description ?? "abandoned" };
  if (!end) return { conclusion: "failure", description: "build error: see the git-tar log" };
  if (end.state === "success") return { conclusion: "success", description: end.description };
  // A newer push builds instead (DESIGN §10): this one was cancelled, not failed.
  if (end.description.startsWith("superseded")) return { conclusion: "cancelled", description: end.description };
  return { conclusion: "failure", description: end.description };
}

/** The pauses before each late post of a function's status buildshiprun could not post: about a minute in all. */
const LATE_POST_AFTER_MS = [2_000, 15_000, 45_000];

/** Posts a function's terminal status again after each pause until GitHub takes it; logs what it could not post. */
async function postLate(
  deps: GitTarDeps,
  spec: DeploySpec,
  result: DeployResult,
  targetUrl: string | undefined,
  log: Logger,
): Promise<void> {
  for (const pause of LATE_POST_AFTER_MS) {
    await sleep(pause);
    try {
      await deps.github.setStatus({
        ...commitOf(spec),
        state: result.status,
        context: spec.function,
        description: result.description,
        ...(targetUrl ? { targetUrl } : {}),
      });
      return;
    } catch (error) {
      log.warn({ err: error, context: spec.function }, "could not post the commit status buildshiprun could not post");
    }
  }
}

function safeJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString("utf8"));
  } catch {
    return undefined;
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
