import { spawn, spawnSync } from "node:child_process";
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import bcrypt from "bcryptjs";
import type { IDeployment } from "kubernetes-models/apps/v1/Deployment";
import type { IContainer } from "kubernetes-models/v1/Container";
import type { IPodSpec } from "kubernetes-models/v1/PodSpec";
import type { INetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import { parse, parseAllDocuments } from "yaml";
import { checkCustomResource, isCustomResource } from "../support/crd-schema.js";
import { unknownFields } from "../support/k8s-strict.js";
import {
  egressAllowed,
  egressPoliciesOf,
  ingressAllowed,
  type Destination,
  type Pod,
} from "../support/network-policy.js";

// Issue #6: the deployment files are checked, not sketched. Kubernetes schemas come from kubernetes-models, whose
// validators are compiled from the Kubernetes OpenAPI document and ship inside the package (no network). They accept
// unknown fields, which the API server drops without a word, so test/support/k8s-strict.ts checks field names too.
const ROOT = join(import.meta.dirname, "..", "..");
const YAML_DIR = join(ROOT, "yaml");

type Model = new (data: unknown) => { validate(): void };

/** The kubernetes-models class for a kind/apiVersion (`apps/v1` → `kubernetes-models/apps/v1/Deployment`). */
async function modelFor(apiVersion: unknown, kind: unknown): Promise<Model> {
  if (typeof apiVersion !== "string" || typeof kind !== "string" || !/^[A-Za-z0-9./]+$/.test(apiVersion + kind)) {
    throw new Error(`document lacks a valid apiVersion/kind (got ${String(apiVersion)} ${String(kind)})`);
  }
  let module: Record<string, unknown>;
  try {
    module = (await import(`kubernetes-models/${apiVersion}/${kind}`)) as Record<string, unknown>;
  } catch {
    throw new Error(`unknown kind ${kind} in ${apiVersion}: no Kubernetes schema for it`);
  }
  const model = module[kind];
  if (typeof model !== "function") throw new Error(`unknown kind ${kind} in ${apiVersion}: no Kubernetes schema`);
  return model as Model;
}

async function validate(doc: Record<string, unknown>): Promise<void> {
  // Gateway API and cert-manager kinds (yaml/gateway.yaml): their published CRD schemas, vendored (issue #11).
  if (isCustomResource(doc)) {
    const { invalid } = checkCustomResource(doc);
    if (invalid.length > 0) throw new Error(invalid.join("; "));
    return;
  }
  const Kind = await modelFor(doc.apiVersion, doc.kind);
  new Kind(doc).validate();
}

/** Keys no schema defines: kubernetes-models' declarations for built-in kinds, the vendored CRD schemas otherwise. */
const strictFields = (doc: Record<string, unknown>) =>
  isCustomResource(doc) ? checkCustomResource(doc).unknown : unknownFields(doc);

async function manifests(): Promise<[string, Record<string, unknown>][]> {
  const files = (await readdir(YAML_DIR)).filter((f) => f.endsWith(".yaml")).sort();
  const out: [string, Record<string, unknown>][] = [];
  for (const file of files) {
    for (const doc of parseAllDocuments(await readFile(join(YAML_DIR, file), "utf8"))) {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join("; ")}`);
      const value = doc.toJS() as Record<string, unknown> | null;
      if (value === null) continue; // an empty document between `---` separators
      const name = (value.metadata as { name?: string } | undefined)?.name ?? "?";
      out.push([`${file}: ${String(value.kind)} ${name}`, value]);
    }
  }
  return out;
}

describe("yaml/ manifests", () => {
  it("holds of-builder, registry and the network policies", async () => {
    const names = (await manifests()).map(([name]) => name);
    expect(names).toEqual(
      expect.arrayContaining([
        "of-builder.yaml: Deployment of-builder",
        "of-builder.yaml: Service of-builder",
        "registry.yaml: PersistentVolumeClaim registry-data",
        "network-policies.yaml: NetworkPolicy of-builder-only-from-buildshiprun",
        "gateway.yaml: Certificate wildcard",
        "gateway.yaml: Gateway public",
        "gateway.yaml: HTTPRoute functions",
        "gateway.yaml: HTTPRoute edge",
      ]),
    );
  });

  it("yaml/gateway.yaml routes gateway.<domain>/function/ to the gateway, every other name to the edge router", async () => {
    type Route = { spec: { hostnames: string[]; rules: Array<{ matches: unknown; backendRefs: unknown }> } };
    const functions = (await manifest("gateway.yaml: HTTPRoute functions")) as unknown as Route;
    const edge = (await manifest("gateway.yaml: HTTPRoute edge")) as unknown as Route;
    expect(functions.spec.hostnames).toEqual(["gateway.example.com"]);
    expect(functions.spec.rules.map((r) => [r.matches, r.backendRefs])).toEqual([
      [[{ path: { type: "PathPrefix", value: "/function/" } }], [{ name: "gateway", port: 8080 }]],
    ]);
    expect(edge.spec.hostnames).toEqual(["*.example.com"]);
    expect(edge.spec.rules.map((r) => [r.matches, r.backendRefs])).toEqual([
      [[{ path: { type: "PathPrefix", value: "/" } }], [{ name: "edge-router", port: 8080 }]],
    ]);
    // The router's Service and port, as yaml/edge-router.yaml defines them.
    const service = (await manifest("edge-router.yaml: Service edge-router")) as {
      spec: { ports: Array<{ port: number }> };
    };
    expect(service.spec.ports.map((p) => p.port)).toEqual([8080]);
  });

  it("every document → valid against the Kubernetes schema of its kind", async () => {
    const failures: string[] = [];
    for (const [name, doc] of await manifests()) {
      await validate(doc).catch((error: Error) => failures.push(`${name}: ${error.message}`));
    }
    expect(failures).toEqual([]);
  });

  it.each([
    [
      "a wrong type",
      { apiVersion: "v1", kind: "Service", metadata: { name: "x" }, spec: { ports: [{ port: "http" }] } },
      /port must be integer/,
    ],
    ["an unknown kind", { apiVersion: "v1", kind: "Servise", metadata: { name: "x" } }, /unknown kind Servise/],
    ["an unknown apiVersion", { apiVersion: "apps/v9", kind: "Deployment", metadata: { name: "x" } }, /unknown kind/],
  ])("a document with %s → rejected", async (_case, doc, message) => {
    await expect(validate(doc)).rejects.toThrow(message);
  });

  // The custom resources of yaml/gateway.yaml go through their vendored CRD schemas (test/support/crd-schema.ts).
  it.each<[string, string, Array<string | number>, unknown, RegExp]>([
    [
      "a listener port given by name",
      "Gateway public",
      ["spec", "listeners", 0, "port"],
      "https",
      /spec\.listeners\[0\]\.port must be integer/,
    ],
    [
      "a path match type Gateway API lacks",
      "HTTPRoute functions",
      ["spec", "rules", 0, "matches", 0, "path", "type"],
      "Prefix",
      /spec\.rules\[0\]\.matches\[0\]\.path\.type must be equal to one of the allowed values/,
    ],
    [
      "no issuer",
      "Certificate wildcard",
      ["spec", "issuerRef"],
      undefined,
      /spec must have required property 'issuerRef'/,
    ],
    [
      "a TLS mode that does not exist",
      "Gateway public",
      ["spec", "listeners", 0, "tls", "mode"],
      "terminate",
      /tls\.mode must be equal to one of the allowed values/,
    ],
  ])("yaml/gateway.yaml's %s (%s) → rejected", async (_case, name, path, value, message) => {
    const doc = await manifest(`gateway.yaml: ${name}`);
    // Walk to the parent of the last key, then set (or, for undefined, delete) it.
    const parent = path
      .slice(0, -1)
      .reduce<Record<string | number, unknown>>((at, key) => at[key] as Record<string | number, unknown>, doc);
    if (value === undefined) delete parent[path.at(-1)!];
    else parent[path.at(-1)!] = value;
    await expect(validate(doc)).rejects.toThrow(message);
  });

  it("a custom resource kind with no vendored schema → no pass: rejected as unknown", async () => {
    await expect(
      validate({ apiVersion: "gateway.networking.k8s.io/v1", kind: "TCPRoute", metadata: { name: "x" } }),
    ).rejects.toThrow(/unknown kind TCPRoute/);
  });
});

describe("yaml/ manifests, field names", () => {
  /** A fresh copy of yaml/of-builder.yaml's Deployment, to break in one place. */
  async function ofBuilder(): Promise<IDeployment> {
    const found = (await manifests()).find(([name]) => name === "of-builder.yaml: Deployment of-builder");
    if (!found) throw new Error("yaml/of-builder.yaml has no Deployment of-builder");
    return structuredClone(found[1]) as unknown as IDeployment;
  }
  const podSpec = (d: IDeployment) => d.spec!.template.spec!;
  const containerAt = (d: IDeployment) => podSpec(d).containers.findIndex((c) => c.name === "of-builder");
  const container = (d: IDeployment) => podSpec(d).containers[containerAt(d)] as unknown as Record<string, unknown>;
  /** Moves a field to a misspelled key, as a typo in the YAML would. */
  const rename = (object: object, from: string, to: string) => {
    const fields = object as Record<string, unknown>;
    if (!(from in fields)) throw new Error(`no ${from} to misspell`);
    fields[to] = fields[from];
    delete fields[from];
  };

  it("every document → no field that its Kubernetes schema lacks", async () => {
    const failures: string[] = [];
    for (const [name, doc] of await manifests()) failures.push(...strictFields(doc).map((f) => `${name}: ${f}`));
    expect(failures).toEqual([]);
  });

  // Guards the checker itself: a type it wrongly took for free-form would wave every typo in it through. A map field
  // new to yaml/ (nodeSelector, say) fails here until it joins isMap.
  it("every object in them is checked: a key planted in it is reported, maps aside", async () => {
    const isMap = (kind: unknown, path: string) =>
      /(^|\.)(labels|annotations|matchLabels|data|requests|limits)$/.test(path) ||
      (kind === "Service" && path === "spec.selector");
    const missed: string[] = [];
    let planted = 0;
    for (const [name, doc] of await manifests()) {
      const plant = (value: unknown, path: string): void => {
        if (Array.isArray(value)) return value.forEach((v, i) => plant(v, `${path}[${i}]`));
        if (value === null || typeof value !== "object") return;
        const object = value as Record<string, unknown>;
        for (const [key, v] of Object.entries(object)) plant(v, path ? `${path}.${key}` : key);
        object.plantedTypo = true;
        const found = strictFields(doc);
        delete object.plantedTypo;
        const expected = isMap(doc.kind, path) ? [] : [`${path ? `${path}.` : ""}plantedTypo`];
        if (JSON.stringify(found.map((f) => f.split(" ")[0])) !== JSON.stringify(expected)) {
          missed.push(
            `${name}: at ${path || "the top"}, expected ${JSON.stringify(expected)}, got ${JSON.stringify(found)}`,
          );
        }
        planted++;
      };
      plant(doc, "");
    }
    expect(missed).toEqual([]);
    expect(planted).toBeGreaterThan(100);
  });

  it.each<[string, (d: IDeployment) => string]>([
    [
      "a misspelled container field",
      (d) => {
        rename(container(d), "readinessProbe", "readinesProbe");
        return `spec.template.spec.containers[${containerAt(d)}].readinesProbe is not a field of io.k8s.api.core.v1.Container`;
      },
    ],
    [
      "an unknown container field",
      (d) => {
        container(d).imagePullPolice = "Always";
        return `spec.template.spec.containers[${containerAt(d)}].imagePullPolice is not a field of io.k8s.api.core.v1.Container`;
      },
    ],
    [
      "a misspelled securityContext field",
      (d) => {
        rename(podSpec(d).containers[containerAt(d)]!.securityContext!, "runAsNonRoot", "runAsNonroot");
        return `spec.template.spec.containers[${containerAt(d)}].securityContext.runAsNonroot is not a field of io.k8s.api.core.v1.SecurityContext`;
      },
    ],
    [
      "an unknown field in the Deployment's spec",
      (d) => {
        rename(d.spec!, "replicas", "replica");
        return "spec.replica is not a field of io.k8s.api.apps.v1.DeploymentSpec";
      },
    ],
    [
      "an unknown field in a volume's configMap",
      (d) => {
        const at = podSpec(d).volumes!.findIndex((v) => v.configMap);
        (podSpec(d).volumes![at]!.configMap as Record<string, unknown>).defaultMod = 0o444;
        return `spec.template.spec.volumes[${at}].configMap.defaultMod is not a field of io.k8s.api.core.v1.ConfigMapVolumeSource`;
      },
    ],
  ])("of-builder's Deployment with %s → that one path reported", async (_case, breakIt) => {
    const doc = await ofBuilder();
    const expected = breakIt(doc);
    const broken = doc as unknown as Record<string, unknown>;
    expect(unknownFields(broken)).toEqual([expected]);
    // The gap this check closes: kubernetes-models alone accepts the same document.
    await expect(validate(broken)).resolves.toBeUndefined();
  });

  it("labels, annotations, selectors, resource names and ConfigMap data → any key accepted", async () => {
    const doc = await ofBuilder();
    const anyKeys = { "example.com/team": "builds", "a.b.c_d-e": "x", UPPER: "y" };
    Object.assign(doc.metadata!.labels!, anyKeys);
    doc.metadata!.annotations = anyKeys;
    Object.assign(doc.spec!.template.metadata!.annotations!, anyKeys);
    podSpec(doc).nodeSelector = anyKeys;
    podSpec(doc).containers[containerAt(doc)]!.resources!.limits!["example.com/fpga"] = 1;
    const configMap = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "x", labels: anyKeys }, data: anyKeys };
    expect(unknownFields(doc as unknown as Record<string, unknown>)).toEqual([]);
    expect(unknownFields(configMap)).toEqual([]);
  });

  it("an unknown kind → rejected, not waved through", () => {
    expect(() => unknownFields({ apiVersion: "v1", kind: "Servise" })).toThrow(/unknown kind Servise/);
  });
});

describe("docker-compose.yml", () => {
  it("docker-compose config → exit 0", () => {
    const run = spawnSync("docker-compose", ["-f", "docker-compose.yml", "config", "-q"], {
      cwd: ROOT,
      encoding: "utf8",
    });
    if (run.error) {
      throw new Error(`docker-compose is not installed (${run.error.message}): run scripts/install-system-deps.sh`);
    }
    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: "" });
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Issue #10: what the manifests promise about the registry's password, where credentials live, buildkitd's reach
// and the network. docs/security.md states the model these tests hold the files to.

/** The document `<file>: <Kind> <name>` of yaml/. */
async function manifest(name: string): Promise<Record<string, unknown>> {
  const found = (await manifests()).find(([n]) => n === name);
  if (!found) throw new Error(`yaml/ has no ${name}`);
  return structuredClone(found[1]);
}
const podSpecOf = (doc: Record<string, unknown>) => (doc as unknown as IDeployment).spec!.template.spec!;
const containerOf = (spec: IPodSpec, name: string) => {
  const found = spec.containers.find((c) => c.name === name);
  if (!found) throw new Error(`no container ${name}`);
  return found;
};
const envOf = (container: IContainer) => Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value]));

/** The secrets a container can read: through mounted volumes (secret or projected), env and envFrom. */
function secretsOf(spec: IPodSpec, container: IContainer): string[] {
  const byVolume = new Map<string, string[]>();
  for (const v of spec.volumes ?? []) {
    const projected = (v.projected?.sources ?? []).flatMap((s) => (s.secret?.name ? [s.secret.name] : []));
    byVolume.set(v.name, [...(v.secret?.secretName ? [v.secret.secretName] : []), ...projected]);
  }
  return [
    ...(container.volumeMounts ?? []).flatMap((m) => byVolume.get(m.name) ?? []),
    ...(container.env ?? []).flatMap((e) => (e.valueFrom?.secretKeyRef ? [e.valueFrom.secretKeyRef.name!] : [])),
    ...(container.envFrom ?? []).flatMap((e) => (e.secretRef ? [e.secretRef.name!] : [])),
  ].sort();
}

/** Every container of every pod template in yaml/: `<manifest> / <container>` → the secrets it can read. */
async function secretsByContainer(): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const [name, doc] of await manifests()) {
    const spec = (doc as { spec?: { template?: { spec?: IPodSpec } } }).spec?.template?.spec;
    for (const c of [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])])
      out[`${name} / ${c.name}`] = secretsOf(spec!, c);
  }
  return out;
}

type ComposeService = {
  environment?: Record<string, string>;
  secrets?: Array<string | { source: string; target?: string }>;
  volumes?: string[];
  ports?: string[];
  command?: string[];
  user?: string;
};
const compose = async () =>
  parse(await readFile(join(ROOT, "docker-compose.yml"), "utf8")) as {
    services: Record<string, ComposeService>;
    secrets: Record<string, { file: string }>;
    volumes: Record<string, unknown>;
  };
const composeSecrets = (service: ComposeService) =>
  (service.secrets ?? []).map((s) => (typeof s === "string" ? { source: s, target: s } : { target: s.source, ...s }));

/** The values following each `--addr` in an argument list. */
const addrs = (args: string[] = []) => args.flatMap((a, i) => (a === "--addr" ? [args[i + 1]!] : []));

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

describe("the registry demands a password (issue #10)", () => {
  /** yaml/registry.yaml's container and where its htpasswd file comes from. */
  async function registry() {
    const spec = podSpecOf(await manifest("registry.yaml: Deployment registry"));
    const container = containerOf(spec, "registry");
    const env = envOf(container);
    const path = env.REGISTRY_AUTH_HTPASSWD_PATH ?? "";
    const mount = (container.volumeMounts ?? []).find((m) => path.startsWith(`${m.mountPath}/`));
    const volume = spec.volumes?.find((v) => v.name === mount?.name);
    return { container, env, path, mount, volume };
  }

  it("yaml/registry.yaml → htpasswd from the registry-htpasswd secret, probes on / (where /v2/ now answers 401)", async () => {
    const { container, env, path, mount, volume } = await registry();
    expect(env.REGISTRY_AUTH).toBe("htpasswd");
    expect(env.REGISTRY_AUTH_HTPASSWD_REALM).toBeTruthy();
    expect(mount?.readOnly).toBe(true);
    expect(volume?.secret?.secretName).toBe("registry-htpasswd");
    expect(volume?.secret?.items).toEqual([{ key: "htpasswd", path: basename(path) }]);
    expect(container.readinessProbe?.httpGet?.path).toBe("/");
    expect(container.livenessProbe?.httpGet?.path).toBe("/");
  });

  it("docker-compose.yml's registry → the same settings, its htpasswd from the registry-htpasswd file secret", async () => {
    const { services, secrets } = await compose();
    const { env } = await registry();
    const environment = services.registry!.environment!;
    expect(environment.REGISTRY_AUTH).toBe(env.REGISTRY_AUTH);
    expect(environment.REGISTRY_AUTH_HTPASSWD_REALM).toBe(env.REGISTRY_AUTH_HTPASSWD_REALM);
    expect(composeSecrets(services.registry!)).toEqual([{ source: "registry-htpasswd", target: "registry-htpasswd" }]);
    expect(environment.REGISTRY_AUTH_HTPASSWD_PATH).toBe("/run/secrets/registry-htpasswd");
    expect(secrets["registry-htpasswd"]?.file).toMatch(/\/registry-htpasswd$/);
  });

  // The same registry (distribution 2.8, Debian's docker-registry) run with the manifest's own environment: only the
  // listen address (127.0.0.1 here) and the htpasswd file's folder differ, so a misspelled or ignored setting shows.
  it("the registry run with yaml/registry.yaml's environment → / 200, /v2/ and a push 401 without the password, 200/202 with it", async () => {
    if (!(await readFile("/usr/bin/docker-registry").catch(() => undefined)))
      throw new Error("docker-registry is not installed: run scripts/install-system-deps.sh");
    const { env, path } = await registry();
    const dir = await mkdtemp(join(tmpdir(), "registry-auth-"));
    const port = await freePort();
    await mkdir(join(dir, "auth"));
    await writeFile(join(dir, "auth", basename(path)), `ofc-push:${bcrypt.hashSync("s3cret-push", 4)}\n\n`);
    await writeFile(join(dir, "config.yml"), `version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: ${dir}/data\n`);
    const child = spawn("/usr/bin/docker-registry", ["serve", join(dir, "config.yml")], {
      env: {
        ...(env as Record<string, string>),
        REGISTRY_HTTP_ADDR: `127.0.0.1:${port}`,
        REGISTRY_AUTH_HTPASSWD_PATH: join(dir, "auth", basename(path)),
        REGISTRY_LOG_LEVEL: "error",
      },
      stdio: "ignore",
    });
    try {
      const url = `http://127.0.0.1:${port}`;
      const password = `Basic ${Buffer.from("ofc-push:s3cret-push").toString("base64")}`;
      const wrong = `Basic ${Buffer.from("ofc-push:guess").toString("base64")}`;
      let alive = 0;
      for (let i = 0; i < 100 && alive !== 200; i++) {
        alive = await fetch(`${url}/`).then(
          (r) => r.status,
          () => 0,
        );
        if (alive !== 200) await sleep(100);
      }
      const status = async (path: string, init: RequestInit = {}) => (await fetch(`${url}${path}`, init)).status;
      const push = (authorization?: string) =>
        status("/v2/alice/api/blobs/uploads/", { method: "POST", headers: authorization ? { authorization } : {} });
      expect({
        probe: alive,
        anonymousBase: await status("/v2/"),
        anonymousCatalog: await status("/v2/_catalog"),
        anonymousPush: await push(),
        wrongPasswordPush: await push(wrong),
        base: await status("/v2/", { headers: { authorization: password } }),
        push: await push(password),
      }).toEqual({
        probe: 200,
        anonymousBase: 401,
        anonymousCatalog: 401,
        anonymousPush: 401,
        wrongPasswordPush: 401,
        base: 200,
        push: 202,
      });
    } finally {
      child.kill();
      await rm(dir, { recursive: true, force: true });
    }
  }, 30_000);
});

