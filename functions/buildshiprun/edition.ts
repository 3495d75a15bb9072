import type { Logger } from "pino";
import { CE_MAX_REPLICAS } from "../../shared/config.js";
import type { DeploySpec } from "../../shared/deploy-spec.js";
import type { Gateway } from "../../shared/gateway.js";

/** What the OpenFaaS that functions deploy to accepts (issue #11). */
export interface Edition {
  /** `ce`: Community Edition (no scale to zero, at most 5 replicas, one topic); `pro`: Standard or Enterprise. */
  name: "ce" | "pro";
  /** faas-netes CE deploys only images it can read anonymously; faasd CE and Pro pull with their own credentials. */
  publicImagesOnly: boolean;
  /** Where that came from, as statuses name it: the provider's /system/info name, or the setting. */
  source: string;
}

/** The openfaas_edition setting (shared/config.ts). */
export type EditionSetting = "auto" | "ce" | "pro";

// The names Community Edition's providers give in /system/info, and whether they refuse private images:
// faas-netes pkg/handlers/info.go ("faas-netes-ce" since 0.18.10, before any of its CE checks) with isAnonymous() in
// pkg/handlers/validate.go; faasd pkg/provider/handlers/info.go ("faasd-ce" since 0.19.3), which pulls with the
// credentials in /var/lib/faasd/.docker/config.json (pkg/service/service.go) and checks no image, label or annotation.
// Pro's providers are closed source: any other name (the local runtime's "ofc-local" too) is taken as Pro.
const COMMUNITY: Readonly<Record<string, boolean>> = { "faas-netes-ce": true, "faasd-ce": false };
// What works everywhere while the gateway cannot say what it is.
const UNKNOWN: Edition = { name: "ce", publicImagesOnly: true, source: "gateway info unreachable" };

/**
 * Resolves openfaas_edition: `ce` and `pro` as set; `auto` from the gateway's /system/info, asked at the first deploy
 * and kept for the process. While it cannot be read, deploys go out as Community Edition (one warning) and the next
 * deploy asks again.
 */
export function createEditionResolver(deps: {
  setting: EditionSetting;
  gateway: Pick<Gateway, "info">;
  log: Logger;
}): () => Promise<Edition> {
  if (deps.setting !== "auto") {
    const fixed: Edition = {
      name: deps.setting,
      publicImagesOnly: deps.setting === "ce",
      source: `openfaas_edition=${deps.setting}`,
    };
    return () => Promise.resolve(fixed);
  }
  let known: Promise<Edition> | undefined;
  let warned = false;
  const ask = async (): Promise<Edition> => {
    const provider = (await deps.gateway.info()).provider.provider;
    const publicImagesOnly = COMMUNITY[provider];
    const edition: Edition =
      publicImagesOnly === undefined
        ? { name: "pro", publicImagesOnly: false, source: provider }
        : { name: "ce", publicImagesOnly, source: provider };
    deps.log.info({ provider, edition: edition.name }, "OpenFaaS edition read from the gateway's /system/info");
    return edition;
  };
  return () => {
    // Concurrent deploys share one question; a failed one is forgotten so the next deploy asks again.
    known ??= ask().catch((error: unknown) => {
      known = undefined;
      if (!warned) {
        deps.log.warn({ err: error }, "cannot read the gateway's /system/info: deploying as Community Edition");
      }
      warned = true;
      return UNKNOWN;
    });
    return known;
  };
}

/**
 * Why this edition refuses the function as the operator and the stack configure it, or undefined when it takes it:
 * what faas-netes CE refuses on every deploy (pkg/handlers/validate.go, deploy.go buildAnnotations), said before
 * anything is built. Stacks cannot set replica labels (toDeployment drops them), so only the settings can ask for more.
 */
export function editionRefusal(
  edition: Edition,
  scaling: { scalingMin: number; scalingMax: number },
  spec: Pick<DeploySpec, "labels" | "annotations">,
): string | undefined {
  if (edition.name !== "ce") return undefined;
  if (asksScaleToZero(spec.labels["com.openfaas.scale.zero"])) {
    return "com.openfaas.scale.zero needs OpenFaaS Standard or Enterprise; this cluster runs Community Edition";
  }
  for (const [key, value] of [
    ["scaling_min_limit", scaling.scalingMin],
    ["scaling_max_limit", scaling.scalingMax],
  ] as const) {
    if (value > CE_MAX_REPLICAS) {
      return `${key} ${value} is over OpenFaaS CE's ${CE_MAX_REPLICAS} replicas (${edition.source}): the operator lowers it`;
    }
  }
  const topic = spec.annotations.topic;
  if (topic?.includes(",")) {
    const shown = topic.length > 30 ? `${topic.slice(0, 29)}…` : topic;
    return `topic "${shown}": OpenFaaS CE takes one topic per function; keep one or use Standard/Enterprise`;
  }
  return undefined;
}

/** The `com.openfaas.scale.zero` value to deploy: the stack's choice, by default on where the edition has it (Pro). */
export function scaleToZero(asked: string | undefined, edition: Edition): "true" | "false" {
  return (asked === undefined ? edition.name === "pro" : asksScaleToZero(asked)) ? "true" : "false";
}

const asksScaleToZero = (value: string | undefined) => value !== undefined && /^(true|1)$/i.test(value);
