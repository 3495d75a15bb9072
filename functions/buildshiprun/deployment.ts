import { PREVIEW_LABEL, type DeploySpec } from "../../shared/deploy-spec.js";
import type { FunctionDeployment } from "../../shared/gateway.js";
import { HttpError } from "../../shared/http-error.js";
import { deployImage } from "../../shared/naming.js";
import { editionRefusal, scaleToZero, type Edition } from "./edition.js";

/** The operator's deployment policy (original-spec §5 step 8, buildshiprun_limits.yml). */
export interface DeployPolicy {
  repositoryUrl: string;
  pushRepositoryUrl: string;
  scalingMin: number;
  scalingMax: number;
  /** scaling_factor, the com.openfaas.scale.factor label (0–100). */
  scalingFactor: number;
  memoryLimitMb: number;
  cpuLimitMilli?: number;
  cpuRequestsMilli?: number;
  readonlyRootFilesystem: boolean;
}

const LABEL_PREFIX = "com.openfaas.cloud.";
// User annotations the platform honours (original-spec §16.7); everything else is dropped.
const ANNOTATIONS_ALLOWED = new Set([
  "topic",
  "schedule",
  "com.openfaas.health.http.path",
  "com.openfaas.health.http.initialDelay",
]);
// Labels only the platform sets: identity and ownership (buildshiprun and garbage-collect trust git-owner-id),
// scaling policy, and the role labels NetworkPolicies select system functions by. faas_function, app and
// com.openfaas.scale.zero are not listed apart: toDeployment sets them after the user's labels, so its values win (a
// user's scale-to-zero wish is read from spec.labels by scaleToZero).
const RESERVED_LABEL = (key: string) => key === "role" || key === "openfaas-cloud" || key.startsWith("com.openfaas.");

/**
 * Builds the FunctionDeployment the gateway receives for one built function; throws HttpError 400 naming the limit
 * when the edition would refuse it (issue #11): nothing is sent that the edition refuses.
 */
export function toDeployment(
  spec: DeploySpec,
  builtImage: string,
  policy: DeployPolicy,
  edition: Edition,
  now: Date,
): FunctionDeployment {
  const refusal = editionRefusal(edition, policy, spec);
  if (refusal) throw new HttpError(400, refusal);
  const userLabels = Object.fromEntries(Object.entries(spec.labels).filter(([key]) => !RESERVED_LABEL(key)));
  const scaleZero = scaleToZero(spec.labels["com.openfaas.scale.zero"], edition);
  const labels: Record<string, string> = {
    ...userLabels,
    faas_function: spec.service,
    app: spec.service,
    "com.openfaas.scale.min": String(policy.scalingMin),
    "com.openfaas.scale.max": String(policy.scalingMax),
    "com.openfaas.scale.factor": String(policy.scalingFactor),
    "com.openfaas.scale.zero": scaleZero,
    [`${LABEL_PREFIX}git-cloud`]: "1",
    [`${LABEL_PREFIX}git-owner`]: spec.owner.toLowerCase(),
    [`${LABEL_PREFIX}git-owner-id`]: String(spec.ownerId),
    [`${LABEL_PREFIX}git-repo`]: spec.repo.toLowerCase(),
    [`${LABEL_PREFIX}git-deploytime`]: String(Math.floor(now.getTime() / 1000)),
    [`${LABEL_PREFIX}git-sha`]: spec.sha,
    [`${LABEL_PREFIX}git-private`]: spec.private ? "1" : "0",
    // Where the push came from (issue #19); specs without it are GitHub's.
    [`${LABEL_PREFIX}git-scm`]: spec.scm ?? "github",
    [`${LABEL_PREFIX}git-branch`]: spec.branch,
    // A preview (issue #17): garbage-collect, the ownership check and the dashboard tell it apart by this label.
    ...(spec.preview ? { [PREVIEW_LABEL]: spec.preview } : {}),
  };
  const annotations: Record<string, string> = {
    ...Object.fromEntries(Object.entries(spec.annotations).filter(([key]) => ANNOTATIONS_ALLOWED.has(key))),
    [`${LABEL_PREFIX}git-repo-url`]: spec.repoUrl,
  };
  // The operator's limits apply, not the stack's (original-spec §16.8): users cannot raise their own.
  const limits = {
    memory: `${policy.memoryLimitMb}Mi`,
    ...(policy.cpuLimitMilli !== undefined ? { cpu: `${policy.cpuLimitMilli}m` } : {}),
  };
  return {
    service: spec.service,
    image: deployImage(builtImage.toLowerCase(), policy.pushRepositoryUrl, policy.repositoryUrl),
    envVars: spec.environment,
    secrets: spec.secrets,
    labels,
    annotations,
    limits,
    ...(policy.cpuRequestsMilli !== undefined ? { requests: { cpu: `${policy.cpuRequestsMilli}m` } } : {}),
    // The operator's setting wins; a stack can only make its own function stricter.
    readOnlyRootFilesystem: policy.readonlyRootFilesystem || spec.readonlyRootFilesystem === true,
  };
}

// Moved to shared/ so list-functions names the same URL (issue #13); re-exported for buildshiprun and its tests.
export { functionUrl } from "../../shared/function-url.js";
