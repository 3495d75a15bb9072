import { fileURLToPath } from "node:url";
import type { FunctionDeployment } from "../shared/gateway.js";
import type { StackFunction } from "../shared/stack.js";

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
