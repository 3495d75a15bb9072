import { z } from "zod";
import type { FunctionDeployment, FunctionStatus } from "../../shared/gateway.js";
import { HttpError } from "../../shared/http-error.js";
import { parseJsonBody } from "../../shared/json-body.js";

/** The one namespace this provider serves: faas-netes' and faasd's default (anchors §A). */
export const NAMESPACE = "openfaas-fn";

// Go's encoding/json takes `null` for any field and ignores unknown ones (`registryAuth`, `network`): faas-cli sends
// `"labels": null` when a function has none, which is why the OpenAPI document marks them nullable.
const stringMap = z.record(z.string(), z.string()).nullish();
const resources = z.looseObject({ memory: z.string().nullish(), cpu: z.string().nullish() }).nullish();
const deploymentSchema = z.object({
  service: z.string().nullish(),
  image: z.string().nullish(),
  namespace: z.string().nullish(),
  envProcess: z.string().nullish(),
  envVars: stringMap,
  constraints: z.array(z.string()).nullish(),
  secrets: z.array(z.string()).nullish(),
  labels: stringMap,
  annotations: stringMap,
  limits: resources,
  requests: resources,
  readOnlyRootFilesystem: z.boolean().nullish(),
});

// RFC 1123 label, as faas-netes validates `service` (pkg/handlers/validate.go).
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** FunctionStatus as this provider answers it: every FunctionDeployment field, plus the status fields. */
export type FunctionStatusBody = FunctionStatus &
  Omit<FunctionDeployment, "service"> & { namespace: string; createdAt: string };

/**
 * Parses a POST/PUT /system/functions body into a FunctionDeployment without nulls or empty parts; a 400 with
 * faas-netes' texts for a missing or invalid `service` or `image`, and for a foreign namespace.
 */
export function parseDeployment(body: Buffer): FunctionDeployment {
  const raw = parseJsonBody(deploymentSchema, body, "FunctionDeployment");
  const service = raw.service ?? "";
  if (service === "") throw new HttpError(400, "validation failed: service: is required");
  if (!DNS_LABEL.test(service)) {
    throw new HttpError(400, `validation failed: service: (${service}) is invalid, must be a valid DNS entry`);
  }
  if (!raw.image) throw new HttpError(400, "validation failed: image: is required");
  checkNamespace(raw.namespace);
  const deployment: FunctionDeployment = { service, image: raw.image, namespace: NAMESPACE };
  if (raw.envProcess) deployment.envProcess = raw.envProcess;
  if (raw.envVars && Object.keys(raw.envVars).length > 0) deployment.envVars = raw.envVars;
  if (raw.constraints?.length) deployment.constraints = raw.constraints;
  if (raw.secrets?.length) deployment.secrets = raw.secrets;
  if (raw.labels) deployment.labels = raw.labels;
  if (raw.annotations) deployment.annotations = raw.annotations;
  const limits = resourcesOf(raw.limits);
  if (limits) deployment.limits = limits;
  const requests = resourcesOf(raw.requests);
  if (requests) deployment.requests = requests;
  if (raw.readOnlyRootFilesystem) deployment.readOnlyRootFilesystem = true;
  return deployment;
}

/** Reads back a deployment this provider stored in a container label; undefined when it is not one. */
export function storedDeployment(json: string | undefined): FunctionDeployment | undefined {
  if (json === undefined) return undefined;
  try {
    return parseDeployment(Buffer.from(json));
  } catch {
    return undefined;
  }
}

/** Refuses any namespace but ours (faas-netes' text); empty means the default, as providers do. */
export function checkNamespace(namespace: string | null | undefined): void {
  if (namespace && namespace !== NAMESPACE) throw new HttpError(400, `namespace must be: ${NAMESPACE}`);
}

/**
 * The FunctionStatus of a deployed function (anchors §A): `replicas` is the desired count (0 or 1: one container per
 * function), `availableReplicas` 1 once that container answers.
 */
export function toStatus(
  deployment: FunctionDeployment,
  state: { replicas: 0 | 1; ready: boolean; invocationCount: number; createdAt: string },
): FunctionStatusBody {
  const { service, ...rest } = deployment;
  return {
    ...rest,
    name: service,
    namespace: NAMESPACE,
    labels: deployment.labels ?? {},
    annotations: deployment.annotations ?? {},
    readOnlyRootFilesystem: deployment.readOnlyRootFilesystem === true,
    invocationCount: state.invocationCount,
    replicas: state.replicas,
    availableReplicas: state.replicas > 0 && state.ready ? 1 : 0,
    createdAt: state.createdAt,
  };
}

function resourcesOf(value: z.infer<typeof resources>): FunctionDeployment["limits"] {
  if (!value) return undefined;
  const out: Record<string, string> = {};
  for (const [key, v] of Object.entries(value)) if (typeof v === "string" && v !== "") out[key] = v;
  return Object.keys(out).length > 0 ? out : undefined;
}
