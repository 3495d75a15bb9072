import { parseAllDocuments } from "yaml";
import { chartValues, helmInstalls, unknownValueKey } from "./helm-values.js";
import { manifestProblems } from "./manifest-check.js";
import { flagValues } from "./shell-words.js";

// What a fresh cluster would say to each command of the install guide, in order (issue #11): the namespace, secret,
// Deployment, CRD or image a command needs must exist by then. The install-guide walk replays the calls its
// stand-ins recorded through this model; a command it does not know is a problem too, so the model grows with the
// guide instead of waving new commands through.

/** One recorded call: the stand-in's name, its folder, its arguments and what it read on stdin. */
export interface Call {
  n: number;
  name: string;
  cwd: string;
  args: string[];
  stdin?: string;
}

/** What the charts the guide installs create, beyond what their values say. */
interface ChartEffects {
  /** The vendored values' name in test/fixtures/charts (`<values>-<version>.values.yaml`); none: no --set allowed. */
  values?: string;
  deployments: string[];
  services: string[];
  crdGroups: (sets: Map<string, string>) => string[];
  secrets: (sets: Map<string, string>) => string[];
  /** Namespaces the chart deploys into besides its own, which it does not create. */
  needs: (sets: Map<string, string>) => string[];
  /** Secrets in its own namespace its pods mount, which it does not create. */
  needsSecrets?: string[];
}

const none = () => [];
/** From the charts' templates at the pinned versions (test/fixtures/charts/README.md). */
const CHARTS: Record<string, ChartEffects> = {
  "openfaas/openfaas": {
    values: "openfaas",
    deployments: ["gateway", "queue-worker", "nats", "prometheus", "alertmanager"],
    services: ["gateway", "nats", "prometheus"],
    crdGroups: none,
    secrets: (sets) => (sets.get("generateBasicAuth") === "false" ? [] : ["basic-auth"]),
    needs: (sets) => [sets.get("functionNamespace") ?? "openfaas-fn"],
  },
  "oci://docker.io/envoyproxy/gateway-helm": {
    deployments: ["envoy-gateway"],
    services: ["envoy-gateway"],
    crdGroups: () => ["gateway.networking.k8s.io", "gateway.envoyproxy.io"],
    secrets: none,
    needs: none,
  },
  "oci://quay.io/jetstack/charts/cert-manager": {
    values: "cert-manager",
    deployments: ["cert-manager", "cert-manager-webhook", "cert-manager-cainjector"],
    services: ["cert-manager", "cert-manager-webhook"],
    crdGroups: (sets) => (sets.get("crds.enabled") === "true" ? ["cert-manager.io", "acme.cert-manager.io"] : []),
    secrets: none,
    needs: none,
  },
  "openfaas/cron-connector": {
    deployments: ["cron-connector"],
    services: [],
    crdGroups: none,
    secrets: none,
    needs: none,
    // It calls the gateway with the credentials the openfaas chart generates.
    needsSecrets: ["basic-auth"],
  },
  "minio/minio": {
    values: "minio",
    deployments: ["minio"],
    services: ["minio"],
    crdGroups: none,
    secrets: none,
    needs: none,
  },
};

/** API groups every cluster serves; any other needs its CustomResourceDefinition installed first. */
const BUILT_IN_GROUPS = new Set([
  "",
  "apps",
  "batch",
  "policy",
  "autoscaling",
  "networking.k8s.io",
  "rbac.authorization.k8s.io",
  "storage.k8s.io",
]);

/** The name of a chart's vendored values in test/fixtures/charts, when the model knows the chart and they are. */
export function vendoredValues(chart: string): string | undefined {
  return CHARTS[chart]?.values;
}

/** Kinds that belong to no namespace. */
const CLUSTER_SCOPED = new Set(["Namespace", "GatewayClass", "ClusterIssuer", "CustomResourceDefinition"]);

interface Deployment {
  containers: Set<string>;
}

