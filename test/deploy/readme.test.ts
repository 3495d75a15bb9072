import { constants } from "node:fs";
import { access, chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { parse, parseAllDocuments } from "yaml";
import { readStack } from "../../shared/stack.js";
import { manifestProblems } from "../support/manifest-check.js";
import { fencedBlocks, section } from "../support/markdown.js";
import { flagValues, positionalArgs, shellCommands } from "../support/shell-words.js";

// The fresh-machine check (issue #6): an operator with a clean checkout follows README.md's install commands and the
// docs. Every repository file those commands name must exist, every stack.yml function must be buildable from this
// tree, and every relative link in the docs must land. Nothing here needs a cluster: the commands are read, not run.
const ROOT = join(import.meta.dirname, "..", "..");
const SECTION = "Deploying on a real cluster";
/** Docs whose shell blocks are held to the same rule (the operator's guides). */
const GUIDES = ["docs/install.md", "docs/upgrade.md", "docs/troubleshooting.md"];
/** The functions the docs name one by one (restart commands, troubleshooting). */
const SYSTEM_FUNCTIONS = [
  "github-event",
  "github-push",
  "gitlab-event",
  "gitlab-push",
  "git-tar",
  "buildshiprun",
  "garbage-collect",
  "pipeline-log",
  "build-reaper",
  "edge-auth",
  "dashboard-api",
  "import-secrets",
];

// ---------------------------------------------------------------------------------------------------------------
// Markdown

/** The markdown outside code: fenced blocks and inline code spans blanked, so their brackets are not links. */
function prose(markdown: string): string {
  const kept: string[] = [];
  let inFence = false;
  for (const line of markdown.split("\n")) {
    if (/^\s*```/.test(line)) inFence = !inFence;
    else if (!inFence) kept.push(line.replace(/(`+)[\s\S]*?\1/g, ""));
  }
  return kept.join("\n");
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to "-", repeats numbered. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  let inFence = false;
  for (const line of markdown.split("\n")) {
    if (/^\s*```/.test(line)) inFence = !inFence;
    const heading = inFence ? null : /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!heading) continue;
    const text = heading[1]!.replace(/\[([^\]]*)\]\([^)]*\)/g, "$1").replace(/`/g, "");
    const base = text
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, "")
      .replace(/\s/g, "-");
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    out.add(count === 0 ? base : `${base}-${count}`);
  }
  return out;
}

