import type { FunctionDeployment } from "../../shared/gateway.js";

// The scaling-label rules faas-netes Community Edition applies to every deploy and update, reimplemented from its
// published source (faas-netes 0.18.x, pkg/handlers/validate.go, validateScalingLabels; MaxReplicas = 5) so the tests
// can show which deployments a CE gateway would answer with a 400. Image visibility (CE's anonymous-pull check) is
// not modelled here.
const CE_MAX_REPLICAS = 5;
const PRO_ONLY = ["com.openfaas.scale.zero-duration", "com.openfaas.scale.target", "com.openfaas.scale.type"];

/** The message faas-netes CE would refuse this deployment with, or undefined when it would accept it. */
export function communityEditionRefusal(deployment: FunctionDeployment): string | undefined {
  const labels = deployment.labels ?? {};
  if (labels["com.openfaas.scale.zero"] === "true")
    return "com.openfaas.scale.zero not available for Community Edition";
  for (const key of PRO_ONLY) if (key in labels) return `${key} not available for Community Edition`;
  for (const bound of ["max", "min"]) {
    const value = Number.parseInt(labels[`com.openfaas.scale.${bound}`] ?? "", 10);
    if (value > CE_MAX_REPLICAS) return `com.openfaas.scale.${bound} is set too high for Community Edition`;
  }
  return undefined;
}