describe("registry credentials live only where the build client runs (issue #10)", () => {
  it("yaml/: registry-secret → readable by of-builder's container only, mounted where DOCKER_CONFIG points", async () => {
    const holders = Object.entries(await secretsByContainer())
      .filter(([, secrets]) => secrets.includes("registry-secret"))
      .map(([container]) => container);
    expect(holders).toEqual(["of-builder.yaml: Deployment of-builder / of-builder"]);
    const spec = podSpecOf(await manifest("of-builder.yaml: Deployment of-builder"));
    const ofBuilder = containerOf(spec, "of-builder");
    const mount = ofBuilder.volumeMounts?.find(
      (m) => spec.volumes?.find((v) => v.name === m.name)?.secret?.secretName === "registry-secret",
    );
    expect(mount?.mountPath).toBe(envOf(ofBuilder).DOCKER_CONFIG);
  });

  it("yaml/: buildkitd's container → no secret at all, and its pod no host path", async () => {
    const spec = podSpecOf(await manifest("of-builder.yaml: Deployment of-builder"));
    const buildkitd = containerOf(spec, "buildkitd");
    expect(secretsOf(spec, buildkitd)).toEqual([]);
    const kinds = (buildkitd.volumeMounts ?? []).map((m) => {
      const v = spec.volumes!.find((volume) => volume.name === m.name)!;
      return `${m.name}: ${Object.keys(v)
        .filter((k) => k !== "name")
        .join(",")}`;
    });
    expect(kinds.sort()).toEqual(["buildkitd-config: configMap", "buildkitd-socket: emptyDir", "buildkitd: emptyDir"]);
    expect((spec.volumes ?? []).filter((v) => v.hostPath)).toEqual([]);
    expect(spec.shareProcessNamespace).not.toBe(true);
    expect(spec.automountServiceAccountToken).toBe(false);
  });

  it("docker-compose.yml: the registry's credentials → of-builder only; buildkitd gets no secret and no bind mount but its read-only config", async () => {
    const { services } = await compose();
    const holders = Object.entries(services)
      .filter(([, s]) => composeSecrets(s).some((secret) => secret.source === "registry-config"))
      .map(([name]) => name);
    expect(holders).toEqual(["of-builder"]);
    expect(services.buildkitd!.secrets).toBeUndefined();
    const binds = (services.buildkitd!.volumes ?? []).filter((v) => v.startsWith(".") || v.startsWith("/"));
    expect(binds).toEqual(["./yaml/buildkitd.toml:/etc/buildkit/buildkitd.toml:ro"]);
  });
});

