import { generateKeyPairSync } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { Socket } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { jest } from "@jest/globals";
import { parse, parseAllDocuments } from "yaml";
import { loadBuilderConfig } from "../../of-builder/config.js";
import { loadRouterConfig } from "../../edge-router/config.js";
import { loadConfig, settingNames } from "../../shared/config.js";
import { runFunction } from "../../shared/function-server.js";
import { createSealingKey } from "../../shared/sealed-secrets/certificate.js";
import { readStack, type StackFunction } from "../../shared/stack.js";

// Issue #6: every setting and secret the code reads is deployed (stack.yml, its environment files, yaml/, the secrets
// script) and documented (docs/configuration.md), and nothing deployed or documented goes unread. Names come from
// the code itself wherever it can say them: settingNames, the env keys a parser actually touches, the secrets a
// function refuses to start without.
const ROOT = join(import.meta.dirname, "..", "..");
const ENV_FILES = ["gateway_config.yml", "github.yml", "gitlab.yml", "buildshiprun_limits.yml"];
/** Process-level variables the code passes through to children; no one configures OpenFaaS Cloud with them. */
const OS_NAMES = new Set(["PATH", "HOME"]);

const text = (path: string) => readFile(join(ROOT, path), "utf8");
const sorted = (names: Iterable<string>) => [...new Set(names)].sort();
const minus = (a: Iterable<string>, b: Iterable<string>) => {
  const drop = new Set(b);
  return sorted([...a].filter((n) => !drop.has(n)));
};

/** The rows of the first table under the heading `<heading…>` (any level): the first column's backticked names, cells. */
async function docsRows(file: string, heading: string): Promise<Array<{ names: string[]; cells: string[] }>> {
  const lines = (await text(file)).split("\n");
  const start = lines.findIndex((l) => /^#+ /.test(l) && l.replace(/^#+ /, "").startsWith(heading));
  if (start < 0) throw new Error(`${file} has no "${heading}" section`);
  const rows: Array<{ names: string[]; cells: string[] }> = [];
  for (const line of lines.slice(start + 1)) {
    if (line.startsWith("#") || (rows.length > 0 && !line.startsWith("|"))) break;
    if (!line.startsWith("|")) continue;
    const cells = line
      .slice(1, -1)
      .split("|")
      .map((c) => c.trim());
    const names = [...(cells[0] ?? "").matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
    if (names.length > 0) rows.push({ names, cells }); // the header and separator rows name nothing
  }
  if (rows.length === 0) throw new Error(`${file} "${heading}": no table rows`);
  return rows;
}

/** docs/configuration.md's table under `heading`: each name → its row's cells; a name in two rows is an error. */
async function configurationTable(heading: string): Promise<Map<string, string[]>> {
  const table = new Map<string, string[]>();
  for (const { names, cells } of await docsRows("docs/configuration.md", heading)) {
    for (const name of names) {
      if (table.has(name)) throw new Error(`docs/configuration.md "${heading}": ${name} has two rows`);
      table.set(name, cells);
    }
  }
  return table;
}

/** The key under which a Docker config.json is an image pull secret: the kubelet reads it, no function does. */
const PULL_SECRET_KEY = ".dockerconfigjson";

/** yaml/secrets.md's rows for `namespace`: the secret names (image pull secrets aside: the kubelet reads those). */
async function secretsMd(namespace: string): Promise<string[]> {
  const rows = await docsRows("yaml/secrets.md", "Secrets");
  return rows
    .filter(({ cells }) => cells[1] === `\`${namespace}\`` && cells[2] !== `\`${PULL_SECRET_KEY}\``)
    .flatMap(({ names }) => names);
}

/** Problems for two name sets that must match: `<name> <missingWhat>` / `<name> <extraWhat>`. */
function compare(
  codeNames: Iterable<string>,
  listedNames: Iterable<string>,
  missingWhat: string,
  extraWhat: string,
): string[] {
  const code = [...codeNames];
  const listed = [...listedNames];
  return [
    ...minus(code, listed).map((n) => `${n}: ${missingWhat}`),
    ...minus(listed, code).map((n) => `${n}: ${extraWhat}`),
  ];
}

/** An env object that records every key read from it. */
function recordingEnv(values: Record<string, string> = {}): {
  env: Record<string, string | undefined>;
  read: Set<string>;
} {
  const read = new Set<string>();
  const env = new Proxy<Record<string, string | undefined>>(values, {
    get(target, key) {
      if (typeof key === "string") read.add(key);
      return typeof key === "string" ? target[key] : undefined;
    },
  });
  return { env, read };
}

/** Every non-test .ts file `entry` imports, transitively, through relative imports. */
async function sourceGraph(entry: string): Promise<string[]> {
  const seen = new Set<string>();
  const queue = [resolve(ROOT, entry)];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const source = await readFile(file, "utf8");
    for (const [, spec] of source.matchAll(/(?:from|import)\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/g)) {
      const target = resolve(dirname(file), spec!.replace(/\.js$/, ".ts"));
      if (target.endsWith(".ts") && !target.endsWith(".test.ts") && existsSync(target)) queue.push(target);
    }
  }
  return [...seen].map((f) => relative(ROOT, f)).sort();
}

/** `process.env.NAME` / `process.env["NAME"]` reads in `files`: name → the files reading it. */
async function processEnvReads(files: string[]): Promise<Map<string, string[]>> {
  const reads = new Map<string, string[]>();
  for (const file of files) {
    for (const m of (await text(file)).matchAll(/process\.env(?:\.([A-Za-z_]\w*)|\[\s*["']([^"']+)["']\s*\])/g)) {
      const name = m[1] ?? m[2]!;
      if (OS_NAMES.has(name)) continue;
      reads.set(name, [...(reads.get(name) ?? []), file]);
    }
  }
  return reads;
}

/** The string literals of each `secrets: [...]` / `optionalSecrets: [...]` in a handler's loadConfig call. */
function secretLiterals(source: string): { required: string[]; optional: string[] } {
  const out = { required: [] as string[], optional: [] as string[] };
  for (const [, key, list] of source.matchAll(/\b(secrets|optionalSecrets):\s*\[([^\]]*)\]/g)) {
    const names = [...list!.matchAll(/["']([^"']+)["']/g)].map((m) => m[1]!);
    (key === "secrets" ? out.required : out.optional).push(...names);
  }
  return out;
}

