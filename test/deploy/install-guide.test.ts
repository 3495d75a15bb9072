import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, parseAllDocuments } from "yaml";
import { settingNames } from "../../shared/config.js";
import { readStack } from "../../shared/stack.js";
import { freshCluster, replay, vendoredValues, type Call, type StackSecrets } from "../support/cluster-model.js";
import { chartValues, helmInstalls, unknownValueKey } from "../support/helm-values.js";
import { manifestProblems } from "../support/manifest-check.js";
import { fencedBlocks, section } from "../support/markdown.js";
import { shellCommands } from "../support/shell-words.js";

// Issue #11: docs/install.md, walked as one script. Its `sh` blocks are the install, run in order from the repository
// root with stand-ins for the tools that would touch a cluster, a registry or GitHub (they record their calls, which
// test/support/cluster-model.ts replays on a fresh cluster); openssl, htpasswd, base64 and scripts/create-secrets.sh
// run for real in a temporary HOME. Its `shell` blocks (Pro, the in-cluster registry, MinIO, a node, faasd) are
// another path: checked, not run. readme.test.ts checks the files both name.
const ROOT = join(import.meta.dirname, "..", "..");
const GUIDE = "docs/install.md";
const STAND_IN = join(ROOT, "test", "fixtures", "install-guide", "stand-in.sh");
const STAND_INS = ["kubectl", "helm", "faas-cli", "docker", "git", "curl"];
/** What the guide may run: the stand-ins' tools, what a Debian or macOS machine has, and the repository's script. */
const KNOWN_COMMANDS = new Set([
  ...STAND_INS,
  ...["openssl", "htpasswd", "printf", "base64", "cat", "cp", "mkdir", "sed", "echo", "export", "cd", "tee", "sleep"],
  ...["sudo", "systemctl", "scripts/create-secrets.sh"],
]);
/**
 * Names in the guide that are not this project's settings: OpenFaaS's own (gateway, queue-worker, faasd-provider),
 * stack.yml's `environment_file`, and GitHub's event and query names.
 */
const UPSTREAM_NAMES = new Set([
  ...["upstream_timeout", "read_timeout", "write_timeout", "ack_wait", "max_inflight", "service_timeout"],
  ...["environment_file", "installation_repositories", "setup_action"],
]);

const text = (path: string) => readFile(join(ROOT, path), "utf8");
const blocksOf = async (path: string, langs: string[]) =>
  fencedBlocks(await text(path)).filter((b) => langs.includes(b.lang));

/** Every simple command of a script, the ones inside `$( … )` included. */
function allCommands(script: string): string[][] {
  return shellCommands(script).flatMap((words) => [
    words,
    ...words.flatMap((w) => [...w.matchAll(/\$\(([^()]*)\)/g)].flatMap((m) => allCommands(m[1]!))),
  ]);
}

/** Shell words that are not commands: grouping and loop keywords. */
const SYNTAX = new Set(["{", "}", "until", "while", "do", "done", "if", "then", "fi", "!"]);

/** The command a line runs: past `VAR=value` assignments, shell keywords and `sudo`. */
function commandName(words: string[]): string | undefined {
  return words.find((w) => !/^[A-Za-z_]\w*=/.test(w) && !SYNTAX.has(w) && w !== "sudo");
}

/** The stack.yml functions with the secrets each mounts, as faas-cli up deploys them. */
async function stackSecrets(): Promise<StackSecrets> {
  return (await readStack(ROOT, {})).functions.map((f) => ({ name: f.name, secrets: f.secrets }));
}

// ---------------------------------------------------------------------------------------------------------------
// The walk

interface Walk {
  status: number | null;
  stderr: string;
  calls: Call[];
  home: string;
  problems: string[];
}