describe("builds cannot reach buildkitd's API (issue #10)", () => {
  it("yaml/: buildkitd listens on a unix socket only, in an emptyDir that only it and of-builder mount", async () => {
    const spec = podSpecOf(await manifest("of-builder.yaml: Deployment of-builder"));
    const buildkitd = containerOf(spec, "buildkitd");
    const [addr, ...more] = addrs(buildkitd.args);
    expect(more).toEqual([]);
    expect(addr).toMatch(/^unix:\/\/\//);
    expect(buildkitd.ports ?? []).toEqual([]);
    const ofBuilder = containerOf(spec, "of-builder");
    expect(envOf(ofBuilder).BUILDKIT_HOST).toBe(addr);
    const socketDir = dirname(addr!.slice("unix://".length));
    const sharing = spec.containers.filter((c) => c.volumeMounts?.some((m) => m.mountPath === socketDir));
    expect(sharing.map((c) => c.name).sort()).toEqual(["buildkitd", "of-builder"]);
    const volume = sharing[0]!.volumeMounts!.find((m) => m.mountPath === socketDir)!.name;
    expect(spec.volumes?.find((v) => v.name === volume)?.emptyDir).toEqual({});
    for (const probe of [buildkitd.readinessProbe, buildkitd.livenessProbe])
      expect(probe?.exec?.command).toContain(addr);
  });

  it("docker-compose.yml: buildkitd listens on a unix socket in a volume shared with of-builder, publishes nothing", async () => {
    const { services } = await compose();
    const [addr, ...more] = addrs(services.buildkitd!.command);
    expect(more).toEqual([]);
    expect(addr).toMatch(/^unix:\/\/\//);
    expect(services.buildkitd!.ports).toBeUndefined();
    expect(services["of-builder"]!.environment!.BUILDKIT_HOST).toBe(addr);
    const socket = addr!.slice("unix://".length);
    // The named volume whose mount point holds the socket, in each service.
    const volumeAt = (s: ComposeService) =>
      (s.volumes ?? []).find((v) => socket.startsWith(`${v.split(":")[1]}/`) && !v.startsWith("."))?.split(":")[0];
    expect(volumeAt(services.buildkitd!)).toBeDefined();
    expect(volumeAt(services["of-builder"]!)).toBe(volumeAt(services.buildkitd!));
  });

  it("buildkitd's configs → no insecure entitlements, no credentials", async () => {
    const config = (await manifest("of-builder.yaml: ConfigMap buildkitd-config")) as { data: Record<string, string> };
    const texts = [config.data["buildkitd.toml"]!, await readFile(join(ROOT, "yaml", "buildkitd.toml"), "utf8")];
    for (const text of texts) {
      const settings = text.split("\n").filter((l) => !l.trim().startsWith("#"));
      expect(settings.filter((l) => /insecure-entitlements|password|token|auth/i.test(l))).toEqual([]);
    }
    const spec = podSpecOf(await manifest("of-builder.yaml: Deployment of-builder"));
    const { services } = await compose();
    for (const args of [containerOf(spec, "buildkitd").args ?? [], services.buildkitd!.command ?? []])
      expect(args.filter((a) => a.includes("insecure-entitlement"))).toEqual([]);
  });
});

describe("yaml/network-policies.yaml (issue #10)", () => {
  let policies: INetworkPolicy[];
  beforeAll(async () => {
    policies = (await manifests())
      .filter(([name]) => name.startsWith("network-policies.yaml: "))
      .map(([, doc]) => doc as unknown as INetworkPolicy);
  });

  // Pods as the OpenFaaS chart, faas-netes and this project label them; addresses in typical cluster ranges.
  const owner = { "com.openfaas.cloud.git-owner": "alice", "com.openfaas.cloud.git-owner-id": "1001" };
  const pods = {
    userFunction: { namespace: "openfaas-fn", labels: { faas_function: "alice--api", ...owner }, ip: "10.42.1.20" },
    otherTenant: {
      namespace: "openfaas-fn",
      labels: { faas_function: "bob--api", "com.openfaas.cloud.git-owner-id": "1002" },
      ip: "10.42.1.30",
    },
    handDeployed: { namespace: "openfaas-fn", labels: { faas_function: "figlet" }, ip: "10.42.1.40" },
    systemFunction: {
      namespace: "openfaas-fn",
      labels: { faas_function: "buildshiprun", role: "openfaas-system" },
      ip: "10.42.1.50",
    },
    builder: { namespace: "openfaas", labels: { app: "of-builder" }, ip: "10.42.2.5" },
    gateway: { namespace: "openfaas", labels: { app: "gateway" }, ip: "10.42.2.10" },
    nats: { namespace: "openfaas", labels: { app: "nats" }, ip: "10.42.2.11" },
    minio: { namespace: "openfaas", labels: { app: "minio" }, ip: "10.42.2.12" },
    registry: { namespace: "openfaas", labels: { app: "registry" }, ip: "10.42.2.13" },
    dns: { namespace: "kube-system", labels: { "k8s-app": "kube-dns" }, ip: "10.42.0.2" },
  } satisfies Record<string, Pod>;
  const to = (pod: Pod, port: number, protocol: Destination["protocol"] = "TCP"): Destination => ({
    pod,
    ip: pod.ip,
    port,
    protocol,
  });
  const outside = (ip: string, port: number): Destination => ({ ip, port });
  const selectedBy = (pod: Pod) => egressPoliciesOf(policies, pod).map((p) => p.metadata!.name);

  it("users' functions and hand-deployed ones → restricted by user-functions-egress; system functions → not", () => {
    expect({
      user: selectedBy(pods.userFunction),
      handDeployed: selectedBy(pods.handDeployed),
      system: selectedBy(pods.systemFunction),
      builder: selectedBy(pods.builder),
    }).toEqual({
      user: ["user-functions-egress"],
      handDeployed: ["user-functions-egress"],
      system: [],
      builder: ["builders-egress"],
    });
  });

  const reach: Array<[string, "allowed" | "denied", Destination]> = [
    ["the gateway's port (/function/; /system/ behind basic auth)", "allowed", to(pods.gateway, 8080)],
    ["the gateway pod's provider port (faas-netes)", "denied", to(pods.gateway, 8081)],
    ["the gateway pod's metrics port", "denied", to(pods.gateway, 8082)],
    ["NATS", "denied", to(pods.nats, 4222)],
    ["S3 (MinIO)", "denied", to(pods.minio, 9000)],
    ["of-builder", "denied", to(pods.builder, 8080)],
    ["the registry", "denied", to(pods.registry, 5000)],
    ["another tenant's function, directly", "denied", to(pods.otherTenant, 8080)],
    ["a system function, directly", "denied", to(pods.systemFunction, 8080)],
    ["DNS over UDP", "allowed", to(pods.dns, 53, "UDP")],
    ["DNS over TCP", "allowed", to(pods.dns, 53, "TCP")],
    ["the npm registry (internet)", "allowed", outside("104.16.3.35", 443)],
    ["an IPv6 internet address", "allowed", outside("2606:4700::6810:1", 443)],
    ["the cloud metadata service", "denied", outside("169.254.169.254", 80)],
    ["the AWS IPv6 metadata service", "denied", outside("fd00:ec2::254", 80)],
    ["a node's kubelet", "denied", outside("192.168.1.10", 10250)],
    ["the Kubernetes API's service address", "denied", outside("10.96.0.1", 443)],
  ];
  it.each(reach)("a user function → %s: %s", (_name, outcome, destination) => {
    expect(egressAllowed(policies, pods.userFunction, destination)).toBe(outcome === "allowed");
    expect(egressAllowed(policies, pods.handDeployed, destination)).toBe(outcome === "allowed");
  });

  const buildReach: Array<[string, "allowed" | "denied", Destination]> = [
    ["the registry's port (buildkitd pushes; the password keeps RUN steps out)", "allowed", to(pods.registry, 5000)],
    ["DNS", "allowed", to(pods.dns, 53, "UDP")],
    ["the npm registry and Docker Hub (internet)", "allowed", outside("104.16.3.35", 443)],
    ["the gateway", "denied", to(pods.gateway, 8080)],
    ["NATS", "denied", to(pods.nats, 4222)],
    ["S3 (MinIO)", "denied", to(pods.minio, 9000)],
    ["a user's function", "denied", to(pods.userFunction, 8080)],
    ["a system function", "denied", to(pods.systemFunction, 8080)],
    ["the cloud metadata service", "denied", outside("169.254.169.254", 80)],
  ];
  it.each(buildReach)("a build (the of-builder pod, RUN steps included) → %s: %s", (_n, outcome, destination) => {
    expect(egressAllowed(policies, pods.builder, destination)).toBe(outcome === "allowed");
  });

  it("egress from openfaas-fn to the openfaas namespace → the gateway's pods only, port 8080 only", () => {
    const policy = policies.find((p) => p.metadata?.name === "user-functions-egress")!;
    const toOpenfaas = (policy.spec?.egress ?? []).filter((rule) =>
      (rule.to ?? []).some(
        (peer) =>
          !peer.ipBlock && peer.namespaceSelector?.matchLabels?.["kubernetes.io/metadata.name"] !== "kube-system",
      ),
    );
    expect(toOpenfaas).toEqual([
      {
        to: [
          {
            namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "openfaas" } },
            podSelector: { matchLabels: { app: "gateway" } },
          },
        ],
        ports: [{ port: 8080, protocol: "TCP" }],
      },
    ]);
  });

  // The evaluator the tables above rely on, on policies made for the purpose.
  it("the evaluator: both selectors of a peer must match, a rule without ports allows all, except carves out, unselected pods are free", () => {
    const policy = (egress: NonNullable<INetworkPolicy["spec"]>["egress"]): INetworkPolicy[] => [
      {
        apiVersion: "networking.k8s.io/v1",
        kind: "NetworkPolicy",
        metadata: { name: "p", namespace: "a" },
        spec: { podSelector: { matchLabels: { x: "1" } }, policyTypes: ["Egress"], egress },
      },
    ];
    const from: Pod = { namespace: "a", labels: { x: "1" }, ip: "10.0.0.1" };
    const target: Pod = { namespace: "b", labels: { app: "t" }, ip: "10.0.0.2" };
    const both = policy([
      {
        to: [
          {
            namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "b" } },
            podSelector: { matchLabels: { app: "t" } },
          },
        ],
      },
    ]);
    expect(egressAllowed(both, from, to(target, 1234))).toBe(true);
    expect(egressAllowed(both, from, to({ ...target, namespace: "c" }, 1234))).toBe(false);
    expect(egressAllowed(both, from, to({ ...target, labels: { app: "u" } }, 1234))).toBe(false);
    const podOnly = policy([{ to: [{ podSelector: { matchLabels: { app: "t" } } }] }]);
    expect(egressAllowed(podOnly, from, to({ ...target, namespace: "a" }, 1))).toBe(true);
    expect(egressAllowed(podOnly, from, to(target, 1))).toBe(false);
    const block = policy([
      { to: [{ ipBlock: { cidr: "0.0.0.0/0", except: ["10.0.0.0/8"] } }], ports: [{ port: 443 }] },
    ]);
    expect(egressAllowed(block, from, outside("8.8.8.8", 443))).toBe(true);
    expect(egressAllowed(block, from, outside("8.8.8.8", 80))).toBe(false);
    expect(egressAllowed(block, from, outside("10.1.2.3", 443))).toBe(false);
    expect(egressAllowed(block, from, { ip: "8.8.8.8", port: 443, protocol: "UDP" })).toBe(false);
    expect(egressAllowed(block, { ...from, labels: { x: "2" } }, outside("10.1.2.3", 22))).toBe(true);
  });
});

