import type { Logger } from "pino";
import type { BuildHistory, BuildRecord } from "../../shared/build-history.js";
import { readBuildConfig } from "../../shared/build-tar.js";
import { deploySpecSchema, type DeployResult, type DeploySpec } from "../../shared/deploy-spec.js";
import type { FunctionEvent, Reply } from "../../shared/function-handler.js";
import type { Gateway } from "../../shared/gateway.js";
import { checkRun } from "../../shared/check-runs.js";
import { commitOf, fitDescription, formatLogTail, type Github, type StatusState } from "../../shared/github.js";
import { requireHop } from "../../shared/hmac.js";
import { HttpError, isHttpError } from "../../shared/http-error.js";
import { buildLogUrl } from "../../shared/log-link.js";
import { statusLinks } from "../../shared/status-links.js";
import type { LogKey, LogStore } from "../../shared/log-store.js";
import type { BuilderClient } from "./builder-client.js";
import { explainRefusal, notPublic } from "./ce-refusals.js";
import { functionUrl, toDeployment, type DeployPolicy } from "./deployment.js";
import { editionRefusal, type Edition } from "./edition.js";
import type { Visibility } from "./image-visibility.js";
import { annotationsFromLog } from "./annotations.js";
import { createLiveLog } from "./live-log.js";
import { claimName } from "./ownership.js";
import { previewCapRefusal } from "./preview-cap.js";
import { stageTimer, type StageTimer } from "../../shared/stage-timing.js";

export interface BuildshiprunDeps {
  payloadSecret: string;
  builder: BuilderClient;
  logs: LogStore;
  /** Each build's record for the dashboard (issue #14): `running` when it starts, terminal when it ends. */
  history: BuildHistory;
  /** At most one write of the log so far per this many ms while a build runs (default 1000). */
  liveLogIntervalMs?: number;
  gateway: Gateway;
  github: Github;
  /** Report the function's check run too: in progress, its log tail, its outcome (the App needs the checks permission). */
  useChecks: boolean;
  /**
   * At most one check-run update of the log so far per this many ms while a build runs (default 10 s): each is a
   * GitHub request, and a long build must not spend the App's rate limit (issue #17).
   */
  checkLogIntervalMs?: number;
  policy: DeployPolicy;
  /** What the OpenFaaS deployed to accepts (edition.ts), asked at each deploy; never throws. */
  edition: () => Promise<Edition>;
  /** Whether an image can be pulled anonymously (image-visibility.ts), checked where the edition demands it. */
  imageVisibility: (image: string) => Promise<Visibility>;
  publicUrl: string;
  prettyUrl?: string;
  /** system_public_url: a failure links the build's dashboard page instead of pipeline-log (issue #14). */
  systemPublicUrl?: string;
  /** How long to wait for a deployed function to answer before reporting it (it is reported either way). */
  readyTimeoutMs: number;
  /** max_previews_per_owner (issue #17): live preview branches one owner may have; a new one past it is refused. */
  maxPreviewsPerOwner?: number;
  sleep: (ms: number) => Promise<void>;
  log: Logger;
  now: () => Date;
}

/** buildshiprun (original-spec §5): build one function's tar, keep its log, deploy it, report its status. */
export function createShipper(deps: BuildshiprunDeps): (event: FunctionEvent) => Promise<Reply> {
  return async (event) => {
    requireHop(deps.payloadSecret, "buildshiprun", event);
    const config = await readBuildConfig(event.body);
    const parsed = deploySpecSchema.safeParse(config.deploy);
    if (!parsed.success) throw new HttpError(400, "build tar: com.openfaas.docker.config has no valid deploy spec");
    const spec = parsed.data;
    if (config.ref !== spec.image)
      throw new HttpError(400, "build tar: the image to build and the image to deploy differ");
    const log = deps.log.child({ repo: `${spec.owner}/${spec.repo}`, sha: spec.sha, function: spec.function });
    const startedAt = deps.now();
    const timer = stageTimer(log, () => deps.now().getTime());
    const whole = timer.start("buildshiprun", startedAt.getTime());
    const result = await ship(deps, spec, event.body, log, startedAt, timer).catch(async (error: unknown) => {
      // A fault no status was posted for (git-tar reports it): the build page must not show it running forever.
      await record(deps, log, { ...buildRecord(spec, startedAt), ...ended(deps, startedAt, "error") });
      throw error;
    });
    whole({ state: result.status });
    return { status: 200, body: result };
  };
}

/** The record of this build as it starts. */
function buildRecord(spec: DeploySpec, startedAt: Date): BuildRecord {
  const { owner, repo, branch, sha, function: fn } = spec;
  return { owner, repo, branch, sha, function: fn, state: "running", startedAt: startedAt.toISOString() };
}

/** The fields a build's end adds. */
function ended(deps: BuildshiprunDeps, startedAt: Date, state: BuildRecord["state"]) {
  const finishedAt = deps.now();
  const durationMs = Math.max(0, finishedAt.getTime() - startedAt.getTime());
  return { state, finishedAt: finishedAt.toISOString(), durationMs };
}

