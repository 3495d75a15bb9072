import type { Logger } from "pino";
import { readBuildConfig } from "../../shared/build-tar.js";
import { deploySpecSchema, type DeployResult, type DeploySpec } from "../../shared/deploy-spec.js";
import type { FunctionEvent, Reply } from "../../shared/function-handler.js";
import type { Gateway } from "../../shared/gateway.js";
import type { Github, StatusState } from "../../shared/github.js";
import { CLOUD_SIGNATURE_HEADER, verifyPayload } from "../../shared/hmac.js";
import { HttpError, isHttpError } from "../../shared/http-error.js";
import { buildLogUrl } from "../../shared/log-link.js";
import type { LogKey, LogStore } from "../../shared/log-store.js";
import type { BuilderClient } from "./builder-client.js";
import { functionUrl, toDeployment, type DeployPolicy } from "./deployment.js";

export interface BuildshiprunDeps {
  payloadSecret: string;
  builder: BuilderClient;
  logs: LogStore;
  gateway: Gateway;
  github: Github;
  /** Also post a check run with the log tail (the App needs the checks permission). */
  useChecks: boolean;
  policy: DeployPolicy;
  publicUrl: string;
  prettyUrl?: string;
  /** How long to wait for a deployed function to answer before reporting it (it is reported either way). */
  readyTimeoutMs: number;
  sleep: (ms: number) => Promise<void>;
  log: Logger;
  now: () => Date;
}

/** buildshiprun (original-spec §5): build one function's tar, keep its log, deploy it, report its status. */
export function createShipper(deps: BuildshiprunDeps): (event: FunctionEvent) => Promise<Reply> {
  return async (event) => {
    if (!verifyPayload(deps.payloadSecret, event.body, event.headers[CLOUD_SIGNATURE_HEADER])) {
      throw new HttpError(401, "invalid or missing X-Cloud-Signature-256");
    }
    const config = await readBuildConfig(event.body);
    const parsed = deploySpecSchema.safeParse(config.deploy);
    if (!parsed.success) throw new HttpError(400, "build tar: com.openfaas.docker.config has no valid deploy spec");
    const spec = parsed.data;
    if (config.ref !== spec.image)
      throw new HttpError(400, "build tar: the image to build and the image to deploy differ");
    const log = deps.log.child({ repo: `${spec.owner}/${spec.repo}`, sha: spec.sha, function: spec.function });
    const result = await ship(deps, spec, event.body, log);
    return { status: 200, body: result };
  };
}

async function ship(deps: BuildshiprunDeps, spec: DeploySpec, tar: Buffer, log: Logger): Promise<DeployResult> {
  const key: LogKey = { owner: spec.owner, repo: spec.repo, sha: spec.sha, function: spec.function };
  const logUrl = buildLogUrl(deps.publicUrl, deps.payloadSecret, key);
  const started = deps.now().getTime();
  const outcome = await deps.builder.build(tar);
  const buildLog = [
    ...outcome.log,
    `buildshiprun: build ${outcome.ok ? "succeeded" : "failed"} in ${((deps.now().getTime() - started) / 1000).toFixed(1)}s`,
  ];

  const finish = async (
    state: StatusState & ("success" | "failure"),
    description: string,
    targetUrl: string,
    extra: string[] = [],
  ): Promise<DeployResult> => {
    const lines = [...buildLog, ...extra];
    // The log is stored even when the build failed: that is when it is read.
    await deps.logs
      .put(key, lines.join("\n"))
      .catch((error: unknown) => log.warn({ err: error }, "could not store the build log"));
    const status = { installationId: spec.installationId, owner: spec.owner, repo: spec.repo, sha: spec.sha };
    await deps.github
      .setStatus({ ...status, state, context: spec.function, description, targetUrl })
      .catch((error: unknown) => log.warn({ err: error }, "could not post the commit status"));
    if (deps.useChecks) {
      await deps.github
        .createCheckRun({
          ...status,
          name: spec.function,
          conclusion: state,
          title: `Build ${spec.function}`,
          summary: `[${description}](${targetUrl})`,
          log: lines,
          detailsUrl: targetUrl,
        })
        .catch((error: unknown) => log.warn({ err: error }, "could not post the check run"));
    }
    log.info({ state, description }, "function finished");
    return {
      function: spec.function,
      status: state,
      description,
      ...(state === "success" ? { url: targetUrl } : {}),
      image: outcome.imageName || spec.image,
    };
  };

  if (!outcome.ok) return finish("failure", `build failed: ${outcome.reason ?? "see the build log"}`, logUrl);
  try {
    const deployment = toDeployment(spec, outcome.imageName || spec.image, deps.policy, deps.now());
    const how = await deps.gateway.deploy(deployment);
    // "success" should mean the link answers: wait for the gateway to report a ready replica (the original did not).
    const ready = await waitUntilReady(deps, spec.service);
    const description = `deployed: ${spec.service}${ready ? "" : " (not answering yet)"}`;
    const url = functionUrl(spec, deps.publicUrl, deps.prettyUrl);
    return finish("success", description, url, [`buildshiprun: ${how} ${deployment.image}${ready ? ", ready" : ""}`]);
  } catch (error) {
    if (!isHttpError(error)) throw error;
    return finish("failure", `deploy failed: ${error.message}`, logUrl, [`buildshiprun: ${error.message}`]);
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
