import { fileURLToPath } from "node:url";
import { parseByteSize } from "../shared/function-server.js";
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

/**
 * Each system function's body cap (`max_body_bytes` in stack.yml), for the local gateway that hosts them
 * in-process: the same refusals as their images apply (issue #10).
 */
export async function systemBodyCaps(): Promise<Record<string, number>> {
  const caps: Record<string, number> = {};
  for (const fn of (await readStack(PROJECT_ROOT, {})).functions) {
    const bytes = parseByteSize(fn.environment.max_body_bytes);
    if (bytes !== undefined) caps[fn.name] = bytes;
  }
  return caps;
}