/** The state of the cluster and of the operator's machine after each call. */
export interface Cluster {
  namespaces: Map<string, Record<string, string>>;
  helmRepos: Set<string>;
  crdGroups: Set<string>;
  /** `<namespace>/<name>` */
  secrets: Set<string>;
  deployments: Map<string, Deployment>;
  services: Set<string>;
  /** `<Kind> <namespace>/<name>` of applied custom resources */
  resources: Set<string>;
  builtImages: Set<string>;
  pushedImages: Set<string>;
  registryLogins: Set<string>;
  portForward: boolean;
  gatewayLogin: boolean;
}

/** An empty cluster, as `kubectl create namespace` finds it. */
export function freshCluster(): Cluster {
  return {
    namespaces: new Map([
      ["default", {}],
      ["kube-system", {}],
    ]),
    helmRepos: new Set(),
    crdGroups: new Set(),
    secrets: new Set(),
    deployments: new Map(),
    services: new Set(),
    resources: new Set(),
    builtImages: new Set(),
    pushedImages: new Set(),
    registryLogins: new Set(),
    portForward: false,
    gatewayLogin: false,
  };
}

/** The stack.yml functions faas-cli deploys: their names and the secrets each mounts. */
export type StackSecrets = Array<{ name: string; secrets: string[] }>;

/** The password the kubectl stand-in hands out for basic-auth (test/fixtures/install-guide/stand-in.sh). */
export const GATEWAY_PASSWORD = "guide-password";

/**
 * Replays the calls on the cluster, in the order they started, and returns every problem as `#n <command>: <why>`.
 * `readRepoFile` reads a file the guide applies by path.
 */
export async function replay(
  calls: Call[],
  cluster: Cluster,
  stack: StackSecrets,
  readRepoFile: (path: string) => Promise<string>,
): Promise<string[]> {
  const problems: string[] = [];
  for (const call of calls) {
    const say = (why: string) => problems.push(`#${call.n} ${[call.name, ...call.args].join(" ")}: ${why}`);
    if (call.name === "kubectl") await kubectl(call, cluster, say, readRepoFile);
    else if (call.name === "helm") await helm(call.args, cluster, say);
    else if (call.name === "faas-cli") faasCli(call, cluster, stack, say);
    else if (call.name === "docker") docker(call.args, cluster, say);
    else if (call.name === "curl") {
      if (call.args.some((a) => a.startsWith("http://127.0.0.1:8080/")) && !cluster.portForward)
        say("nothing listens on 127.0.0.1:8080 yet (kubectl port-forward)");
    } else if (call.name !== "git") say("a command the model does not know");
  }
  return problems;
}

/** kubectl's namespace flag wherever it stands, and the arguments without it. */
function namespaced(args: string[]): { ns: string | undefined; rest: string[] } {
  const rest: string[] = [];
  let ns: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "-n" || arg === "--namespace") ns = args[++i];
    else if (arg.startsWith("--namespace=")) ns = arg.slice("--namespace=".length);
    else rest.push(arg);
  }
  return { ns, rest };
}