describe("scripts/create-secrets.sh", () => {
  let dir: string;
  const REQUIRED = [
    "github-webhook-secret",
    "payload-secret",
    "private-key",
    "basic-auth-user",
    "basic-auth-password",
    "s3-access-key",
    "s3-secret-key",
    "oauth-client-secret",
    "jwt-private-key",
    "jwt-public-key",
    "registry-config.json",
  ];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "create-secrets-"));
    // A stand-in kubectl that records its arguments; `create` prints a manifest, `apply` reads it.
    const fake = join(dir, "bin", "kubectl");
    await writeFile(join(dir, "log"), "");
    await mkdir(join(dir, "bin"));
    await writeFile(
      fake,
      `#!/bin/sh\necho "$*" >> "${join(dir, "log")}"\ncase "$1" in create) echo "kind: Secret";; apply) cat >/dev/null;; esac\n`,
    );
    await chmod(fake, 0o755);
    await mkdir(join(dir, "secrets"));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const run = () =>
    spawnSync("bash", [join(ROOT, "scripts", "create-secrets.sh"), join(dir, "secrets")], {
      encoding: "utf8",
      env: { ...process.env, PATH: `${join(dir, "bin")}:${process.env.PATH ?? ""}` },
    });
  const fill = (files: string[]) =>
    Promise.all(files.map((f) => writeFile(join(dir, "secrets", f), `value of ${f}\n`)));
  const calls = async () =>
    (await readFile(join(dir, "log"), "utf8"))
      .split("\n")
      .filter(Boolean)
      .map((l) => l.replaceAll(dir, "DIR"));

  it("a folder lacking private-key → exit 1 naming it, kubectl never run", async () => {
    await fill(REQUIRED.filter((f) => f !== "private-key"));
    const result = run();
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("missing or empty");
    expect(result.stderr).toContain("private-key");
    expect(await calls()).toEqual([]);
  });

  it("a complete folder → one create --dry-run | apply per secret, customers created empty", async () => {
    await fill(REQUIRED);
    const result = run();
    expect(result.status).toBe(0);
    const secret = (name: string, ns: string, key: string, file = key) =>
      `create secret generic ${name} --namespace ${ns} --from-file=${key}=DIR/secrets/${file} --dry-run=client -o yaml`;
    // Each `create … | apply` is a pipeline whose two kubectl processes start in either order: compare the creates
    // in order, and one apply per create.
    const recorded = await calls();
    expect(recorded.filter((c) => c.startsWith("create "))).toEqual([
      secret("github-webhook-secret", "openfaas-fn", "github-webhook-secret"),
      secret("payload-secret", "openfaas-fn", "payload-secret"),
      secret("private-key", "openfaas-fn", "private-key"),
      secret("basic-auth-user", "openfaas-fn", "basic-auth-user"),
      secret("basic-auth-password", "openfaas-fn", "basic-auth-password"),
      secret("s3-access-key", "openfaas-fn", "s3-access-key"),
      secret("s3-secret-key", "openfaas-fn", "s3-secret-key"),
      secret("oauth-client-secret", "openfaas-fn", "oauth-client-secret"),
      secret("jwt-private-key", "openfaas-fn", "jwt-private-key"),
      secret("jwt-public-key", "openfaas-fn", "jwt-public-key"),
      // Made by the script itself on first use (issue #15).
      secret("sealed-secrets-keys", "openfaas-fn", "sealed-secrets-keys"),
      secret("payload-secret", "openfaas", "payload-secret"),
      secret("registry-secret", "openfaas", "config.json", "registry-config.json"),
      // stack.yml mounts it into github-event, so it must exist; empty means customers_url is read instead.
      "create secret generic customers --namespace openfaas-fn --from-literal=customers= --dry-run=client -o yaml",
      // Likewise the NATS account (issue #10): empty means nats_url (if set) takes no credentials.
      "create secret generic nats-user --namespace openfaas-fn --from-literal=nats-user= --dry-run=client -o yaml",
      "create secret generic nats-password --namespace openfaas-fn --from-literal=nats-password= --dry-run=client -o yaml",
      // And GitLab's two (issue #19): empty means GitLab is off (gitlab-event answers 503).
      "create secret generic gitlab-webhook-secret --namespace openfaas-fn --from-literal=gitlab-webhook-secret= --dry-run=client -o yaml",
      "create secret generic gitlab-api-token --namespace openfaas-fn --from-literal=gitlab-api-token= --dry-run=client -o yaml",
    ]);
    expect(recorded.filter((c) => c === "apply -f -")).toHaveLength(18);
    expect(recorded).toHaveLength(36);
    expect(result.stdout).toContain("made a new sealing key");
    expect(result.stdout).toContain("no customers: creating customers empty");
    // Issue #10: the in-cluster registry's secrets are made only from files that are there.
    expect(result.stdout).toContain("no registry-htpasswd: skipping registry-htpasswd");
    expect(result.stdout).toContain("no registry-pull-config.json: skipping registry-pull");
  });

  it("with the in-cluster registry's files → registry-htpasswd in openfaas, registry-pull as an image pull secret in openfaas-fn", async () => {
    await fill(REQUIRED);
    // What `htpasswd -nB` prints: the line, then a blank one.
    await writeFile(join(dir, "secrets", "registry-htpasswd"), `ofc-push:${bcrypt.hashSync("p", 5)}\n\n`);
    await writeFile(join(dir, "secrets", "registry-pull-config.json"), '{"auths":{}}\n');
    const result = run();
    expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: "" });
    const creates = (await calls()).filter((c) => c.startsWith("create "));
    expect(creates.slice(-2)).toEqual([
      "create secret generic registry-htpasswd --namespace openfaas --from-file=htpasswd=DIR/secrets/registry-htpasswd --dry-run=client -o yaml",
      "create secret generic registry-pull --namespace openfaas-fn --type=kubernetes.io/dockerconfigjson " +
        "--from-file=.dockerconfigjson=DIR/secrets/registry-pull-config.json --dry-run=client -o yaml",
    ]);
    expect(creates).toHaveLength(20);
  });

  // The registry reads bcrypt only: any other hash would lock that account out without a word.
  it.each([
    ["an MD5 (apr1) hash", "ofc-push:$apr1$salt$0123456789abcdefghijkl"],
    ["a SHA-1 hash", "ofc-push:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g="],
    ["a plain password", "ofc-push:hunter2"],
  ])("a registry-htpasswd line with %s → exit 1 naming the file, kubectl never run", async (_case, line) => {
    await fill(REQUIRED);
    await writeFile(join(dir, "secrets", "registry-htpasswd"), `ofc-pull:${bcrypt.hashSync("p", 5)}\n${line}\n`);
    const result = run();
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("every line of registry-htpasswd must be user:bcrypt-hash");
    expect(await calls()).toEqual([]);
  });
});