/** The members of shared/config.ts's SecretName union. */
async function secretNameUnion(): Promise<string[]> {
  const match = /export type SecretName =([^;]*);/.exec(await text("shared/config.ts"));
  if (!match) throw new Error("shared/config.ts: no SecretName union");
  return sorted([...match[1]!.matchAll(/"([^"]+)"/g)].map((m) => m[1]!));
}

/** `name|namespace|key|file` entries of scripts/create-secrets.sh. */
async function scriptSecrets(): Promise<Array<{ name: string; namespace: string; key: string; file: string }>> {
  return [
    ...(await text("scripts/create-secrets.sh")).matchAll(/"([^"|\s]+)\|([^"|\s]+)\|([^"|\s]+)\|([^"|\s]+)"/g),
  ].map(([, name, namespace, key, file]) => ({ name: name!, namespace: namespace!, key: key!, file: file! }));
}

/** The env names the function image's server (shared/function-server.ts runFunction) reads. */
async function runtimeNames(): Promise<string[]> {
  const { env, read } = recordingEnv({ http_port: "0", http_host: "127.0.0.1" });
  const processLike = { once: () => processLike, exit: () => undefined } as unknown as Pick<
    NodeJS.Process,
    "once" | "exit"
  >;
  const served = await runFunction(() => Promise.resolve(), env, processLike);
  await served.close(0);
  return sorted(read);
}

// The system's functions as faas-cli deploys them: each one's environment with its environment_files merged in.
const functions: StackFunction[] = (await readStack(ROOT, {})).functions;
/** Each functions/<name>/handler.ts: the secrets its loadConfig call names. */
const handlerSecrets = new Map<string, { required: string[]; optional: string[] }>();
for (const name of (await readdir(join(ROOT, "functions"), { withFileTypes: true })).filter((d) => d.isDirectory())) {
  handlerSecrets.set(name.name, secretLiterals(await text(`functions/${name.name}/handler.ts`)));
}
const codeSecrets = () =>
  sorted([...handlerSecrets.values()].flatMap(({ required, optional }) => [...required, ...optional]));

describe("functions: settings", () => {
  it("stack.yml deploys every function under functions/, and no other", () => {
    expect(
      compare(
        handlerSecrets.keys(),
        functions.map((f) => f.name),
        "not in stack.yml",
        "no functions/<name>/",
      ),
    ).toEqual([]);
  });

  it("the Settings table of docs/configuration.md = settingNames", async () => {
    const docs = await configurationTable("Settings");
    expect(compare(settingNames, docs.keys(), "not documented", "documented but not a setting")).toEqual([]);
  });

  it("each documented default is the parser's", async () => {
    const docs = await configurationTable("Settings");
    const defaults = loadConfig({}) as unknown as Record<string, string | number | boolean | undefined>;
    const problems: string[] = [];
    for (const name of settingNames.filter((n) => docs.has(n))) {
      const value = defaults[name];
      const documented = /`([^`]+)`/.exec(docs.get(name)?.[1] ?? "")?.[1];
      const expected = value === undefined || value === "" ? undefined : String(value);
      if (documented !== expected) problems.push(`${name}: documented default ${documented}, parser's ${expected}`);
    }
    expect(problems).toEqual([]);
  });

  it("every setting is read by the code (config.<name>)", async () => {
    const files = sorted(
      (await Promise.all(functions.map((f) => sourceGraph(`functions/${f.name}/handler.ts`)))).flat(),
    );
    const sources = (await Promise.all(files.map(text))).join("\n");
    const unread = settingNames.filter((n) => !new RegExp(`\\b(config|values)\\.${n}\\b`).test(sources));
    expect(unread.map((n) => `${n}: no function reads it`)).toEqual([]);
  });

  it("every setting is set in stack.yml's environment or its environment files, so operators see it", async () => {
    const set = new Set(functions.flatMap((f) => Object.keys(f.environment)));
    for (const file of ENV_FILES) {
      const doc = parse(await text(file)) as { environment?: Record<string, unknown> };
      for (const key of Object.keys(doc.environment ?? {})) set.add(key);
    }
    expect(
      minus(settingNames, set).map((n) => `${n}: in no function's environment (stack.yml, ${ENV_FILES.join(", ")})`),
    ).toEqual([]);
  });

  it("every name stack.yml and its environment files set is a setting or the function runtime's", async () => {
    const known = new Set<string>([...settingNames, ...(await runtimeNames())]);
    const problems: string[] = [];
    for (const f of functions) {
      for (const key of Object.keys(f.environment)) {
        if (!known.has(key)) problems.push(`${key}: set for ${f.name} but read by nothing`);
      }
    }
    for (const file of ENV_FILES) {
      const doc = parse(await text(file)) as { environment?: Record<string, unknown> };
      for (const key of Object.keys(doc.environment ?? {})) {
        if (!known.has(key)) problems.push(`${key}: set in ${file} but read by nothing`);
      }
    }
    expect(sorted(problems)).toEqual([]);
  });

  it("the Function runtime table = the names the function server reads", async () => {
    const docs = await configurationTable("Function runtime");
    expect(
      compare(
        await runtimeNames(),
        docs.keys(),
        "read by shared/function-server.ts, not documented",
        "documented, never read",
      ),
    ).toEqual([]);
  });

  it("every Function runtime name is set by stack.yml or the template's Dockerfile", async () => {
    const set = new Set(functions.flatMap((f) => Object.keys(f.environment)));
    for (const [, names] of (await text("template/ofc-node24/Dockerfile")).matchAll(/^ENV\s+(.*)$/gm)) {
      for (const [, name] of names!.matchAll(/([A-Za-z_]\w*)=/g)) set.add(name!);
    }
    const unset = minus(await runtimeNames(), set);
    expect(unset.map((n) => `${n}: set by neither stack.yml nor template/ofc-node24/Dockerfile`)).toEqual([]);
  });

  it("no function reads process.env by name: every name goes through loadConfig", async () => {
    const files = sorted(
      (
        await Promise.all([
          ...functions.map((f) => sourceGraph(`functions/${f.name}/handler.ts`)),
          sourceGraph("template/ofc-node24/index.ts"),
        ])
      ).flat(),
    );
    const reads = await processEnvReads(files);
    expect([...reads].map(([n, where]) => `${n}: read from process.env in ${where.join(", ")}`)).toEqual([]);
  });
});

