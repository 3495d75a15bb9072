import { spawnSync } from "node:child_process";
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { IDeployment } from "kubernetes-models/apps/v1/Deployment";
import { parseAllDocuments } from "yaml";
import { unknownFields } from "../support/k8s-strict.js";

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
  const Kind = await modelFor(doc.apiVersion, doc.kind);
  new Kind(doc).validate();
}

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
      ]),
    );
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
    for (const [name, doc] of await manifests()) failures.push(...unknownFields(doc).map((f) => `${name}: ${f}`));
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
        const found = unknownFields(doc);
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
      secret("payload-secret", "openfaas", "payload-secret"),
      secret("registry-secret", "openfaas", "config.json", "registry-config.json"),
      // stack.yml mounts it into github-event, so it must exist; empty means customers_url is read instead.
      "create secret generic customers --namespace openfaas-fn --from-literal=customers= --dry-run=client -o yaml",
    ]);
    expect(recorded.filter((c) => c === "apply -f -")).toHaveLength(10);
    expect(recorded).toHaveLength(20);
    expect(result.stdout).toContain("no customers: creating customers empty");
  });
});