async function kubectl(
  call: Call,
  cluster: Cluster,
  say: (why: string) => void,
  readRepoFile: (path: string) => Promise<string>,
): Promise<void> {
  const { ns: given, rest } = namespaced(call.args);
  const ns = given ?? "default";
  const [verb, what, name] = rest;
  const nsExists = () => cluster.namespaces.has(ns) || (say(`namespace ${ns} does not exist yet`), false);
  const deployment = (ref: string | undefined) => {
    const found = ref?.startsWith("deploy/") || ref?.startsWith("deployment/") ? ref.split("/")[1]! : undefined;
    const d = found === undefined ? undefined : cluster.deployments.get(`${ns}/${found}`);
    if (!d) say(`no Deployment ${ns}/${found ?? ref} yet`);
    return d;
  };
  const container = (d: Deployment | undefined, c: string | undefined) => {
    if (d && c !== undefined && !d.containers.has(c)) say(`the Deployment has no container ${c}`);
  };
  if (verb === "create" && what === "namespace") {
    if (cluster.namespaces.has(name!)) say(`namespace ${name} already exists: kubectl create refuses`);
    cluster.namespaces.set(name!, {});
  } else if (verb === "create" && what === "secret") {
    const secret = rest[3]!;
    if (!rest.includes("--dry-run=client") && nsExists()) cluster.secrets.add(`${ns}/${secret}`);
  } else if (verb === "label" && what === "namespace") {
    const labels = cluster.namespaces.get(name!);
    if (!labels) say(`namespace ${name} does not exist yet`);
    for (const pair of rest.slice(3).filter((a) => a.includes("="))) {
      const [key, value] = pair.split("=") as [string, string];
      if (labels?.[key] !== undefined && !rest.includes("--overwrite")) say(`label ${key} is set: add --overwrite`);
      if (labels) labels[key] = value;
    }
  } else if (verb === "get" && what === "secret") {
    if (!cluster.secrets.has(`${ns}/${name}`)) say(`no secret ${ns}/${name} yet`);
  } else if (verb === "get" && (what === "gateway" || what === "certificate")) {
    if (!cluster.resources.has(`${what === "gateway" ? "Gateway" : "Certificate"} ${ns}/${name}`))
      say(`no ${what} ${ns}/${name} yet`);
  } else if (verb === "get" && ["deploy", "deployment", "pods"].includes(what!)) {
    nsExists();
  } else if (verb === "apply") {
    for (const file of flagValues(rest, ["-f", "--filename"])) {
      const text = file === "-" ? (call.stdin ?? "") : await readRepoFile(file);
      await apply(text, given, cluster, say);
    }
  } else if (verb === "rollout" && (what === "status" || what === "restart")) {
    for (const ref of rest.slice(2).filter((a) => a.includes("/"))) deployment(ref);
  } else if (verb === "set" && what === "image") {
    const d = deployment(name);
    for (const pair of rest.slice(3).filter((a) => a.includes("="))) {
      const [c, image] = pair.split("=") as [string, string];
      container(d, c);
      if (!cluster.pushedImages.has(image)) say(`image ${image} was not pushed`);
    }
  } else if (verb === "logs" || verb === "exec") {
    container(deployment(what), flagValues(rest, ["-c", "--container"])[0]);
  } else if (verb === "wait") {
    for (const ref of rest.slice(1).filter((a) => a.includes("/") && !a.startsWith("-"))) {
      const [kind, target] = ref.split("/") as [string, string];
      if (kind === "deployment" || kind === "deploy") deployment(ref);
      else if (!cluster.resources.has(`${kind[0]!.toUpperCase()}${kind.slice(1)} ${ns}/${target}`))
        say(`no ${kind} ${ns}/${target} yet`);
    }
  } else if (verb === "patch" && what === "serviceaccount") {
    const patch = JSON.parse(flagValues(rest, ["-p", "--patch"])[0] ?? "{}") as {
      imagePullSecrets?: Array<{ name: string }>;
    };
    if (nsExists())
      for (const { name: secret } of patch.imagePullSecrets ?? [])
        if (!cluster.secrets.has(`${ns}/${secret}`)) say(`no secret ${ns}/${secret} to pull with yet`);
  } else if (verb === "port-forward") {
    if (!cluster.services.has(`${ns}/${what?.replace(/^svc\//, "")}`)) say(`no Service ${ns}/${what} yet`);
    cluster.portForward = true;
  } else say(`kubectl ${verb} ${what ?? ""}: a command the model does not know`);
}