describe("functions: secrets", () => {
  it("SecretName = the secrets the handlers pass to loadConfig", async () => {
    expect(
      compare(codeSecrets(), await secretNameUnion(), "not in SecretName", "in SecretName, read by no handler"),
    ).toEqual([]);
  });

  it("the Secrets table of docs/configuration.md = the secrets the handlers read", async () => {
    const docs = await configurationTable("Secrets");
    expect(compare(codeSecrets(), docs.keys(), "not documented", "documented, read by no handler")).toEqual([]);
  });

  it('the Secrets table\'s "used by" names exactly the functions stack.yml gives each secret', async () => {
    const docs = await configurationTable("Secrets");
    const problems: string[] = [];
    for (const [secret, cells] of docs) {
      const documented = (cells[1] ?? "").split(/,\s*/).map((u) => u.replace(/\s*\(optional\)$/, "").trim());
      const users = functions.filter((f) => f.secrets.includes(secret)).map((f) => f.name);
      const builder = secret === "payload-secret" ? ["of-builder"] : [];
      problems.push(
        ...compare(
          [...users, ...builder],
          documented,
          `uses ${secret}, not in its "used by"`,
          `in ${secret}'s "used by" but does not mount it`,
        ),
      );
    }
    expect(problems).toEqual([]);
  });

  it("stack.yml mounts every secret a handler reads into that function", () => {
    const problems: string[] = [];
    for (const f of functions) {
      const { required, optional } = handlerSecrets.get(f.name) ?? { required: [], optional: [] };
      for (const s of minus([...required, ...optional], f.secrets))
        problems.push(`${s}: read by ${f.name}, not in its stack.yml secrets`);
    }
    expect(problems).toEqual([]);
  });

  it("yaml/secrets.md and scripts/create-secrets.sh create every secret the functions read, and no other", async () => {
    const mdFn = await secretsMd("openfaas-fn");
    const script = await scriptSecrets();
    const scriptFn = script.filter((s) => s.namespace === "openfaas-fn" && s.key !== PULL_SECRET_KEY);
    const problems = [
      ...compare(
        codeSecrets(),
        mdFn,
        "not in yaml/secrets.md (namespace openfaas-fn)",
        "in yaml/secrets.md (openfaas-fn), read by no function",
      ),
      ...compare(
        codeSecrets(),
        scriptFn.map((s) => s.name),
        "not created by scripts/create-secrets.sh in openfaas-fn",
        "created by scripts/create-secrets.sh in openfaas-fn, read by no function",
      ),
      // Functions read /var/openfaas/secrets/<key>: the key must be the name the code asks for.
      ...scriptFn
        .filter((s) => s.key !== s.name)
        .map((s) => `${s.name}: scripts/create-secrets.sh stores it under key ${s.key}`),
    ];
    expect(problems).toEqual([]);
  });
});