/** Stores a build record; the history is best effort beside the build, whose status says what happened. */
function record(deps: BuildshiprunDeps, log: Logger, build: BuildRecord): Promise<void> {
  return deps.history
    .put(build)
    .catch((error: unknown) => log.warn({ err: error }, "could not store the build record"));
}

async function ship(
  deps: BuildshiprunDeps,
  spec: DeploySpec,
  tar: Buffer,
  log: Logger,
  startedAt: Date,
  timer: StageTimer,
): Promise<DeployResult> {
  const key: LogKey = { owner: spec.owner, repo: spec.repo, sha: spec.sha, function: spec.function };
  // A failure's link: the build's page when the dashboard is there, else the signed log (shared/status-links.ts).
  const logUrl =
    statusLinks({ systemPublicUrl: deps.systemPublicUrl }).failure(key) ??
    buildLogUrl(deps.publicUrl, deps.payloadSecret, key);
  let buildLog: string[] = [];
  let builtImage = spec.image;
  // The `running` record, written beside the build; every end awaits it first, so the terminal record lands last.
  let recorded = Promise.resolve();
  // Where the statuses go (issue #19): the push's SCM; absent (github) on specs packed before GitLab.
  const commit = commitOf(spec);
  // The run git-tar created queued; found by name, or created, when git-tar could not hand its id over (issue #17).
  const check = checkRun({ github: deps.github, enabled: deps.useChecks, log }, commit, spec.function, spec.checkRunId);

  const finish = async (
    state: StatusState & ("success" | "failure"),
    description: string,
    targetUrl: string,
    extra: string[] = [],
  ): Promise<DeployResult> => {
    const reported = timer.start("buildshiprun.report");
    await recorded;
    const lines = [...buildLog, ...extra];
    // The log is stored even when the build failed: that is when it is read.
    await deps.logs
      .put(key, lines.join("\n"))
      .catch((error: unknown) => log.warn({ err: error }, "could not store the build log"));
    await record(deps, log, {
      ...buildRecord(spec, startedAt),
      ...ended(deps, startedAt, state),
      image: builtImage,
      ...(state === "success" ? { url: targetUrl } : { reason: description }),
    });
    const posted = await timer
      .time(
        "status-post",
        () => deps.github.setStatus({ ...commit, state, context: spec.function, description, targetUrl }),
        {
          context: spec.function,
          state,
        },
      )
      .then(
        () => true,
        (error: unknown) => (log.warn({ err: error }, "could not post the commit status"), false),
      );
    const seconds = ((deps.now().getTime() - startedAt.getTime()) / 1000).toFixed(1);
    await check.update({
      conclusion: state,
      completedAt: deps.now(),
      detailsUrl: logUrl,
      output: {
        title: fitDescription(description),
        summary: [
          `**${spec.function}**: ${description}`,
          "",
          `- Image: \`${builtImage}\``,
          `- Duration: ${seconds} s`,
          `- ${state === "success" ? "URL" : "Log"}: ${targetUrl}`,
        ].join("\n"),
        text: formatLogTail(lines),
        // Where the log names a file and line of the handler: a compile error, a failed test (issue #17).
        annotations: spec.handler === undefined ? [] : annotationsFromLog(lines, spec.handler),
      },
    });
    reported();
    log.info({ state, description }, "function finished");
    return {
      function: spec.function,
      status: state,
      description,
      ...(state === "success" ? { url: targetUrl } : {}),
      image: builtImage,
      ...(posted ? {} : { statusPosted: false }),
    };
  };
  const refuse = (reason: string) => {
    log.warn({ service: spec.service, reason }, "deploy refused: the name is held by another owner or repository");
    return finish("failure", reason, logUrl, [`buildshiprun: ${reason}`]);
  };

  // A name someone else holds, or a function the edition would refuse (issue #11), costs no build (issue #10).
  // A gateway fault here is left to the check after the build.
  const preflight = timer.start("buildshiprun.preflight");
  const edition = await deps.edition();
  const refused = editionRefusal(edition, deps.policy, spec);
  if (refused) return finish("failure", `deploy failed: ${refused}`, logUrl, [`buildshiprun: ${refused}`]);
  const early = await claimName(deps.gateway, spec).catch(() => undefined);
  if (early?.action === "refuse") return refuse(early.reason);
  // A new preview branch past max_previews_per_owner costs no build either (issue #17); a branch already live keeps
  // updating. A gateway fault here lets the build go on: the deploy after it meets the same gateway.
  if (spec.preview && early?.action === "create") {
    const capped = await previewCapRefusal(deps.gateway, spec, deps.maxPreviewsPerOwner ?? 5).catch(() => undefined);
    if (capped) return finish("failure", capped, logUrl, [`buildshiprun: ${capped}`]);
  }
  const started = deps.now().getTime();
  // An S3 round trip that need not delay the build (issue #16).
  recorded = record(deps, log, buildRecord(spec, startedAt));
  preflight();
  // The log so far, under the final log's key, while the build runs (the build page polls it).
  const live = createLiveLog({
    write: (text) => deps.logs.put(key, text),
    intervalMs: deps.liveLogIntervalMs ?? 1000,
    now: () => deps.now().getTime(),
    sleep: deps.sleep,
  });
  const building = { title: `Building ${spec.function}`, summary: `Building \`${spec.image}\`` };
  await check.update({ status: "in_progress", startedAt: deps.now(), detailsUrl: logUrl, output: building });
  // The function's status is running from here (issue #19, contract §8): GitLab shows it between git-tar's pending
  // and the end; the GitHub client posts nothing for it (the check run above is in_progress). Best effort.
  await timer
    .time(
      "status-post",
      () =>
        deps.github.setStatus({
          ...commit,
          state: "running",
          context: spec.function,
          description: `${spec.function} function build running, image: ${spec.image}`,
          targetUrl: logUrl,
        }),
      { context: spec.function, state: "running" },
    )
    .catch((error: unknown) => log.warn({ err: error }, "could not post the running status"));
  // The check run's log tail while it builds, at a bounded rate (GitHub's rate limit, not S3's, bounds this one).
  const liveCheck = createLiveLog({
    write: (text) => check.update({ output: { ...building, text: formatLogTail(text.split("\n")) } }),
    intervalMs: deps.checkLogIntervalMs ?? 10_000,
    now: () => deps.now().getTime(),
    sleep: deps.sleep,
  });
  const closeLive = () => Promise.all([live.close(), liveCheck.close()]);
  const outcome = await timer
    .time("buildshiprun.build", () =>
      deps.builder
        .build(tar, (line) => {
          live.line(line);
          liveCheck.line(line);
        })
        .finally(closeLive),
    )
    .catch(async (error: unknown) => {
      // A fault: the caller writes the `error` record, which must land after the `running` one.
      await recorded;
      throw error;
    });
  builtImage = outcome.imageName || spec.image;
  buildLog = [
    ...outcome.log,
    `buildshiprun: build ${outcome.ok ? "succeeded" : "failed"} in ${((deps.now().getTime() - started) / 1000).toFixed(1)}s`,
  ];

  if (!outcome.ok) return finish("failure", `build failed: ${outcome.reason ?? "see the build log"}`, logUrl);
  let image = builtImage;
  try {
    const deployed = timer.start("buildshiprun.deploy");
    // Decided again after the build, from the function as it is now: POST only when free, PUT only when ours.
    const claim = await claimName(deps.gateway, spec);
    if (claim.action === "refuse") return await refuse(claim.reason);
    const deployment = toDeployment(spec, builtImage, deps.policy, edition, deps.now());
    image = deployment.image;
    if (edition.publicImagesOnly) {
      // faas-netes CE refuses a private image on create with a bare 400, and on update answers 200 without
      // updating (pkg/handlers/update.go): ask the registry first, as it would.
      const seen = await deps.imageVisibility(image);
      if (seen.outcome === "private") {
        return await finish("failure", notPublic(image), logUrl, [`buildshiprun: ${image}: ${seen.detail}`]);
      }
      if (seen.outcome === "unknown") {
        log.warn({ image, detail: seen.detail }, "cannot tell whether the image is public: the gateway decides");
        buildLog.push(`buildshiprun: cannot tell whether ${image} is public (${seen.detail}); deploying anyway`);
      }
    }
    if (claim.action === "create") await deps.gateway.create(deployment);
    else await deps.gateway.update(deployment);
    const how = claim.action === "create" ? "created" : "updated";
    deployed({ action: claim.action });
    // "success" should mean the link answers: wait for the gateway to report a ready replica (the original did not).
    const ready = await timer.time("buildshiprun.ready", () => waitUntilReady(deps, spec.service));
    const description = `deployed: ${spec.service}${ready ? "" : " (not answering yet)"}`;
    const url = functionUrl(spec, deps.publicUrl, deps.prettyUrl);
    return finish("success", description, url, [`buildshiprun: ${how} ${deployment.image}${ready ? ", ready" : ""}`]);
  } catch (error) {
    if (!isHttpError(error)) {
      await recorded;
      throw error;
    }
    const description = explainRefusal(error.message, image) ?? `deploy failed: ${error.message}`;
    return finish("failure", description, logUrl, [`buildshiprun: ${error.message}`]);
  }
}

async function waitUntilReady(deps: BuildshiprunDeps, service: string): Promise<boolean> {
  const deadline = deps.now().getTime() + deps.readyTimeoutMs;
  for (let wait = 100; ; wait = Math.min(wait * 2, 2000)) {
    const status = await deps.gateway.getFunction(service).catch(() => undefined);
    if ((status?.availableReplicas ?? 0) > 0) return true;
    if (deps.now().getTime() + wait > deadline) return false;
    await deps.sleep(wait);
  }
}