/** `kubectl apply` of one manifest text: valid documents, into namespaces and CRDs that exist, whose pods can start. */
async function apply(
  text: string,
  ns: string | undefined,
  cluster: Cluster,
  say: (why: string) => void,
): Promise<void> {
  const docs = parseAllDocuments(text).map((d) => d.toJS() as Record<string, unknown> | null);
  if (docs.every((d) => d === null)) say("nothing to apply");
  for (const doc of docs) {
    if (doc === null) continue;
    for (const p of await manifestProblems(doc)) say(p);
    const kind = String(doc.kind);
    const meta = (doc.metadata ?? {}) as { name?: string; namespace?: string };
    const where = CLUSTER_SCOPED.has(kind) ? "" : (meta.namespace ?? ns ?? "default");
    if (where && !cluster.namespaces.has(where)) say(`${kind} ${meta.name}: namespace ${where} does not exist yet`);
    const group = String(doc.apiVersion).includes("/") ? String(doc.apiVersion).split("/")[0]! : "";
    if (!BUILT_IN_GROUPS.has(group) && !cluster.crdGroups.has(group))
      say(`${kind} ${meta.name}: no CRD for ${group} is installed yet`);
    cluster.resources.add(`${kind} ${where}/${meta.name}`);
    if (kind === "Secret") cluster.secrets.add(`${where}/${meta.name}`);
    if (kind === "Service") cluster.services.add(`${where}/${meta.name}`);
    if (kind === "HTTPRoute")
      for (const why of backendProblems(doc, where, cluster)) say(`HTTPRoute ${meta.name}: ${why}`);
    if (kind === "Deployment") {
      const pod = (doc as DeploymentDoc).spec?.template;
      for (const why of podProblems(pod, where, cluster)) say(`Deployment ${meta.name}: ${why}`);
      const containers = new Set((pod?.spec?.containers ?? []).map((c) => c.name));
      cluster.deployments.set(`${where}/${meta.name}`, { containers });
    }
  }
}

interface HTTPRouteDoc {
  spec?: { rules?: Array<{ backendRefs?: Array<{ name: string; namespace?: string; kind?: string }> }> };
}

/**
 * A route's backends that are not there yet: Gateway API answers 500 for a rule whose Service does not exist, so an
 * install that routes before it deploys the backend serves errors in between (e.g. the edge route before the router).
 */
function backendProblems(route: HTTPRouteDoc, ns: string, cluster: Cluster): string[] {
  return (route.spec?.rules ?? [])
    .flatMap((rule) => rule.backendRefs ?? [])
    .filter((ref) => (ref.kind ?? "Service") === "Service")
    .map((ref) => `${ref.namespace ?? ns}/${ref.name}`)
    .filter((service) => !cluster.services.has(service))
    .map((service) => `backend Service ${service} does not exist yet (the route answers 500 until it does)`);
}

interface DeploymentDoc {
  spec?: {
    template?: {
      metadata?: { annotations?: Record<string, string> };
      spec?: {
        containers?: Array<{ name: string; securityContext?: { seccompProfile?: { type?: string } } }>;
        volumes?: Array<{ secret?: { secretName?: string; optional?: boolean } }>;
      };
    };
  };
}

/**
 * Why the pods of a Deployment would not start: a secret volume whose secret does not exist yet (the pod waits), or
 * an unconfined seccomp or AppArmor profile in a namespace not labelled privileged (Pod Security's baseline level,
 * which many clusters enforce, refuses both).
 */
function podProblems(pod: NonNullable<DeploymentDoc["spec"]>["template"], ns: string, cluster: Cluster): string[] {
  const problems: string[] = [];
  for (const v of pod?.spec?.volumes ?? []) {
    const secret = v.secret?.secretName;
    if (secret && !v.secret?.optional && !cluster.secrets.has(`${ns}/${secret}`))
      problems.push(`its pods wait for secret ${ns}/${secret}, which does not exist yet`);
  }
  const unconfined =
    (pod?.spec?.containers ?? []).some((c) => c.securityContext?.seccompProfile?.type === "Unconfined") ||
    Object.entries(pod?.metadata?.annotations ?? {}).some(
      ([k, v]) => k.startsWith("container.apparmor.security.beta.kubernetes.io/") && v === "unconfined",
    );
  const level = cluster.namespaces.get(ns)?.["pod-security.kubernetes.io/enforce"];
  if (unconfined && level !== "privileged")
    problems.push(
      `unconfined profiles need namespace ${ns} at Pod Security level privileged (it is ${level ?? "unset"})`,
    );
  return problems;
}

