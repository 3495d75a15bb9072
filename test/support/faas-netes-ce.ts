import type { FunctionDeployment } from "../../shared/gateway.js";

// What faas-netes Community Edition refuses on deploy (POST) and update (PUT) of a function, reimplemented from its
// published source so the tests can show which deployments a CE gateway would answer with a 400: faas-netes 0.18.17
// (commit e000629a, chart 15.0.6; pkg/handlers unchanged at master 662ce9ce): validate.go ValidateDeployRequest,
// validateScalingLabels (MaxReplicas = 5) and isAnonymous; deploy.go buildAnnotations and the MaxFunctions (15) cap;
// update.go. The gateway relays the provider's status and text as they are.
const CE_MAX_REPLICAS = 5;
const CE_MAX_FUNCTIONS = 15;
const PRO_ONLY = ["com.openfaas.scale.zero-duration", "com.openfaas.scale.target", "com.openfaas.scale.type"];
const VALID_DNS = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** What a CE cluster holds besides the request: which images anonymous pulls can read, how many functions run. */
export interface CommunityCluster {
  /** isAnonymous(): can the image's manifest be read without credentials? Default: every image can. */
  isPublic?: (image: string) => boolean;
  /** Functions deployed now (Deployments labelled faas_function in openfaas-fn). Default 0. */
  functions?: number;
}

/**
 * The message faas-netes CE would refuse this deployment with (validation, image, annotations, in its order), or
 * undefined when it would accept it. The function cap applies to creates only: see communityEditionAnswer.
 */
export function communityEditionRefusal(
  deployment: FunctionDeployment,
  cluster: CommunityCluster = {},
): string | undefined {
  return validation(deployment) ?? imageRefusal(deployment, cluster) ?? annotationRefusal(deployment);
}

/** The status and text a CE gateway answers POST (create) or PUT (update) /system/functions with. */
export function communityEditionAnswer(
  method: "POST" | "PUT",
  deployment: FunctionDeployment,
  cluster: CommunityCluster = {},
): { status: number; body: string } {
  const invalid = validation(deployment);
  if (invalid) return { status: 400, body: `validation failed: ${invalid}` };
  if (method === "PUT") {
    const annotations = annotationRefusal(deployment);
    if (annotations) return { status: 400, body: annotations };
    // update.go: isAnonymous fails inside updateDeploymentSpec, whose caller logs it and returns without writing a
    // status: Go answers 200 with no body and nothing is updated.
    if (imageRefusal(deployment, cluster)) return { status: 200, body: "" };
    return { status: 202, body: "" };
  }
  const image = imageRefusal(deployment, cluster);
  if (image) return { status: 400, body: image };
  const annotations = annotationRefusal(deployment);
  if (annotations) return { status: 400, body: `failed create Deployment spec: ${annotations}` };
  if ((cluster.functions ?? 0) + 1 > CE_MAX_FUNCTIONS) {
    return {
      status: 400,
      body: `unable to create function, maximum: ${CE_MAX_FUNCTIONS}, visit https://openfaas.com/pricing to upgrade to OpenFaaS Standard`,
    };
  }
  return { status: 202, body: "" };
}

function validation(deployment: FunctionDeployment): string | undefined {
  if (!deployment.service) return "service: is required";
  if (!VALID_DNS.test(deployment.service)) {
    return `service: (${deployment.service}) is invalid, must be a valid DNS entry`;
  }
  if (!deployment.image) return "image: is required";
  const labels = deployment.labels ?? {};
  if (labels["com.openfaas.scale.zero"] === "true") {
    return "com.openfaas.scale.zero not available for Community Edition";
  }
  for (const key of PRO_ONLY) if (key in labels) return `${key} not available for Community Edition`;
  for (const bound of ["max", "min"]) {
    // strconv.Atoi: a value that is not a whole number is not checked at all.
    const raw = labels[`com.openfaas.scale.${bound}`] ?? "";
    if (/^[+-]?\d+$/.test(raw) && Number(raw) > CE_MAX_REPLICAS) {
      return `com.openfaas.scale.${bound} is set too high for Community Edition`;
    }
  }
  return undefined;
}

function imageRefusal(deployment: FunctionDeployment, cluster: CommunityCluster): string | undefined {
  const isPublic = cluster.isPublic ?? (() => true);
  return isPublic(deployment.image) ? undefined : "the Community Edition license agreement only allows public images";
}

function annotationRefusal(deployment: FunctionDeployment): string | undefined {
  const annotations = deployment.annotations ?? {};
  if (annotations.topic?.includes(",")) {
    return "the topic annotation may only support one value in the Community Edition";
  }
  // Go ranges over a map in random order: with several such keys any one of them may be named.
  for (const key of Object.keys(annotations)) {
    if (key.includes("amazonaws.com") || key.includes("gke.io")) {
      return `annotation "${key}" is not supported in the Community Edition`;
    }
  }
  return undefined;
}
