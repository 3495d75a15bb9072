import type { ContainerSpec } from "../../of-builder/docker-engine.js";
import type { FunctionDeployment } from "../../shared/gateway.js";
import { HttpError } from "../../shared/http-error.js";
import { storedDeployment } from "./deployment.js";

/** The labels this provider puts on a function's container, so the gateway can rebuild its state from Docker. */
export const LABELS = {
  function: "com.openfaas.cloud.local.function",
  deployment: "com.openfaas.cloud.local.deployment",
  port: "com.openfaas.cloud.local.port",
  createdAt: "com.openfaas.cloud.local.created-at",
} as const;

/** Where functions read their secrets (faas-provider's default `secret_mount_path`, DESIGN §4). */
export const SECRETS_MOUNT = "/var/openfaas/secrets";

/** A function's container name. */
export function containerName(service: string): string {
  return `ofc-fn-${service}`;
}

/** What one container of a function runs with. */
export interface Placement {
  deployment: FunctionDeployment;
  port: number;
  createdAt: string;
  name: string;
  /** Host folder holding the function's secret files, bind-mounted read-only at SECRETS_MOUNT. */
  secretsDir?: string;
}

/**
 * The Engine API create body for a function: host networking (DESIGN §8: no bridge), its port as `port` (of-watchdog)
 * and `http_port` (the node template), `fprocess` from envProcess, the memory limit, a read-only root with a tmpfs
 * /tmp (as faas-netes mounts an emptyDir there), and the deployment itself in a label.
 */
export function containerSpec(placement: Placement): ContainerSpec {
  const { deployment, port } = placement;
  const env = new Map(Object.entries(deployment.envVars ?? {}));
  if (deployment.envProcess) env.set("fprocess", deployment.envProcess);
  env.set("port", String(port));
  env.set("http_port", String(port));
  // Host networking shares the machine's interfaces: a template that honours http_host stays on loopback.
  env.set("http_host", "127.0.0.1");
  const readOnly = deployment.readOnlyRootFilesystem === true;
  const memory = deployment.limits?.memory;
  return {
    name: placement.name,
    Image: deployment.image,
    Env: [...env].map(([key, value]) => `${key}=${value}`),
    Labels: {
      ...deployment.labels,
      faas_function: deployment.service,
      [LABELS.function]: deployment.service,
      [LABELS.deployment]: JSON.stringify(deployment),
      [LABELS.port]: String(port),
      [LABELS.createdAt]: placement.createdAt,
    },
    HostConfig: {
      NetworkMode: "host",
      RestartPolicy: { Name: "unless-stopped" },
      ReadonlyRootfs: readOnly,
      ...(readOnly ? { Tmpfs: { "/tmp": "rw,nosuid,nodev,mode=1777" } } : {}),
      ...(memory ? { Memory: memoryBytes(memory) } : {}),
      ...(placement.secretsDir ? { Binds: [`${placement.secretsDir}:${SECRETS_MOUNT}:ro`] } : {}),
    },
  };
}

/** A function container as `GET /containers/json` lists it. */
export interface ContainerSummary {
  Id: string;
  Names: string[];
  Labels: Record<string, string> | null;
  State: string;
  Created: number;
}

/** Reads a function's deployment, port and creation time back from its container's labels. */
export function fromLabels(
  labels: Record<string, string> | null,
): { deployment: FunctionDeployment; port: number; createdAt: string } | undefined {
  const deployment = storedDeployment(labels?.[LABELS.deployment]);
  const port = Number(labels?.[LABELS.port]);
  const createdAt = labels?.[LABELS.createdAt];
  if (!deployment || !Number.isInteger(port) || port <= 0 || !createdAt) return undefined;
  return { deployment, port, createdAt };
}

// Kubernetes quantities (binary Ki/Mi/Gi/Ti, decimal k/M/G/T) plus Docker's lower-case m and g (`--memory 128m`):
// a milli-byte (Kubernetes' `m`) is meaningless for memory, so `128m` reads as Docker means it.
const UNITS: Record<string, number> = {
  "": 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  m: 2 ** 20,
  g: 2 ** 30,
};

/** `128Mi`, `128M`, `128m`, `0.5Gi`, `134217728` → bytes; a 400 naming the value otherwise. */
export function memoryBytes(quantity: string): number {
  const match = /^(\d+(?:\.\d+)?)([a-zA-Z]*)$/.exec(quantity.trim());
  const unit = match ? UNITS[match[2] ?? ""] : undefined;
  if (!match || unit === undefined) {
    throw new HttpError(400, `limits.memory: "${quantity}" is not a memory quantity (e.g. 128Mi, 128M, 128m)`);
  }
  return Math.round(Number(match[1]) * unit);
}
