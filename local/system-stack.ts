import { fileURLToPath } from "node:url";
import { parseByteSize, parseDuration } from "../shared/function-server.js";
import type { FunctionDeployment } from "../shared/gateway.js";
import { readStack, type StackFunction } from "../shared/stack.js";

/** The repository root: where the system's own stack.yml, its environment files and template/ live. */
export const PROJECT_ROOT = fileURLToPath(new URL("../", import.meta.url));

/**
 * What `faas-cli deploy --env K=V…` sends for one stack function (anchors §B): the stack's environment (with its
 * environment_files merged) overlaid by `envOverlay`, and its secrets, labels, annotations, limits and requests.
 */
export function deploymentOf(
  fn: StackFunction,
  image: string,
  envOverlay: Readonly<Record<string, string>>,
): FunctionDeployment {
  return {
    service: fn.name,
    image,
    ...(fn.fprocess ? { envProcess: fn.fprocess } : {}),
    envVars: { ...fn.environment, ...envOverlay },
    secrets: fn.secrets,
    labels: fn.labels,
    annotations: fn.annotations,
    ...(fn.limits ? { limits: fn.limits } : {}),
    ...(fn.requests ? { requests: fn.requests } : {}),
    ...(fn.readonlyRootFilesystem !== undefined ? { readOnlyRootFilesystem: fn.readonlyRootFilesystem } : {}),
  };
}

/** What the watchdog would enforce for one system function, read from its stack.yml environment. */
export interface FunctionLimits {
  /** `max_body_bytes`: a body over it is refused 413 before it is buffered. */
  bodyBytes?: number;
  /** `exec_timeout`: the handler's signal aborts then and the caller gets 504. */
  execTimeoutMs?: number;
}

/**
 * Each system function's limits, for the local gateway that hosts them in-process: the same refusals and the same
 * deadline as their images apply (issue #10).
 */
export async function systemLimits(): Promise<Record<string, FunctionLimits>> {
  const limits: Record<string, FunctionLimits> = {};
  for (const fn of (await readStack(PROJECT_ROOT, {})).functions) {
    const bodyBytes = parseByteSize(fn.environment.max_body_bytes);
    const execTimeoutMs = parseDuration(fn.environment.exec_timeout);
    limits[fn.name] = {
      ...(bodyBytes === undefined ? {} : { bodyBytes }),
      ...(execTimeoutMs === undefined ? {} : { execTimeoutMs }),
    };
  }
  return limits;
}