describe("functions: each starts from stack.yml's environment and secrets", () => {
  let secretDir: string;
  let privateKey: string;
  let sessionKeys: Record<string, string>;
  beforeAll(async () => {
    const ec = generateKeyPairSync("ec", {
      namedCurve: "P-256",
      publicKeyEncoding: { type: "spki", format: "pem" },
      privateKeyEncoding: { type: "pkcs8", format: "pem" },
    });
    sessionKeys = { "jwt-private-key": ec.privateKey, "jwt-public-key": ec.publicKey };
    // import-secrets' sealing key and its certificate (issue #15).
    const sealing = createSealingKey(new Date(), 2048);
    sessionKeys["sealed-secrets-keys"] = sealing.privateKeyPem + sealing.certificatePem;
    secretDir = await mkdtemp(join(tmpdir(), "config-names-"));
    privateKey = generateKeyPairSync("rsa", {
      modulusLength: 2048,
      publicKeyEncoding: { type: "spki", format: "pem" },
      privateKeyEncoding: { type: "pkcs1", format: "pem" },
    }).privateKey;
  });
  afterAll(() => rm(secretDir, { recursive: true, force: true }));

  type DepsFromEnv = (env: Record<string, string | undefined>) => unknown;
  const handler = async (name: string) =>
    ((await import(`../../functions/${name}/handler.js`)) as { depsFromEnv: DepsFromEnv }).depsFromEnv;

  /** A secret folder holding exactly `secrets`, and the function's environment pointing at it. */
  async function prepare(fn: StackFunction, secrets: string[]) {
    const dir = await mkdtemp(join(secretDir, `${fn.name}-`));
    // PEM where a function parses one at start: the App's RSA key, edge-auth's EC session pair (issue #13).
    const pem: Record<string, string> = { "private-key": privateKey, ...sessionKeys };
    for (const s of secrets) await writeFile(join(dir, s), pem[s] ?? `dummy ${s}\n`);
    return recordingEnv({ ...fn.environment, secret_mount_path: dir });
  }

  it.each(functions.map((f) => f.name))(
    "%s: depsFromEnv starts with exactly its stack.yml secrets, without touching the network",
    async (name) => {
      const fn = functions.find((f) => f.name === name);
      expect(fn).toBeDefined();
      const connect = jest.spyOn(Socket.prototype, "connect");
      try {
        const { env, read } = await prepare(fn!, fn!.secrets);
        const depsFromEnv = await handler(name);
        depsFromEnv(env);
        await new Promise((done) => setTimeout(done, 50));
        expect(connect.mock.calls.map((c) => `${name} connected at start: ${JSON.stringify(c[0])}`)).toEqual([]);
        expect(minus(read, settingNames).map((n) => `${n}: read by ${name}, not a setting`)).toEqual([]);
      } finally {
        connect.mockRestore();
      }
    },
  );

  // With the test above (each starts with exactly these), this proves stack.yml mounts what each function needs and
  // nothing more; the optional ones are those its loadConfig call lists under optionalSecrets.
  it("every secret stack.yml lists is one its function cannot start without, or one it reads optionally", async () => {
    const problems: string[] = [];
    for (const fn of functions) {
      const depsFromEnv = await handler(fn.name);
      const optional = handlerSecrets.get(fn.name)?.optional ?? [];
      for (const secret of fn.secrets) {
        const { env } = await prepare(
          fn,
          fn.secrets.filter((s) => s !== secret),
        );
        let message: string | undefined;
        try {
          depsFromEnv(env);
        } catch (error) {
          message = (error as Error).message;
        }
        if (message === undefined && !optional.includes(secret))
          problems.push(`${secret}: mounted into ${fn.name}, which starts without it and reads it nowhere`);
        if (message !== undefined && !message.includes(`secret ${secret}:`))
          problems.push(`${secret}: removing it from ${fn.name} fails without naming it: ${message}`);
        if (message !== undefined && optional.includes(secret))
          problems.push(`${secret}: optional for ${fn.name}, but it refuses to start without it: ${message}`);
      }
    }
    expect(problems).toEqual([]);
  });
});

