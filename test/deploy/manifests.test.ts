import { spawnSync } from "node:child_process";
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";

// Issue #6: the deployment files are checked, not sketched. Kubernetes schemas come from kubernetes-models, whose
// validators are compiled from the Kubernetes OpenAPI document and ship inside the package (no network).
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