/** Runs a guide's `sh` blocks as one bash script with the stand-ins on PATH, then replays what they recorded. */
async function walk(markdown: string, dir: string): Promise<Walk> {
  const home = join(dir, "home");
  const bin = join(dir, "bin");
  const log = join(dir, "log");
  await Promise.all([mkdir(join(home, "Downloads"), { recursive: true }), mkdir(bin), mkdir(log)]);
  // The App's private key as GitHub downloads it (step 2).
  await writeFile(join(home, "Downloads", "your-app.2026-08-01.private-key.pem"), "-----BEGIN RSA PRIVATE KEY-----\n");
  for (const name of STAND_INS) await symlink(STAND_IN, join(bin, name));
  // Each block starts from the repository root, as the guide says; `set -u` makes a variable used before the guide
  // exports it an error.
  const blocks = fencedBlocks(markdown).filter((b) => b.lang === "sh");
  const script = [
    "set -euo pipefail",
    ...blocks.map((b, i) => `cd "$GUIDE_ROOT"\nexport GUIDE_BLOCK=${String(i).padStart(3, "0")}\n${b.body}`),
  ].join("\n");
  const run = spawnSync("bash", ["-c", script], {
    env: {
      HOME: home,
      PATH: `${bin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
      GUIDE_LOG: log,
      GUIDE_ROOT: ROOT,
      LANG: "C.UTF-8",
    },
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    timeout: 60_000,
  });
  // call-<block>-<start time in µs>-<pid>: the names sort in the order the calls started. A port-forward runs in the
  // background (`&`) from where it stands, but its stand-in may record after the next command started: it counts from
  // the start of its block (the guide waits for it to answer before going on).
  const records: Array<Omit<Call, "n"> & { file: string }> = [];
  for (const file of (await readdir(log)).filter((f) => /^call-\d+-\d+-\d+$/.test(f))) {
    const [name = "", cwd = "", ...args] = (await readFile(join(log, file), "utf8")).split("\x1f");
    const stdin = await readFile(join(log, `${file}.stdin`), "utf8").catch(() => undefined);
    records.push({ file, name, cwd, args, ...(stdin === undefined ? {} : { stdin }) });
  }
  const key = (r: { file: string; args: string[] }) =>
    `${r.file.slice(5, 8)}${r.args.includes("port-forward") ? 0 : 1}${r.file.slice(9)}`;
  records.sort((a, b) => key(a).localeCompare(key(b)));
  const calls: Call[] = records.map(({ file: _file, ...call }, i) => ({ n: i + 1, ...call }));
  const problems = await replay(calls, freshCluster(), await stackSecrets(), text);
  return { status: run.status, stderr: run.stderr, calls, home, problems };
}

describe(`${GUIDE}, run as one script against a model of a fresh cluster`, () => {
  let dir: string;
  let result: Walk;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "install-guide-"));
    result = await walk(await text(GUIDE), dir);
  }, 60_000);
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("the script → exit 0: every command, file and variable it uses is there when it runs", () => {
    expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: "" });
  });

  it("every call, replayed in order → the namespace, secret, CRD, Deployment or image it needs exists by then", () => {
    expect(result.problems).toEqual([]);
  });

  it("it installs what the system needs: the charts, of-builder, the edge router, the Gateway and the functions", () => {
    const lines = result.calls.map((c) => [c.name, ...c.args].join(" "));
    for (const expected of [
      /^helm upgrade --install openfaas openfaas\/openfaas --version /,
      /^helm upgrade --install eg oci:\/\/docker\.io\/envoyproxy\/gateway-helm /,
      /^helm upgrade --install cert-manager oci:\/\/quay\.io\/jetstack\/charts\/cert-manager /,
      /^kubectl apply -f yaml\/of-builder\.yaml$/,
      /^kubectl apply -f yaml\/network-policies\.yaml$/,
      /^docker push \S+\/ofc-ts-edge-router:/,
      /^kubectl -n openfaas set image deploy\/edge-router edge-router=\S+\/ofc-ts-edge-router:/,
      /^kubectl -n openfaas rollout status deploy\/edge-router$/,
      /^kubectl apply -f -$/,
      /^faas-cli up -f stack\.yml$/,
    ])
      expect(lines).toContainEqual(expect.stringMatching(expected));
    const applied = result.calls.filter((c) => c.stdin !== undefined && c.args.includes("apply"));
    const kinds = applied.flatMap((c) => parseAllDocuments(c.stdin!).map((d) => (d.toJS() as { kind: string }).kind));
    expect(kinds).toEqual(expect.arrayContaining(["Gateway", "HTTPRoute", "Certificate", "ClusterIssuer"]));
  });

  it("the edge router it applies serves the domain exported at the top, and the Gateway routes *.<domain> to it", async () => {
    const domain = /export DOMAIN=(\S+)/.exec((await blocksOf(GUIDE, ["sh"])).map((b) => b.body).join("\n"))?.[1];
    const docs = result.calls
      .filter((c) => c.stdin !== undefined && c.args.includes("apply"))
      .flatMap((c) => parseAllDocuments(c.stdin!).map((d) => d.toJS() as AppliedDoc));
    const router = docs.find((d) => d.kind === "Deployment" && d.metadata?.name === "edge-router");
    const env = router?.spec?.template?.spec?.containers?.find((c) => c.name === "edge-router")?.env ?? [];
    expect(env.find((e) => e.name === "domain")?.value).toBe(domain);
    const edge = docs.find((d) => d.kind === "HTTPRoute" && d.metadata?.name === "edge");
    expect(edge?.spec?.hostnames).toEqual([`*.${domain}`]);
    expect(edge?.spec?.rules?.map((r) => r.backendRefs)).toEqual([[{ name: "edge-router", port: 8080 }]]);
  });

  it("the secrets folder ends up with only files scripts/create-secrets.sh or a command of the guide reads", async () => {
    const files = await readdir(join(result.home, "ofc-secrets"));
    const read = new Set([...(await scriptSecretFiles()), ...fromFiles(result.calls.map((c) => c.args))]);
    expect(files.filter((f) => !read.has(f))).toEqual([]);
    expect(files).toEqual(expect.arrayContaining(["payload-secret", "registry-config.json", "s3-access-key"]));
  });

  it("the Gateway it applies names the domain exported at the top, nowhere example.com", async () => {
    const applied = result.calls.find((c) => c.stdin?.includes("kind: Gateway"));
    const domain = /export DOMAIN=(\S+)/.exec((await blocksOf(GUIDE, ["sh"])).map((b) => b.body).join("\n"))?.[1];
    expect(domain).toBeDefined();
    const hosts = parseAllDocuments(applied!.stdin!).flatMap((d) => {
      const doc = d.toJS() as { spec?: { hostnames?: string[]; dnsNames?: string[] } };
      return [...(doc.spec?.hostnames ?? []), ...(doc.spec?.dnsNames ?? [])];
    });
    expect(hosts.length).toBeGreaterThan(0);
    for (const host of hosts) expect(host.endsWith(`.${domain}`)).toBe(true);
  });
});

/** The parts of an applied Deployment or HTTPRoute the edge router's checks read. */
interface AppliedDoc {
  kind?: string;
  metadata?: { name?: string };
  spec?: {
    hostnames?: string[];
    rules?: Array<{ backendRefs?: unknown[] }>;
    template?: { spec?: { containers?: Array<{ name: string; env?: Array<{ name: string; value?: string }> }> } };
  };
}

/** The files in the secrets folder scripts/create-secrets.sh reads (its `name|namespace|key|file` entries). */
async function scriptSecretFiles(): Promise<string[]> {
  return [...(await text("scripts/create-secrets.sh")).matchAll(/"[^"|\s]+\|[^"|\s]+\|[^"|\s]+\|([^"|\s]+)"/g)].map(
    (m) => m[1]!,
  );
}

/** The file names `--from-file=[key=]path` arguments read from a secrets folder. */
function fromFiles(commands: string[][]): string[] {
  return commands
    .flat()
    .filter((a) => a.startsWith("--from-file="))
    .map((a) => a.split("/").at(-1)!);
}

describe(`${GUIDE}: the in-cluster registry (Pro) and MinIO paths, run after the install`, () => {
  let dir: string;
  let result: Walk;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "install-guide-"));
    const guide = await text(GUIDE);
    const other = fencedBlocks(guide).filter(
      (b) => b.lang === "shell" && (b.body.includes("htpasswd -nbB") || b.body.includes("minio/minio")),
    );
    expect(other).toHaveLength(2);
    result = await walk([guide, ...other.map((b) => `\`\`\`sh\n${b.body}\n\`\`\``)].join("\n"), dir);
  }, 60_000);
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("htpasswd's accounts pass scripts/create-secrets.sh, and every call finds what it needs", () => {
    expect({ status: result.status, stderr: result.stderr, problems: result.problems }).toEqual({
      status: 0,
      stderr: "",
      problems: [],
    });
    const lines = result.calls.map((c) => [c.name, ...c.args].join(" "));
    expect(lines).toContainEqual("kubectl apply -f yaml/registry.yaml");
    expect(lines).toContainEqual(
      expect.stringMatching(/^helm upgrade --install minio minio\/minio --version 5\.4\.0 /),
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------
// What the guide names, read without running it

describe(`${GUIDE}, read`, () => {
  it("every command in its sh and shell blocks (and inside $( … )) is one it may use", async () => {
    const unknown: string[] = [];
    for (const block of await blocksOf(GUIDE, ["sh", "shell"]))
      for (const words of allCommands(block.body)) {
        const name = commandName(words);
        if (name !== undefined && !KNOWN_COMMANDS.has(name)) unknown.push(words.join(" "));
      }
    expect(unknown).toEqual([]);
  });

  it("every `helm upgrade --install` (README included) pins its chart, and sets only keys the chart's values have", async () => {
    const problems: string[] = [];
    const readme = section(await text("README.md"), "Deploying on a real cluster");
    const scripts = [...(await blocksOf(GUIDE, ["sh", "shell"])), ...fencedBlocks(readme)].map((b) => b.body);
    const installs = helmInstalls(scripts.flatMap((s) => shellCommands(s)));
    for (const install of installs) {
      const name = vendoredValues(install.chart);
      if (install.version === undefined) problems.push(`${install.release}: no --version`);
      if (install.sets.length === 0 || install.version === undefined) continue;
      if (name === undefined) {
        problems.push(`${install.release}: --set on ${install.chart}, whose values are not vendored`);
        continue;
      }
      const values = await chartValues(name, install.version);
      for (const [key] of install.sets) {
        const problem = unknownValueKey(values, key);
        if (problem) problems.push(`${install.release} ${install.version}: ${problem}`);
      }
    }
    expect(installs.length).toBeGreaterThanOrEqual(5);
    expect(problems).toEqual([]);
  });

  it("README.md installs OpenFaaS with the same chart version and values as the guide's Community Edition path", async () => {
    const openfaas = (scripts: string[]) =>
      helmInstalls(scripts.flatMap((s) => shellCommands(s))).find((i) => i.chart === "openfaas/openfaas");
    const guide = openfaas((await blocksOf(GUIDE, ["sh"])).map((b) => b.body));
    const readme = openfaas(
      fencedBlocks(section(await text("README.md"), "Deploying on a real cluster")).map((b) => b.body),
    );
    expect(readme?.version).toBe(guide?.version);
    expect(new Map(readme?.sets)).toEqual(new Map(guide?.sets));
  });

  it("every secret file it names is one scripts/create-secrets.sh reads, or one a command of the guide reads", async () => {
    const guide = await text(GUIDE);
    const named = [...guide.matchAll(/(?:~|\$HOME)\/ofc-secrets\/([\w.-]+)/g)].map((m) => m[1]!);
    const commands = (await blocksOf(GUIDE, ["sh", "shell"])).flatMap((b) => shellCommands(b.body));
    const read = new Set([...(await scriptSecretFiles()), ...fromFiles(commands)]);
    expect(named.length).toBeGreaterThan(5);
    expect([...new Set(named.filter((f) => !read.has(f)))]).toEqual([]);
  });

  it("every setting it names (`snake_case` in prose, keys in its YAML) is a setting of docs/configuration.md or OpenFaaS's own", async () => {
    const guide = await text(GUIDE);
    const prose = guide.replace(/^\s*```[\s\S]*?^\s*```/gm, "");
    const names = new Set(
      [...prose.matchAll(/`([^`]+)`/g)]
        .flatMap((m) => [...m[1]!.matchAll(/(?<![\w./-])([a-z][a-z0-9]*(?:_[a-z0-9]+)+)(?![\w-]|\.\w)/g)])
        .map((m) => m[1]!),
    );
    for (const block of await blocksOf(GUIDE, ["yaml"]))
      for (const key of Object.keys((parse(block.body) as Record<string, unknown> | null) ?? {})) names.add(key);
    const documented = [...(await text("docs/configuration.md")).matchAll(/^\|\s*((?:`[^`]+`[,\s]*)+)\|/gm)].flatMap(
      (m) => [...m[1]!.matchAll(/`([^`]+)`/g)].map((n) => n[1]!),
    );
    const known = new Set([...settingNames, ...documented, ...UPSTREAM_NAMES]);
    expect([...names].filter((n) => !known.has(n))).toEqual([]);
    expect(names).toContain("openfaas_edition");
  });

  it("every Deployment it restarts is a stack.yml function (openfaas-fn) or a Deployment of yaml/ (openfaas)", async () => {
    const functions = (await stackSecrets()).map((f) => `openfaas-fn/${f.name}`);
    const ours: string[] = [];
    for (const file of (await readdir(join(ROOT, "yaml"))).filter((f) => f.endsWith(".yaml")))
      for (const d of parseAllDocuments(await text(`yaml/${file}`))) {
        const doc = d.toJS() as { kind?: string; metadata?: { name: string; namespace: string } } | null;
        if (doc?.kind === "Deployment") ours.push(`${doc.metadata!.namespace}/${doc.metadata!.name}`);
      }
    const known = new Set([...functions, ...ours]);
    const restarted: string[] = [];
    for (const block of await blocksOf(GUIDE, ["sh", "shell"]))
      for (const words of shellCommands(block.body)) {
        if (words[0] !== "kubectl" || !words.includes("restart")) continue;
        const ns = words[words.indexOf("-n") + 1];
        restarted.push(...words.filter((w) => w.startsWith("deploy/")).map((w) => `${ns}/${w.slice(7)}`));
      }
    expect(restarted.length).toBeGreaterThan(0);
    expect(restarted.filter((d) => !known.has(d))).toEqual([]);
  });

  it("the yaml/ manifests its other paths apply are valid for their kinds", async () => {
    const problems: string[] = [];
    for (const block of await blocksOf(GUIDE, ["shell"]))
      for (const words of shellCommands(block.body)) {
        if (words[0] !== "kubectl" || !words.includes("apply")) continue;
        const file = words[words.indexOf("-f") + 1]!;
        for (const d of parseAllDocuments(await text(file)))
          problems.push(...(await manifestProblems(d.toJS() as Record<string, unknown>)).map((p) => `${file}: ${p}`));
      }
    expect(problems).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// One BuildKit release, named in one place

/** yaml/of-builder.yaml's buildkitd image: where the release is chosen. */
const SOURCE_OF_TRUTH = /^moby\/buildkit:(v\d+\.\d+\.\d+)-rootless@sha256:[0-9a-f]{64}$/;

/**
 * Problems with the BuildKit images of a set of files (path → text): the source of truth must be a release pinned by
 * digest; docker-compose.yml's buildkitd must be the same image; of-builder's buildctl must come from the same
 * release, by digest; any other `moby/buildkit:` mention must be one of those two.
 */
function buildkitProblems(files: Record<string, string>): string[] {
  const problems: string[] = [];
  const manifest = parseAllDocuments(files["yaml/of-builder.yaml"] ?? "").map(
    (d) =>
      d.toJS() as {
        kind?: string;
        spec?: { template?: { spec?: { containers?: Array<{ name: string; image: string }> } } };
      },
  );
  const source = manifest
    .find((d) => d.kind === "Deployment")
    ?.spec?.template?.spec?.containers?.find((c) => c.name === "buildkitd")?.image;
  const release = SOURCE_OF_TRUTH.exec(source ?? "")?.[1];
  if (!release)
    return [`yaml/of-builder.yaml: buildkitd's image ${source} is not moby/buildkit:vX.Y.Z-rootless@sha256:…`];
  const compose = parse(files["docker-compose.yml"] ?? "") as { services?: Record<string, { image?: string }> };
  if (compose.services?.buildkitd?.image !== source)
    problems.push(`docker-compose.yml: buildkitd runs ${compose.services?.buildkitd?.image}, not ${source}`);
  const buildctl = /COPY --from=(moby\/buildkit:\S+) \/usr\/bin\/buildctl/.exec(
    files["of-builder/Dockerfile"] ?? "",
  )?.[1];
  if (!buildctl || !new RegExp(`^moby/buildkit:${release}@sha256:[0-9a-f]{64}$`).test(buildctl))
    problems.push(`of-builder/Dockerfile: buildctl comes from ${buildctl}, not moby/buildkit:${release}@sha256:…`);
  for (const [path, content] of Object.entries(files))
    for (const [ref] of content.matchAll(/moby\/buildkit:[\w.-]+(?:@sha256:[0-9a-f]+)?/g))
      if (ref !== source && ref !== buildctl)
        problems.push(`${path}: names ${ref}, not the release yaml/of-builder.yaml pins`);
  return problems;
}

/** The files that name BuildKit images: the deployment files and every text the operator reads. */
async function buildkitFiles(): Promise<Record<string, string>> {
  const paths = ["README.md", "docker-compose.yml", "of-builder/Dockerfile", "yaml/of-builder.yaml"];
  // Files only: docs/images/ holds the dashboard's screenshots (issue #14).
  for (const folder of ["docs", "yaml"]) {
    const entries = await readdir(join(ROOT, folder), { withFileTypes: true });
    paths.push(...entries.filter((e) => e.isFile()).map((e) => `${folder}/${e.name}`));
  }
  return Object.fromEntries(await Promise.all([...new Set(paths)].map(async (p) => [p, await text(p)] as const)));
}

describe("the BuildKit release (issue #11)", () => {
  it("yaml/of-builder.yaml pins it by digest; docker-compose.yml, of-builder's buildctl and the docs follow it", async () => {
    expect(buildkitProblems(await buildkitFiles())).toEqual([]);
  });

  it("a compose file left on the old tag, a buildctl of another release and a doc naming a tag → each reported", async () => {
    const files = await buildkitFiles();
    const pinned = /image: (moby\/buildkit:\S+)/.exec(files["yaml/of-builder.yaml"]!)![1]!;
    files["docker-compose.yml"] = files["docker-compose.yml"]!.replace(pinned, "moby/buildkit:v0.13.2-rootless");
    files["of-builder/Dockerfile"] = files["of-builder/Dockerfile"]!.replace(
      /moby\/buildkit:v[\d.]+@/,
      "moby/buildkit:v0.31.0@",
    );
    files["docs/extra.md"] = "runs `moby/buildkit:v0.32.2-rootless`\n";
    expect(buildkitProblems(files)).toEqual([
      `docker-compose.yml: buildkitd runs moby/buildkit:v0.13.2-rootless, not ${pinned}`,
      expect.stringMatching(/^of-builder\/Dockerfile: buildctl comes from moby\/buildkit:v0\.31\.0@sha256:/),
      "docker-compose.yml: names moby/buildkit:v0.13.2-rootless, not the release yaml/of-builder.yaml pins",
      "docs/extra.md: names moby/buildkit:v0.32.2-rootless, not the release yaml/of-builder.yaml pins",
    ]);
  });

  it("a source of truth without a digest → reported, nothing else trusted", async () => {
    const files = await buildkitFiles();
    files["yaml/of-builder.yaml"] = files["yaml/of-builder.yaml"]!.replace(/-rootless@sha256:[0-9a-f]+/, "-rootless");
    expect(buildkitProblems(files)).toEqual([
      expect.stringMatching(/^yaml\/of-builder\.yaml: buildkitd's image moby\/buildkit:v[\d.]+-rootless is not /),
    ]);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The checks themselves: each must catch what it is for.

describe("the helm values check catches", () => {
  let values: unknown;
  beforeAll(async () => {
    values = await chartValues("openfaas", "15.0.6");
  });

  /** `--set` key → the problem reported (undefined: accepted). */
  const cases: Record<string, string | undefined> = {
    "gateway.upstreamTimeout": undefined,
    exposeServices: undefined,
    "queueWorker.replicas": undefined,
    "nodeSelector.disktype": undefined, // an empty map in the values takes any key
    "gateway.upstreamTimout": "the chart has no value gateway.upstreamTimout",
    "queueWorker.maxInflight": "the chart has no value queueWorker.maxInflight", // CE's queue-worker ignores it
    "faasnetes.readTimeout": "the chart has no value faasnetes.readTimeout", // the chart copies gateway.readTimeout
    gateway: "the chart keeps a map there, not a single value",
    "exposeServices.enabled": "exposeServices is not a map in the chart's values",
    "ingress.hosts[0].host": "not a plain dotted key (lists and escapes are not checked)",
  };
  it.each(Object.keys(cases))("--set %s → the problem the table gives, or none", (key) => {
    const expected = cases[key];
    expect(unknownValueKey(values, key)).toBe(expected === undefined ? undefined : `${key}: ${expected}`);
  });

  it("a guide whose helm command sets a key the chart lacks → the replay names it", async () => {
    const dir = await mkdtemp(join(tmpdir(), "install-guide-check-"));
    try {
      const guide = [
        "```sh",
        "helm repo add openfaas https://openfaas.github.io/faas-netes/",
        "kubectl create namespace openfaas",
        "kubectl create namespace openfaas-fn",
        "helm upgrade --install openfaas openfaas/openfaas --version 15.0.6 --namespace openfaas \\",
        "  --set queueWorker.maxInflight=4 --set gateway.upstreamTimeout=",
        "helm upgrade --install eg oci://docker.io/envoyproxy/gateway-helm --namespace envoy-gateway-system",
        "```",
      ].join("\n");
      const result = await walk(guide, dir);
      expect(result.status).toBe(0);
      expect(result.problems).toEqual([
        expect.stringMatching(/queueWorker\.maxInflight: the chart has no value queueWorker\.maxInflight$/),
        expect.stringMatching(/: gateway\.upstreamTimeout is set to nothing$/),
        expect.stringMatching(/^#5 helm .*: no --version: the chart is not pinned$/),
        expect.stringMatching(/^#5 helm .*: namespace envoy-gateway-system does not exist yet$/),
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("the walk catches", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "install-guide-check-"));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));
  /** Walks a guide of one sh block holding these lines. */
  const walkLines = (...lines: string[]) => walk(["```sh", ...lines, "```"].join("\n"), dir);

  it("secrets turned into Kubernetes secrets before their files are written → the script stops", async () => {
    const result = await walkLines(
      "mkdir -m 700 ~/ofc-secrets",
      "openssl rand -hex 32 > ~/ofc-secrets/payload-secret",
      "scripts/create-secrets.sh ~/ofc-secrets",
    );
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("missing or empty");
  });

  it("a misspelled command, and a variable used before the guide exports it → the script stops", async () => {
    const typo = await walkLines("kubctl create namespace openfaas");
    expect({ status: typo.status, stderr: typo.stderr }).toEqual({
      status: 127,
      stderr: expect.stringContaining("kubctl"),
    });
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir);
    const unset = await walkLines('docker login "$REGISTRY"');
    expect(unset.status).toBe(1);
    expect(unset.stderr).toContain("REGISTRY: unbound variable");
    expect(
      allCommands("kubctl get pods")
        .map(commandName)
        .filter((c) => !KNOWN_COMMANDS.has(c!)),
    ).toEqual(["kubctl"]);
  });

  it("of-builder applied before its namespace is labelled and its secrets exist, then given an image never pushed", async () => {
    const result = await walkLines(
      "kubectl create namespace openfaas",
      "kubectl apply -f yaml/of-builder.yaml",
      "kubectl -n openfaas set image deploy/of-builder of-builder=ghcr.io/me/ofc-ts-of-builder:1",
      "kubectl -n openfaas rollout status deploy/of-bilder",
    );
    expect(result.status).toBe(0);
    expect(result.problems).toEqual([
      "#2 kubectl apply -f yaml/of-builder.yaml: Deployment of-builder: its pods wait for secret openfaas/payload-secret, which does not exist yet",
      "#2 kubectl apply -f yaml/of-builder.yaml: Deployment of-builder: its pods wait for secret openfaas/registry-secret, which does not exist yet",
      "#2 kubectl apply -f yaml/of-builder.yaml: Deployment of-builder: unconfined profiles need namespace openfaas at Pod Security level privileged (it is unset)",
      "#3 kubectl -n openfaas set image deploy/of-builder of-builder=ghcr.io/me/ofc-ts-of-builder:1: image ghcr.io/me/ofc-ts-of-builder:1 was not pushed",
      "#4 kubectl -n openfaas rollout status deploy/of-bilder: no Deployment openfaas/of-bilder yet",
    ]);
  });

  it("the Gateway's routes applied before the edge router's Service exists → the edge route's backend named", async () => {
    const result = await walkLines(
      "kubectl create namespace openfaas",
      "helm upgrade --install eg oci://docker.io/envoyproxy/gateway-helm --version v1.9.0 \\",
      "  --namespace envoy-gateway-system --create-namespace",
      "helm upgrade --install cert-manager oci://quay.io/jetstack/charts/cert-manager --version v1.21.1 \\",
      "  --namespace cert-manager --create-namespace --set crds.enabled=true",
      "helm repo add openfaas https://openfaas.github.io/faas-netes/",
      "kubectl create namespace openfaas-fn",
      "helm upgrade --install openfaas openfaas/openfaas --version 15.0.6 --namespace openfaas",
      "kubectl apply -f yaml/gateway.yaml",
      "kubectl apply -f yaml/edge-router.yaml",
      "kubectl apply -f yaml/gateway.yaml",
    );
    expect(result.problems).toEqual([
      "#7 kubectl apply -f yaml/gateway.yaml: HTTPRoute edge: backend Service openfaas/edge-router does not exist yet (the route answers 500 until it does)",
    ]);
  });

  it("the Gateway applied before Envoy Gateway and cert-manager are installed → no CRD for its kinds", async () => {
    const result = await walkLines(
      "kubectl create namespace openfaas",
      "kubectl apply -f yaml/gateway.yaml",
      "faas-cli up -f stack.yml",
    );
    expect(result.problems).toEqual(
      expect.arrayContaining([
        "#2 kubectl apply -f yaml/gateway.yaml: GatewayClass envoy-gateway: no CRD for gateway.networking.k8s.io is installed yet",
        "#2 kubectl apply -f yaml/gateway.yaml: ClusterIssuer letsencrypt-dns: no CRD for cert-manager.io is installed yet",
        "#3 faas-cli up -f stack.yml: faas-cli is not logged in to the gateway yet",
        expect.stringMatching(/^#3 faas-cli up -f stack\.yml: \S+ mounts secret payload-secret, not created yet$/),
      ]),
    );
  });
});