async function helm(args: string[], cluster: Cluster, say: (why: string) => void): Promise<void> {
  if (args[0] === "repo" && args[1] === "add") {
    cluster.helmRepos.add(args[2]!);
    return;
  }
  if (args[0] === "repo" && args[1] === "update") {
    if (cluster.helmRepos.size === 0) say("no repository added yet");
    return;
  }
  const [install] = helmInstalls([["helm", ...args]]);
  if (!install) return say("a helm command the model does not know");
  const { chart, version, namespace: ns = "default" } = install;
  const effects = CHARTS[chart];
  if (!effects) return say(`chart ${chart}: not one the model knows (add it to CHARTS with what it creates)`);
  if (!chart.startsWith("oci://") && !cluster.helmRepos.has(chart.split("/")[0]!))
    say(`helm repo ${chart.split("/")[0]} was not added`);
  if (version === undefined) say("no --version: the chart is not pinned");
  if (args.includes("--create-namespace")) {
    if (!cluster.namespaces.has(ns)) cluster.namespaces.set(ns, {});
  } else if (!cluster.namespaces.has(ns)) say(`namespace ${ns} does not exist yet`);
  const sets = new Map(install.sets);
  if (sets.size > 0 && effects.values === undefined) say("--set on a chart whose values are not vendored");
  if (sets.size > 0 && effects.values !== undefined && version !== undefined) {
    const values = await chartValues(effects.values, version);
    for (const [key, value] of sets) {
      const problem = unknownValueKey(values, key);
      if (problem) say(problem);
      if (value === "") say(`${key} is set to nothing`);
    }
  }
  for (const secret of effects.needsSecrets ?? [])
    if (!cluster.secrets.has(`${ns}/${secret}`))
      say(`its pods wait for secret ${ns}/${secret}, which does not exist yet`);
  for (const needed of effects.needs(sets))
    if (!cluster.namespaces.has(needed)) say(`namespace ${needed} does not exist yet`);
  for (const group of effects.crdGroups(sets)) cluster.crdGroups.add(group);
  for (const d of effects.deployments) cluster.deployments.set(`${ns}/${d}`, { containers: new Set([d]) });
  for (const s of effects.services) cluster.services.add(`${ns}/${s}`);
  for (const s of effects.secrets(sets)) cluster.secrets.add(`${ns}/${s}`);
}

function faasCli(call: Call, cluster: Cluster, stack: StackSecrets, say: (why: string) => void): void {
  const [verb] = call.args;
  if (verb === "login") {
    if (!cluster.portForward) say("the gateway is not reachable yet (kubectl port-forward)");
    if (call.stdin?.trim() !== GATEWAY_PASSWORD) say("the password on stdin is not the gateway's");
    cluster.gatewayLogin = true;
  } else if (verb === "up" || verb === "list") {
    if (!cluster.gatewayLogin) say("faas-cli is not logged in to the gateway yet");
    if (verb === "up" && cluster.registryLogins.size === 0) say("docker is not logged in to push the images");
    if (verb === "up")
      for (const fn of stack) {
        for (const secret of fn.secrets)
          if (!cluster.secrets.has(`openfaas-fn/${secret}`)) say(`${fn.name} mounts secret ${secret}, not created yet`);
        cluster.deployments.set(`openfaas-fn/${fn.name}`, { containers: new Set([fn.name]) });
      }
  } else say("a faas-cli command the model does not know");
}

function docker(args: string[], cluster: Cluster, say: (why: string) => void): void {
  const [verb] = args;
  if (verb === "login") cluster.registryLogins.add(args[1] ?? "docker.io");
  else if (verb === "build") for (const tag of flagValues(args, ["-t", "--tag"])) cluster.builtImages.add(tag);
  else if (verb === "push") {
    const image = args[1] ?? "";
    if (!cluster.builtImages.has(image)) say(`${image} was not built`);
    if (!cluster.registryLogins.has(image.split("/")[0]!)) say(`not logged in to ${image.split("/")[0]}`);
    cluster.pushedImages.add(image);
  } else say("a docker command the model does not know");
}
