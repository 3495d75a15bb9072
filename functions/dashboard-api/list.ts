import type { Logger } from "pino";
import { ownerPrefix, unqualified, viewableOwner, type ViewerDeps } from "../../shared/dashboard-api.js";
import type { FunctionEvent, Reply } from "../../shared/function-handler.js";
import { functionUrl } from "../../shared/function-url.js";
import type { FunctionStatus, Gateway } from "../../shared/gateway.js";
import type { PrometheusApi } from "../../shared/prometheus.js";

export interface ListFunctionsDeps {
  gateway: Gateway;
  /** Where invocation counts come from when set (prometheus_url); else the gateway's own count. */
  prometheus?: PrometheusApi;
  viewer: ViewerDeps;
  publicUrl: string;
  prettyUrl?: string;
  log: Logger;
}

/** One of an owner's functions, as the dashboard shows it. */
export interface ListedFunction {
  /** The stack.yml name. */
  name: string;
  /** `<owner>--<name>`, the gateway's name for it. */
  deployedName: string;
  /** Without the registry's host: the internal registry's address is not the user's business (as upstream). */
  image: string;
  repo: string;
  repoUrl?: string;
  branch?: string;
  sha?: string;
  /** ISO 8601, from buildshiprun's git-deploytime label (unix seconds). */
  deployedAt?: string;
  replicas: number;
  availableReplicas: number;
  invocationCount: number;
  url: string;
}

const LABEL = "com.openfaas.cloud.";

/**
 * list-functions (issue #13, upstream's list-functions): the functions of `?owner=` the session may see, from the
 * gateway's /system/functions, so it works on any provider. A function is the owner's only when both its
 * git-owner label and its deployed name's `<owner>--` prefix say so: a label alone is whatever a deployment wrote.
 */
export function createListFunctions(deps: ListFunctionsDeps) {
  return async (event: FunctionEvent): Promise<Reply> => {
    const { owner } = await viewableOwner(event, deps.viewer);
    const prefix = ownerPrefix(owner);
    const mine = (await deps.gateway.listFunctions()).filter(
      (fn) => fn.name.startsWith(prefix) && fn.labels?.[`${LABEL}git-owner`]?.toLowerCase() === owner,
    );
    const counts = await invocationCounts(prefix);
    const listed = mine.map((fn) => describe(owner, prefix, fn, counts)).sort((a, b) => a.name.localeCompare(b.name));
    return { status: 200, body: listed };
  };

  /**
   * Each deployed name's invocations, summed over status codes, from Prometheus; undefined (the gateway's count
   * then) without prometheus_url or when Prometheus fails: the list still answers, the failure is logged.
   */
  async function invocationCounts(prefix: string): Promise<Map<string, number> | undefined> {
    if (!deps.prometheus) return undefined;
    try {
      // The prefix is a checked GitHub login and "--": nothing in it is special to a regex.
      const samples = await deps.prometheus.query(
        `sum by (function_name) (gateway_function_invocation_total{function_name=~"${prefix}.*"})`,
      );
      const counts = new Map<string, number>();
      for (const s of samples) {
        const name = unqualified(s.metric.function_name ?? "");
        counts.set(name, (counts.get(name) ?? 0) + s.value);
      }
      return counts;
    } catch (error) {
      deps.log.warn({ err: error }, "invocation counts from prometheus failed; using the gateway's");
      return undefined;
    }
  }

  function describe(owner: string, prefix: string, fn: FunctionStatus, counts?: Map<string, number>): ListedFunction {
    const labels = fn.labels ?? {};
    const name = fn.name.slice(prefix.length);
    const deployTime = Number(labels[`${LABEL}git-deploytime`]);
    const repoUrl = fn.annotations?.[`${LABEL}git-repo-url`];
    return {
      name,
      deployedName: fn.name,
      image: fn.image.includes("/") ? fn.image.slice(fn.image.indexOf("/") + 1) : fn.image,
      repo: labels[`${LABEL}git-repo`] ?? "",
      ...(repoUrl ? { repoUrl } : {}),
      ...(labels[`${LABEL}git-branch`] ? { branch: labels[`${LABEL}git-branch`] } : {}),
      ...(labels[`${LABEL}git-sha`] ? { sha: labels[`${LABEL}git-sha`] } : {}),
      ...(Number.isFinite(deployTime) && deployTime > 0
        ? { deployedAt: new Date(deployTime * 1000).toISOString() }
        : {}),
      replicas: fn.replicas ?? 0,
      availableReplicas: fn.availableReplicas ?? 0,
      invocationCount: counts ? (counts.get(fn.name) ?? 0) : (fn.invocationCount ?? 0),
      url: functionUrl({ owner, function: name, service: fn.name }, deps.publicUrl, deps.prettyUrl),
    };
  }
}