describe("of-builder", () => {
  /** What of-builder reads: every key loadBuilderConfig touches, and process.env names in its sources. */
  async function builderNames(): Promise<string[]> {
    const { env, read } = recordingEnv();
    loadBuilderConfig(env, () => "secret");
    const reads = await processEnvReads(await sourceGraph("of-builder/main.ts"));
    return sorted([...read, ...reads.keys()]);
  }

  /**
   * Names set for the of-builder container (yaml/of-builder.yaml) or service (docker-compose.yml), or left there as
   * a commented-out entry (`# name: value`, `# - name: NAME`) so operators see the knob.
   */
  async function deployedNames(): Promise<Set<string>> {
    const names = new Set<string>();
    for (const doc of parseAllDocuments(await text("yaml/of-builder.yaml"))) {
      const value = doc.toJS() as {
        kind?: string;
        spec?: { template?: { spec?: { containers?: Array<{ name: string; env?: Array<{ name: string }> }> } } };
      } | null;
      if (value?.kind !== "Deployment") continue;
      const container = value.spec?.template?.spec?.containers?.find((c) => c.name === "of-builder");
      for (const e of container?.env ?? []) names.add(e.name);
    }
    const compose = parse(await text("docker-compose.yml")) as {
      services: Record<string, { environment?: Record<string, string> | string[] }>;
    };
    const environment = compose.services["of-builder"]?.environment ?? {};
    for (const e of Array.isArray(environment) ? environment.map((e) => e.split("=")[0]!) : Object.keys(environment))
      names.add(e);
    for (const file of ["yaml/of-builder.yaml", "docker-compose.yml"]) {
      for (const [, comment] of (await text(file)).matchAll(/#(.*)$/gm)) {
        for (const [, a, b] of comment!.matchAll(/-\s*name:\s*([A-Za-z_]\w*)|^\s*([A-Za-z_]\w*)\s*[:=]/g))
          names.add((a ?? b)!);
      }
    }
    return names;
  }

  it("the of-builder table of docs/configuration.md = the names of-builder reads", async () => {
    const docs = await configurationTable("of-builder");
    expect(
      compare(
        await builderNames(),
        docs.keys(),
        "read by of-builder, not documented",
        "documented, of-builder never reads it",
      ),
    ).toEqual([]);
  });

  it("every name of-builder reads is set (or shown commented out) in yaml/of-builder.yaml or docker-compose.yml", async () => {
    const deployed = await deployedNames();
    expect(
      minus(await builderNames(), deployed).map((n) => `${n}: in neither yaml/of-builder.yaml nor docker-compose.yml`),
    ).toEqual([]);
  });

  // of-builder's and, since issue #10, the in-cluster registry's (registry-htpasswd).
  it("the secrets yaml/'s Deployments mount in openfaas are created by yaml/secrets.md and scripts/create-secrets.sh", async () => {
    const mounted = new Set<string>();
    for (const file of (await readdir(join(ROOT, "yaml"))).filter((f) => f.endsWith(".yaml"))) {
      for (const doc of parseAllDocuments(await text(`yaml/${file}`))) {
        const value = doc.toJS() as {
          kind?: string;
          metadata?: { namespace?: string };
          spec?: { template?: { spec?: { volumes?: Array<{ secret?: { secretName: string } }> } } };
        } | null;
        if (value?.metadata?.namespace !== "openfaas") continue;
        for (const v of value.spec?.template?.spec?.volumes ?? []) if (v.secret) mounted.add(v.secret.secretName);
      }
    }
    const md = await secretsMd("openfaas");
    const script = (await scriptSecrets()).filter((s) => s.namespace === "openfaas").map((s) => s.name);
    expect([
      ...compare(
        mounted,
        md,
        "mounted in yaml/, not in yaml/secrets.md (namespace openfaas)",
        "in yaml/secrets.md (openfaas), mounted by nothing in yaml/",
      ),
      ...compare(
        mounted,
        script,
        "mounted in yaml/, not created by scripts/create-secrets.sh",
        "created in openfaas by scripts/create-secrets.sh, mounted by nothing in yaml/",
      ),
      ...(mounted.has("payload-secret")
        ? []
        : ["payload-secret: of-builder reads it but yaml/of-builder.yaml does not mount it"]),
    ]).toEqual([]);
  });
});

describe("edge-router", () => {
  /** What edge-router reads: every key loadRouterConfig touches, and process.env names in its sources. */
  async function routerNames(): Promise<string[]> {
    const { env, read } = recordingEnv({ domain: "example.com" });
    loadRouterConfig(env);
    const reads = await processEnvReads(await sourceGraph("edge-router/main.ts"));
    return sorted([...read, ...reads.keys()]);
  }

  /** Names set for the edge-router container or compose service, or shown there commented out. */
  async function deployedNames(): Promise<Set<string>> {
    const names = new Set<string>();
    for (const doc of parseAllDocuments(await text("yaml/edge-router.yaml"))) {
      const value = doc.toJS() as {
        kind?: string;
        spec?: { template?: { spec?: { containers?: Array<{ name: string; env?: Array<{ name: string }> }> } } };
      } | null;
      if (value?.kind !== "Deployment") continue;
      const container = value.spec?.template?.spec?.containers?.find((c) => c.name === "edge-router");
      for (const e of container?.env ?? []) names.add(e.name);
    }
    const compose = parse(await text("docker-compose.yml")) as {
      services: Record<string, { environment?: Record<string, string> }>;
    };
    for (const name of Object.keys(compose.services["edge-router"]?.environment ?? {})) names.add(name);
    for (const [, name] of (await text("docker-compose.yml")).matchAll(/^\s*#\s*([a-z_]+):\s/gm)) names.add(name!);
    return names;
  }

  it("the edge-router table of docs/configuration.md = the names edge-router reads", async () => {
    const docs = await configurationTable("edge-router");
    expect(
      compare(await routerNames(), docs.keys(), "read by edge-router, not documented", "documented, never read"),
    ).toEqual([]);
  });

  it("every name edge-router reads is set in yaml/edge-router.yaml or docker-compose.yml (or shown commented out)", async () => {
    const deployed = await deployedNames();
    expect(
      minus(await routerNames(), deployed).map((n) => `${n}: in neither yaml/edge-router.yaml nor docker-compose.yml`),
    ).toEqual([]);
  });
});

describe("local runtime (npm start)", () => {
  it("the Local runtime table = the process.env names local/main.ts and what it imports read", async () => {
    const reads = await processEnvReads(await sourceGraph("local/main.ts"));
    const docs = await configurationTable("Local runtime");
    expect(
      compare(
        reads.keys(),
        docs.keys(),
        "read by the local runtime, not documented",
        "documented, the local runtime never reads it",
      ),
    ).toEqual([]);
  });
});