/** Relative link targets in a markdown file (inline links, images and reference definitions), outside code. */
function relativeLinks(markdown: string): string[] {
  const text = prose(markdown);
  const targets = [
    ...[...text.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]!),
    ...[...text.matchAll(/^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+"[^"]*")?\s*$/gm)].map((m) => m[1]!),
  ];
  return targets.filter((t) => !/^[a-z][a-z0-9+.-]*:/i.test(t));
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** Problems with the relative links of one markdown file: a missing file, or a heading anchor that is not there. */
async function checkLinks(root: string, file: string): Promise<string[]> {
  const problems: string[] = [];
  const markdown = await readFile(join(root, file), "utf8");
  for (const target of relativeLinks(markdown)) {
    const [path = "", anchor] = target.split("#", 2);
    const resolved = path === "" ? join(root, file) : resolve(dirname(join(root, file)), decodeURI(path));
    if (!(await exists(resolved))) {
      problems.push(`${file}: link ${target}: no such file`);
      continue;
    }
    if (anchor !== undefined && resolved.endsWith(".md")) {
      if (!anchors(await readFile(resolved, "utf8")).has(anchor))
        problems.push(`${file}: link ${target}: no heading with that anchor`);
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------------------------
// Shell

/** `docker build` flags that take a value, so that the context (the one positional argument) can be found. */
const DOCKER_BUILD_VALUE_FLAGS = new Set([
  "-t",
  "--tag",
  "-f",
  "--file",
  "--build-arg",
  "--target",
  "--platform",
  "--label",
  "--secret",
  "-o",
  "--output",
  "--cache-from",
  "--cache-to",
  "--progress",
  "--network",
  "--iidfile",
]);

function dockerBuildContext(args: string[]): string | undefined {
  return positionalArgs(args, DOCKER_BUILD_VALUE_FLAGS).at(-1);
}

interface Checker {
  root: string;
  /** README mode: every `kubectl apply -f` file is in yaml/, and bare file names count as repository paths. */
  strict: boolean;
  /** Top-level folders of the repository: a word starting with one of them and a "/" names a repository path. */
  folders: Set<string>;
}

async function checker(root: string, strict: boolean): Promise<Checker> {
  const entries = await readdir(root, { withFileTypes: true });
  const folders = entries
    .filter((e) => e.isDirectory() && !e.name.startsWith(".") && e.name !== "node_modules")
    .map((e) => e.name);
  return { root, strict, folders: new Set(folders) };
}

/** The repository paths a word (or an `=`-separated part of it) names, e.g. `yaml/of-builder.yaml`. */
function repoPaths(word: string, check: Checker): string[] {
  return [word, ...word.split("=").slice(1)]
    .map((part) => part.replace(/^\.\//, ""))
    .filter((part) => /^[\w.][\w.\-/]*$/.test(part))
    .filter((part) => {
      const [first = "", ...rest] = part.split("/");
      if (rest.length > 0) return check.folders.has(first);
      return check.strict && /\.(ya?ml|sh|md|json|toml)$/.test(part);
    });
}

async function isExecutable(path: string): Promise<boolean> {
  return access(path, constants.X_OK).then(
    () => true,
    () => false,
  );
}

/** Problems with one command: repository paths it names that do not exist, and the command-specific rules. */
async function checkCommand(words: string[], check: Checker): Promise<string[]> {
  const problems: string[] = [];
  const shown = words.join(" ");
  const at = (path: string) => join(check.root, path);
  // `REPO=x faas-cli up`: leading assignments are environment, not the command.
  const start = words.findIndex((w) => !/^[A-Za-z_][A-Za-z0-9_]*=/.test(w));
  if (start < 0) return problems;
  const [command = "", ...args] = words.slice(start);

  for (const word of words)
    for (const path of repoPaths(word, check))
      if (!(await exists(at(path)))) problems.push(`${shown}: ${path} does not exist`);

  // A script run by path must be there and executable; one run by bash or sh must be there. (Checked apart from the
  // rule above, which only knows folders that still exist.)
  const local = (path: string | undefined) => path !== undefined && /^(\.\/)?[\w.-]+\/[\w.\-/]*$/.test(path);
  const script = command.replace(/^\.\//, "");
  if (local(command)) {
    if (!(await exists(at(script)))) problems.push(`${shown}: ${script} does not exist`);
    else if (!(await isExecutable(at(script))))
      problems.push(`${shown}: ${script} is not executable (run it with bash, or chmod +x it)`);
  }
  if ((command === "bash" || command === "sh") && local(args[0]) && !(await exists(at(args[0]!))))
    problems.push(`${shown}: ${args[0]!.replace(/^\.\//, "")} does not exist`);

  if (command === "kubectl" && args.includes("apply")) {
    for (const file of flagValues(args, ["-f", "--filename"])) {
      if (file === "-") continue;
      if (check.strict && !file.replace(/^\.\//, "").startsWith("yaml/"))
        problems.push(`${shown}: ${file} is not one of the manifests in yaml/`);
      if (check.strict && !(await exists(at(file)))) problems.push(`${shown}: ${file} does not exist`);
    }
  }

  if (command === "faas-cli" && ["up", "deploy", "build", "push", "publish"].includes(args[0] ?? "")) {
    const [file = "stack.yml"] = flagValues(args, ["-f", "--yaml"]);
    if (file.replace(/^\.\//, "") !== "stack.yml") problems.push(`${shown}: expected the system's stack.yml`);
    else problems.push(...(await checkStack(check.root)).map((p) => `${shown}: ${p}`));
  }

  const build = command === "docker" && args[0] === "build" ? args.slice(1) : undefined;
  const buildx = command === "docker" && args[0] === "buildx" && args[1] === "build" ? args.slice(2) : undefined;
  const dockerArgs = build ?? buildx;
  if (dockerArgs) {
    const files = flagValues(dockerArgs, ["-f", "--file"]);
    if (files.length === 0) problems.push(`${shown}: name the Dockerfile with -f`);
    for (const file of files) if (!(await exists(at(file)))) problems.push(`${shown}: ${file} does not exist`);
    const context = dockerBuildContext(dockerArgs);
    if (context === undefined) problems.push(`${shown}: no build context`);
    else if (!context.includes("$") && !(await exists(at(context))))
      problems.push(`${shown}: build context ${context} does not exist`);
  }
  // A path can break two rules (it is named, and it is the Dockerfile): say it once.
  return [...new Set(problems)];
}

/** Problems with every command of a shell block; after a `cd` elsewhere, paths are no longer the repository's. */
async function checkScript(script: string, check: Checker): Promise<string[]> {
  const problems: string[] = [];
  for (const words of shellCommands(script)) {
    if (words[0] === "cd") {
      if (words[1] !== undefined && words[1] !== "." && words[1] !== "-") break;
      continue;
    }
    problems.push(...(await checkCommand(words, check)));
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------------------------
// stack.yml

interface RawFunction {
  lang?: unknown;
  handler?: unknown;
  environment_file?: unknown;
}

/** What `faas-cli up -f stack.yml` needs from this tree, for every function, as problems. */
async function checkStack(root: string): Promise<string[]> {
  const problems: string[] = [];
  if (!(await exists(join(root, "stack.yml")))) return ["stack.yml does not exist"];
  // readStack is git-tar's own reader: faas-cli's rules, environment_files merged (and so required to exist).
  const stack = await readStack(root, {}).catch((error: Error) => {
    problems.push(`stack.yml: ${error.message}`);
    return undefined;
  });
  if (!stack) return problems;
  // The raw file, for the environment_file lists readStack merges away.
  const raw = parse(await readFile(join(root, "stack.yml"), "utf8")) as { functions?: Record<string, RawFunction> };
  for (const path of stack.configuration.copy)
    if (!(await exists(join(root, path)))) problems.push(`configuration.copy ${path} does not exist`);
  for (const fn of stack.functions) {
    const handler = join(root, fn.handler);
    if (!(await exists(join(handler, "handler.ts"))))
      problems.push(`function ${fn.name}: handler ${fn.handler} has no handler.ts`);
    for (const file of ["template.yml", "Dockerfile"]) {
      const path = join("template", fn.lang, file);
      if (!(await exists(join(root, path)))) problems.push(`function ${fn.name}: ${path} does not exist`);
    }
    const files = raw.functions?.[fn.name]?.environment_file;
    for (const file of Array.isArray(files) ? (files as unknown[]) : []) {
      if (typeof file !== "string" || !(await exists(join(root, file))))
        problems.push(`function ${fn.name}: environment_file ${String(file)} does not exist`);
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------------------------
// The checks, on this repository

async function readmeCommands(root: string): Promise<string> {
  const blocks = fencedBlocks(section(await readFile(join(root, "README.md"), "utf8"), SECTION)).filter(
    (b) => b.lang === "sh",
  );
  if (blocks.length !== 1) throw new Error(`"${SECTION}" must hold exactly one sh block, found ${blocks.length}`);
  return blocks[0]!.body;
}

describe(`README.md "${SECTION}"`, () => {
  it("every command's repository files exist, scripts are executable, manifests come from yaml/", async () => {
    const problems = await checkScript(await readmeCommands(ROOT), await checker(ROOT, true));
    expect(problems).toEqual([]);
  });

  it("names every install step: secrets, of-builder and its policies, its image, the edge router, the functions", async () => {
    const commands = shellCommands(await readmeCommands(ROOT)).map((w) => w.join(" "));
    for (const expected of [
      /^scripts\/create-secrets\.sh \S+$/,
      /^kubectl apply -f yaml\/of-builder\.yaml$/,
      /^kubectl apply -f yaml\/network-policies\.yaml$/,
      /^docker build -f of-builder\/Dockerfile .* \.$/,
      /^kubectl -n openfaas set image deploy\/of-builder of-builder=/,
      /^docker build -f edge-router\/Dockerfile .* \.$/,
      /^sed .* yaml\/edge-router\.yaml$/,
      /^kubectl -n openfaas set image deploy\/edge-router edge-router=/,
      /^faas-cli up -f stack\.yml$/,
    ])
      expect(commands).toContainEqual(expect.stringMatching(expected));
  });

  it.each(["of-builder", "edge-router"])(
    "the %s image it builds is the one it sets, on a container yaml/<name>.yaml has",
    async (name) => {
      const commands = shellCommands(await readmeCommands(ROOT));
      const build = commands.find(
        (w) => w[0] === "docker" && w[1] === "build" && flagValues(w, ["-f", "--file"])[0] === `${name}/Dockerfile`,
      );
      const set = commands.find((w) => w.includes("set") && w.includes("image") && w.includes(`deploy/${name}`));
      const [built] = flagValues(build ?? [], ["-t", "--tag"]);
      expect(built).toBeDefined();
      const assignment = set?.find((w) => w.includes("="));
      expect(assignment).toBe(`${name}=${built}`);
      const manifest = parseAllDocuments(await readFile(join(ROOT, "yaml", `${name}.yaml`), "utf8"))
        .map((d) => d.toJS() as { kind?: string; spec?: { template?: { spec?: { containers?: { name: string }[] } } } })
        .find((d) => d.kind === "Deployment");
      expect(manifest?.spec?.template?.spec?.containers?.map((c) => c.name)).toContain(name);
    },
  );
});

describe("stack.yml, as faas-cli up reads it from this checkout", () => {
  it("every function's handler, template, environment_files and configuration.copy exist", async () => {
    expect(await checkStack(ROOT)).toEqual([]);
  });

  it("holds the seven system functions the docs name, with ofc-ts-<name> images", async () => {
    const stack = await readStack(ROOT, {});
    expect(stack.functions.map((f) => f.name).sort()).toEqual([...SYSTEM_FUNCTIONS].sort());
    for (const fn of stack.functions) expect(fn.image).toMatch(new RegExp(`/ofc-ts-${fn.name}:[^/]+$`));
  });
});

describe("the operator's guides", () => {
  it.each(GUIDES)("%s: every repository file its shell blocks name exists", async (file) => {
    const check = await checker(ROOT, false);
    // `shell` blocks are the commands of another path (test/deploy/install-guide.test.ts); their files count too.
    const blocks = fencedBlocks(await readFile(join(ROOT, file), "utf8")).filter((b) =>
      ["sh", "shell"].includes(b.lang),
    );
    const problems: string[] = [];
    for (const block of blocks) problems.push(...(await checkScript(block.body, check)));
    expect(problems).toEqual([]);
  });

  it("docs/install.md: its YAML examples parse, and the Kubernetes ones are valid for their kind, no unknown field", async () => {
    const blocks = fencedBlocks(await readFile(join(ROOT, "docs", "install.md"), "utf8")).filter(
      (b) => b.lang === "yaml",
    );
    const problems: string[] = [];
    for (const block of blocks) {
      for (const doc of parseAllDocuments(block.body)) {
        if (doc.errors.length > 0) problems.push(doc.errors.map((e) => e.message).join("; "));
        const value = doc.toJS() as { apiVersion?: unknown; kind?: unknown } | null;
        if (typeof value?.apiVersion !== "string" || typeof value.kind !== "string") continue;
        problems.push(...(await manifestProblems(value)));
      }
    }
    expect(blocks.length).toBeGreaterThan(0);
    expect(problems).toEqual([]);
  });
});

describe("relative links in README.md and docs/", () => {
  it("every relative link points at an existing file, and at an existing heading when it names one", async () => {
    const docs = (await readdir(join(ROOT, "docs"))).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`);
    const problems: string[] = [];
    for (const file of ["README.md", ...docs]) problems.push(...(await checkLinks(ROOT, file)));
    expect(problems).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The checks themselves, on a made-up repository: each must catch what it is for.

describe("the fresh-machine check catches", () => {
  let root: string;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "readme-check-"));
    await mkdir(join(root, "yaml"));
    await mkdir(join(root, "scripts"));
    await mkdir(join(root, "docs"));
    await mkdir(join(root, "fn"));
    await writeFile(join(root, "yaml", "present.yaml"), "kind: List\n");
    await writeFile(join(root, "scripts", "plain.sh"), "#!/bin/sh\n");
    await chmod(join(root, "scripts", "plain.sh"), 0o644);
    await writeFile(join(root, "fn", "handler.ts"), "export default 1;\n");
    await writeFile(
      join(root, "stack.yml"),
      "version: 1.0\nprovider:\n  name: openfaas\nfunctions:\n  one:\n    lang: missing-lang\n    handler: ./fn\n" +
        "    image: x:1\n  two:\n    lang: missing-lang\n    handler: ./gone\n    image: y:1\n",
    );
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  const problemsOf = async (script: string, strict = true) => checkScript(script, await checker(root, strict));

  it("a manifest named in the README that was deleted", async () => {
    expect(await problemsOf("kubectl apply -f yaml/present.yaml\nkubectl apply -f yaml/deleted.yaml\n")).toEqual([
      "kubectl apply -f yaml/deleted.yaml: yaml/deleted.yaml does not exist",
    ]);
  });

  it("a manifest from outside yaml/ (README only)", async () => {
    await writeFile(join(root, "ingress.yaml"), "kind: List\n");
    expect(await problemsOf("kubectl apply -f ingress.yaml")).toEqual([
      "kubectl apply -f ingress.yaml: ingress.yaml is not one of the manifests in yaml/",
    ]);
    expect(await problemsOf("kubectl apply -f my-own.yaml", false)).toEqual([]);
  });

  it("a script that is not executable, and one that is missing", async () => {
    expect(await problemsOf("scripts/plain.sh FOLDER\nbash scripts/gone.sh")).toEqual([
      "scripts/plain.sh FOLDER: scripts/plain.sh is not executable (run it with bash, or chmod +x it)",
      "bash scripts/gone.sh: scripts/gone.sh does not exist",
    ]);
  });

  it("files in a folder that is gone altogether", async () => {
    await rm(join(root, "yaml"), { recursive: true });
    await rm(join(root, "scripts"), { recursive: true });
    expect(await problemsOf("kubectl apply -f yaml/present.yaml\nscripts/create-secrets.sh FOLDER")).toEqual([
      "kubectl apply -f yaml/present.yaml: yaml/present.yaml does not exist",
      "scripts/create-secrets.sh FOLDER: scripts/create-secrets.sh does not exist",
    ]);
  });

  it("a Dockerfile that is missing, in a continued, commented command", async () => {
    expect(await problemsOf('docker build -f of-builder/Dockerfile \\\n  -t "$IMAGE" . # the builder\n')).toEqual([
      "docker build -f of-builder/Dockerfile -t $IMAGE .: of-builder/Dockerfile does not exist",
    ]);
  });

  it("stack.yml functions whose handler or template is missing", async () => {
    expect(await problemsOf("REPO=me TAG=1 faas-cli up -f stack.yml")).toEqual([
      "REPO=me TAG=1 faas-cli up -f stack.yml: function one: template/missing-lang/template.yml does not exist",
      "REPO=me TAG=1 faas-cli up -f stack.yml: function one: template/missing-lang/Dockerfile does not exist",
      "REPO=me TAG=1 faas-cli up -f stack.yml: function two: handler ./gone has no handler.ts",
      "REPO=me TAG=1 faas-cli up -f stack.yml: function two: template/missing-lang/template.yml does not exist",
      "REPO=me TAG=1 faas-cli up -f stack.yml: function two: template/missing-lang/Dockerfile does not exist",
    ]);
  });

  it("paths inside quotes, here-documents and pipelines are read; here-document bodies are not commands", async () => {
    const script = "cat yaml/gone.yaml | kubectl apply -f - <<'EOF'\nkubectl apply -f yaml/in-body.yaml\nEOF\n";
    expect(await problemsOf(script)).toEqual(["cat yaml/gone.yaml: yaml/gone.yaml does not exist"]);
  });

  it("a link to a missing file, and to a missing heading", async () => {
    await writeFile(join(root, "docs", "a.md"), "# A\n\n## Real heading\n");
    await writeFile(
      join(root, "README.md"),
      "[ok](docs/a.md#real-heading) [gone](docs/b.md) [bad anchor](docs/a.md#nope) `[code](docs/c.md)`\n",
    );
    expect(await checkLinks(root, "README.md")).toEqual([
      "README.md: link docs/b.md: no such file",
      "README.md: link docs/a.md#nope: no heading with that anchor",
    ]);
  });
});
