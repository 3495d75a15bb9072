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

/** The memory limit of a function deployed without one (the cloud's own default, `function_memory_limit_mb`). */
export const DEFAULT_MEMORY = "128Mi";
/** At most this many processes and threads per container: a fork bomb stays inside its function. */
export const PIDS_LIMIT = 256;
/** Who runs a function whose image would run it as root: `nobody`, an account that owns no file on the host. */
export const NON_ROOT_USER = "65534:65534";

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
  /** The image's own USER (`Config.User`); empty or root means the function runs as NON_ROOT_USER instead. */
  imageUser?: string;
}

/**
 * The Engine API create body for a function: host networking (DESIGN §8: no bridge), its port as `port` (of-watchdog)
 * and `http_port` (the node template), `fprocess` from envProcess, and the deployment itself in a label.
 * User code runs confined (issue #10), whatever the deployment asks: no capabilities (so no raw sockets to sniff the
 * loopback traffic of the internal services, no mounts, no chown), no privilege gained through setuid binaries, a
 * pids limit, a memory limit without swap (DEFAULT_MEMORY when none is given), a read-only root with a tmpfs /tmp (as
 * faas-netes mounts an emptyDir there), never root, and no host path but the function's own secrets folder.
 */
export function containerSpec(placement: Placement): ContainerSpec {
  const { deployment, port } = placement;
  const env = new Map(Object.entries(deployment.envVars ?? {}));
  if (deployment.envProcess) env.set("fprocess", deployment.envProcess);
  env.set("port", String(port));
  env.set("http_port", String(port));
  // Host networking shares the machine's interfaces: a template that honours http_host stays on loopback.
  env.set("http_host", "127.0.0.1");
  const memory = memoryBytes(deployment.limits?.memory ?? DEFAULT_MEMORY);
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
    ...(runsAsRoot(placement.imageUser) ? { User: NON_ROOT_USER } : {}),
    HostConfig: {
      NetworkMode: "host",
      RestartPolicy: { Name: "unless-stopped" },
      Privileged: false,
      CapDrop: ["ALL"],
      SecurityOpt: ["no-new-privileges"],
      PidsLimit: PIDS_LIMIT,
      Memory: memory,
      MemorySwap: memory,
      ReadonlyRootfs: true,
      Tmpfs: { "/tmp": "rw,nosuid,nodev,mode=1777" },
      Binds: placement.secretsDir ? [`${placement.secretsDir}:${SECRETS_MOUNT}:ro`] : [],
    },
  };
}

/** An image's USER that means root: none, `root` or uid 0 (with or without a group). */
function runsAsRoot(user: string | undefined): boolean {
  const name = (user ?? "").split(":")[0] ?? "";
  return name === "" || name === "root" || name === "0";
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