describe("yaml/edge-router.yaml (issue #13)", () => {
  let policies: INetworkPolicy[];
  let spec: IPodSpec;
  beforeAll(async () => {
    policies = (await manifests())
      .filter(([name]) => /^(network-policies|edge-router)\.yaml: NetworkPolicy /.test(name))
      .map(([, doc]) => doc as unknown as INetworkPolicy);
    spec = podSpecOf(await manifest("edge-router.yaml: Deployment edge-router"));
  });

  const router: Pod = { namespace: "openfaas", labels: { app: "edge-router" }, ip: "10.42.2.20" };
  const envoy: Pod = {
    namespace: "envoy-gateway-system",
    labels: {
      "app.kubernetes.io/name": "envoy",
      "app.kubernetes.io/component": "proxy",
      "gateway.envoyproxy.io/owning-gateway-name": "public",
      "gateway.envoyproxy.io/owning-gateway-namespace": "openfaas",
    },
    ip: "10.42.3.4",
  };
  const pod = (namespace: string, labels: Record<string, string>, ip: string): Pod => ({ namespace, labels, ip });
  const at = (p: Pod, port: number, protocol: Destination["protocol"] = "TCP"): Destination => ({
    pod: p,
    ip: p.ip,
    port,
    protocol,
  });

  it("holds the Deployment, its Service and two NetworkPolicies", async () => {
    const names = (await manifests()).map(([name]) => name).filter((n) => n.startsWith("edge-router.yaml: "));
    expect(names).toEqual([
      "edge-router.yaml: Deployment edge-router",
      "edge-router.yaml: Service edge-router",
      "edge-router.yaml: NetworkPolicy edge-router-only-from-ingress",
      "edge-router.yaml: NetworkPolicy edge-router-egress",
    ]);
  });

  it("its container → non-root, read-only root, no privilege, no token, no secret, probes on /healthz, memory capped", () => {
    const container = containerOf(spec, "edge-router");
    expect(container.securityContext).toMatchObject({
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
    });
    expect(spec.automountServiceAccountToken).toBe(false);
    expect((spec.volumes ?? []).filter((v) => v.secret || v.hostPath)).toEqual([]);
    expect([container.readinessProbe?.httpGet?.path, container.livenessProbe?.httpGet?.path]).toEqual([
      "/healthz",
      "/healthz",
    ]);
    expect(container.resources?.limits?.memory).toBeDefined();
    expect(container.resources?.requests?.cpu).toBeDefined();
    expect(envOf(container)).toMatchObject({ domain: "example.com", gateway_url: "http://gateway.openfaas:8080/" });
  });

  it.each<[string, "allowed" | "denied", Pod]>([
    ["Envoy's proxy for the Gateway public", "allowed", envoy],
    [
      "Envoy's proxy for another Gateway",
      "denied",
      { ...envoy, labels: { ...envoy.labels, "gateway.envoyproxy.io/owning-gateway-name": "other" } },
    ],
    ["a user's function", "denied", pod("openfaas-fn", { faas_function: "alice--api" }, "10.42.1.20")],
    ["a build (the of-builder pod)", "denied", pod("openfaas", { app: "of-builder" }, "10.42.2.5")],
    ["the gateway", "denied", pod("openfaas", { app: "gateway" }, "10.42.2.10")],
    ["a pod in another namespace", "denied", pod("default", { "app.kubernetes.io/name": "envoy" }, "10.42.4.4")],
  ])("reaching the router's port from %s → %s", (_name, outcome, from) => {
    expect(ingressAllowed(policies, from, router, 8080)).toBe(outcome === "allowed");
  });

  it.each<[string, "allowed" | "denied", Destination]>([
    ["the gateway's port", "allowed", at(pod("openfaas", { app: "gateway" }, "10.42.2.10"), 8080)],
    ["DNS", "allowed", at(pod("kube-system", { "k8s-app": "kube-dns" }, "10.42.0.2"), 53, "UDP")],
    ["the gateway pod's provider port", "denied", at(pod("openfaas", { app: "gateway" }, "10.42.2.10"), 8081)],
    ["NATS", "denied", at(pod("openfaas", { app: "nats" }, "10.42.2.11"), 4222)],
    ["of-builder", "denied", at(pod("openfaas", { app: "of-builder" }, "10.42.2.5"), 8080)],
    [
      "a function's pod, directly",
      "denied",
      at(pod("openfaas-fn", { faas_function: "alice--api" }, "10.42.1.20"), 8080),
    ],
    ["the internet", "denied", { ip: "104.16.3.35", port: 443 }],
    ["the cloud metadata service", "denied", { ip: "169.254.169.254", port: 80 }],
  ])("the router → %s: %s", (_name, outcome, destination) => {
    expect(egressAllowed(policies, router, destination)).toBe(outcome === "allowed");
  });
});
