import { mkdir, mkdtemp, open, realpath, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { readStack, type OpenFile } from "./stack.js";

const fixture = (name: string) => fileURLToPath(new URL(`../test/fixtures/stacks/${name}`, import.meta.url));
let base: string;
let repo: string;
beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), "stack-"));
  repo = join(base, "repo");
  await mkdir(repo);
  await writeFile(join(base, "outside.yml"), "environment:\n  LEAK: from-outside\n");
});
afterEach(() => rm(base, { recursive: true, force: true }));

async function write(files: Record<string, string>): Promise<void> {
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(repo, path)), { recursive: true });
    await writeFile(join(repo, path), content);
  }
}
const provider = "provider:\n  name: openfaas\n";
const fn = (name: string, extra = "") =>
  `  ${name}:\n    lang: node20\n    handler: ./${name}\n    image: ${name}:latest\n${extra}`;
const stack = (functions: string, head = provider) => `${head}functions:\n${functions}`;
const refusal = (message: string | RegExp) => ({
  status: 400,
  message: typeof message === "string" ? message : expect.stringMatching(message),
});

describe("readStack: env substitution before parsing", () => {
  const image = "    image: ghcr.io/${REPO:-openfaas}/fn:${TAG:-dev}\n";
  it.each([
    [{}, "ghcr.io/openfaas/fn:dev"],
    [{ REPO: "", TAG: "" }, "ghcr.io/openfaas/fn:dev"],
    [{ REPO: "alexellis", TAG: "0.2.1" }, "ghcr.io/alexellis/fn:0.2.1"],
    [{ TAG: "sha-04b8e44" }, "ghcr.io/openfaas/fn:sha-04b8e44"],
  ])("vars %j → image %s", async (vars, expected) => {
    await write({ "stack.yml": stack(`  api:\n    lang: node20\n    handler: ./api\n${image}`) });
    expect((await readStack(repo, vars)).functions[0]?.image).toBe(expected);
  });

  it("a variable only set in process.env → its default (the builder's environment is never read)", async () => {
    process.env.OFC_STACK_TEST_TAG = "from-process-env";
    try {
      await write({ "stack.yml": stack(fn("api", "    environment:\n      T: ${OFC_STACK_TEST_TAG:-unset}\n")) });
      expect((await readStack(repo, {})).functions[0]?.environment).toEqual({ T: "unset" });
    } finally {
      delete process.env.OFC_STACK_TEST_TAG;
    }
  });

  it.each([
    ["${UNSET}", ""],
    ["'$$HOME'", "$HOME"],
    ["'$HOME'", "$HOME"],
  ])("environment value %s → %j", async (value, expected) => {
    await write({ "stack.yml": stack(fn("api", `    environment:\n      V: ${value}\n`)) });
    expect((await readStack(repo, { HOME: "/root" })).functions[0]?.environment).toEqual({ V: expected });
  });

  it("a bad substitution → parseYAML error with its line", async () => {
    await write({ "stack.yml": stack(fn("api", "    fprocess: ${BROKEN\n")) });
    await expect(readStack(repo, {})).rejects.toMatchObject(
      refusal(/^parseYAML error : bad substitution at line 8: .*missing closing brace/),
    );
  });
});

describe("readStack: fields", () => {
  it("every faas-cli field → kept, snake_case renamed, YAML scalars kept as written", async () => {
    expect(await readStack(fixture("every-field"), {})).toEqual({
      file: "stack.yml",
      version: "1.0",
      provider: { name: "openfaas", gateway: "http://127.0.0.1:8080" },
      functions: [
        {
          name: "api",
          lang: "python3-http",
          handler: "./api",
          image: "api:latest",
          fprocess: "python3 index.py",
          namespace: "openfaas-fn",
          environment: { RATIO: "1.50", DEBUG: "yes", EMPTY: "", HEX: "0x1F", NAME: "x" },
          secrets: ["db-password"],
          labels: { "com.openfaas.scale.min": "2" },
          annotations: { topic: "cron-function" },
          limits: { memory: "128Mi", cpu: "1" },
          requests: { memory: "64Mi" },
          buildArgs: { GO111MODULE: "on" },
          buildOptions: ["dev"],
          readonlyRootFilesystem: true,
          skipBuild: false,
          constraints: ["node.platform.os == linux"],
        },
      ],
      configuration: {
        templates: [{ name: "python3-http", source: "https://github.com/openfaas/python-flask-template" }],
        copy: ["./common"],
      },
    });
  });

  it("functions named zeta, 8080, alpha → returned in file order with defaults filled in", async () => {
    await write({ "stack.yml": stack(fn("zeta", "    skip_build: on\n") + fn("8080") + fn("alpha")) });
    const { functions, configuration } = await readStack(repo, {});
    expect(functions.map((f) => f.name)).toEqual(["zeta", "8080", "alpha"]);
    expect(functions[0]).toMatchObject({ skipBuild: true, secrets: [], environment: {}, buildArgs: {} });
    expect(configuration).toEqual({ templates: [], copy: [] });
  });

  it("environment < env1.yml < conf/env2.yml → later files win", async () => {
    expect((await readStack(fixture("environment-files"), {})).functions[0]?.environment).toEqual({
      A: "inline",
      B: "file1",
      C: "file2",
      PORT: "8080",
    });
  });
});

describe("readStack: files it refuses", () => {
  it.each([
    ["../outside.yml", /function "api": environment_file "\.\.\/outside\.yml" leaves the repository$/],
    ["ABSOLUTE", /function "api": environment_file ".*outside\.yml" must be a path relative to the repository$/],
    ["link.yml", /function "api": environment_file "link\.yml" leaves the repository through a symlink$/],
    ["missing.yml", /function "api": environment_file "missing\.yml" does not exist in the repository$/],
    ["conf", /function "api": environment_file "conf" must be a regular file$/],
  ])("environment_file %s → 400, the outside file never merged", async (path, message) => {
    const entry = path === "ABSOLUTE" ? join(base, "outside.yml") : path;
    await write({ "stack.yml": stack(fn("api", `    environment_file: [${JSON.stringify(entry)}]\n`)), "conf/x": "" });
    await symlink(join(base, "outside.yml"), join(repo, "link.yml"));
    await expect(readStack(repo, {})).rejects.toMatchObject(refusal(/^parseYAML error : /));
    await expect(readStack(repo, {})).rejects.toMatchObject(refusal(message));
  });

  it("stack.yml a symlink to a file outside the repo → 400, not read", async () => {
    await writeFile(join(base, "stack.yml"), stack(fn("api")));
    await symlink(join(base, "stack.yml"), join(repo, "stack.yml"));
    await expect(readStack(repo, {})).rejects.toMatchObject(
      refusal('parseYAML error : stack file "stack.yml" leaves the repository through a symlink'),
    );
  });

  it.each([
    [{ "stack.yaml": stack(fn("fromyaml")) }, "stack.yaml", "fromyaml"],
    [{ "stack.yml": stack(fn("fromyml")), "stack.yaml": stack(fn("fromyaml")) }, "stack.yml", "fromyml"],
  ])("%j → reads %s", async (files, file, name) => {
    await write(files);
    const parsed = await readStack(repo, {});
    expect([parsed.file, parsed.functions[0]?.name]).toEqual([file, name]);
  });

  it.each([[{}], [{ "sub/stack.yml": stack(fn("api")) }], [{ "Stack.yml": stack(fn("api")) }]])(
    "%j → 400 unable to find stack.yml",
    async (files) => {
      await write(files);
      await expect(readStack(repo, {})).rejects.toMatchObject(refusal("unable to find stack.yml"));
    },
  );

  it("a 2 MiB stack.yml → 400 naming the 1 MiB limit", async () => {
    await write({ "stack.yml": stack(fn("api")) + `# ${"x".repeat(2 * 1024 * 1024)}\n` });
    await expect(readStack(repo, {})).rejects.toMatchObject(
      refusal(/^parseYAML error : stack file "stack.yml" is \d+ bytes, over the 1 MiB limit$/),
    );
  });

  it.each([
    ["1000 aliases of one anchor", `x: &a lol\nbomb: [${"*a, ".repeat(999)}*a]\n`, /Excessive alias count/],
    [
      "nine nested levels of ten",
      "a: &a [lol]\n" +
        Array.from(
          { length: 8 },
          (_, i) => `${"bcdefghi"[i]}: &${"bcdefghi"[i]} [${`*${"abcdefgh"[i]}, `.repeat(9)}*${"abcdefgh"[i]}]\n`,
        ).join(""),
      /over 100000 YAML nodes once aliases are expanded/,
    ],
    [
      // Under maxAliasCount (each alias is of a node holding none), still 60 × 5000 nodes once expanded.
      "a 5000-item list aliased 60 times",
      `big: &big [${"x, ".repeat(4999)}x]\ncopies: [${"*big, ".repeat(59)}*big]\n`,
      /over 100000 YAML nodes once aliases are expanded/,
    ],
    [
      "a 3000-key map merged into 60 maps",
      `big: &big {${Array.from({ length: 3000 }, (_, i) => `k${i}: v`).join(", ")}}\n` +
        `copies: [${Array.from({ length: 60 }, () => "{<<: *big}").join(", ")}]\n`,
      /over 100000 YAML nodes once aliases are expanded/,
    ],
  ])("a YAML bomb (%s) → 400 naming the expansion limit", async (_, bomb, message) => {
    // How fast it is refused is measured by `npm run bench:stack-limits`, not asserted here: a timed test flakes
    // on a loaded machine.
    await write({ "stack.yml": stack(fn("api")) + bomb });
    await expect(readStack(repo, {})).rejects.toMatchObject(
      refusal(new RegExp(`^parseYAML error : stack.yml: ${message.source}`)),
    );
  });

  it("${SHA} repeated until the substituted file is over 1 MiB → 400 naming the limit", async () => {
    await write({ "stack.yml": stack(fn("api")) + `# ${"${SHA}".repeat(100_000)}\n` });
    await expect(readStack(repo, { SHA: "a".repeat(40) })).rejects.toMatchObject(
      refusal("parseYAML error : stack.yml is over 1 MiB once its variables are set"),
    );
  });
});

describe("readStack: stack-level refusals", () => {
  const bad = `parseYAML error : ['openfaas'] is the only valid "provider.name" for the OpenFaaS CLI, but you gave: `;
  it.each([
    ["provider faas", stack(fn("api"), "provider:\n  name: faas\n"), `${bad}faas`],
    ["no provider", stack(fn("api"), ""), bad],
    ["version 2.0", stack(fn("api"), `version: "2.0"\n${provider}`), /found: 2\.0$/],
    ["no functions", provider, 'parseYAML error : field "functions": is required'],
    ["empty functions", `${provider}functions: {}\n`, /field "functions": expected a non-empty map/],
    ["a list at the top", "- a\n", "parseYAML error : stack.yml: expected a map at the top level"],
    [
      "duplicate function",
      stack(fn("api") + fn("api")),
      /^parseYAML error : stack.yml line 8, column 3: Map keys must be unique/,
    ],
    [
      "an unclosed flow map",
      stack(fn("api", "    labels: { a: b\n")),
      /^parseYAML error : stack.yml line \d+, column \d+: /,
    ],
  ])("%s → 400", async (_, content, message) => {
    await write({ "stack.yml": content });
    await expect(readStack(repo, {})).rejects.toMatchObject(refusal(message));
  });

  it.each([
    ['version "1.0"', `version: "1.0"\n`],
    ["version 1.0", "version: 1.0\n"],
    ["no version", ""],
  ])("%s → accepted", async (_, head) => {
    await write({ "stack.yml": stack(fn("api"), head + provider) });
    await expect(readStack(repo, {})).resolves.toMatchObject({ functions: [{ name: "api" }] });
  });

  it.each([
    ["no lang", "  api:\n    handler: ./api\n    image: api\n", 'function "api": field "lang": is required'],
    [
      "lang a list",
      "  api:\n    lang: [go]\n    handler: ./a\n    image: a\n",
      'function "api": field "lang": expected a string',
    ],
    ["secrets a string", fn("api", "    secrets: db\n"), 'function "api": field "secrets": expected a list of strings'],
    [
      "a map in secrets",
      fn("api", "    secrets: [{a: b}]\n"),
      'function "api": field "secrets": expected a list of strings',
    ],
    [
      "nested env",
      fn("api", "    environment: {A: {B: c}}\n"),
      'function "api": field "environment": expected a map of strings',
    ],
    [
      "skip_build maybe",
      fn("api", "    skip_build: maybe\n"),
      'function "api": field "skip_build": expected true or false',
    ],
    [
      "limits a list",
      fn("api", "    limits: [1]\n"),
      'function "api": field "limits": expected a map of memory and cpu',
    ],
    ["a function that is a string", "  api: nope\n", 'function "api": expected a map of function fields'],
  ])("%s → 400 naming the function and field", async (_, functions, message) => {
    await write({ "stack.yml": stack(functions) });
    await expect(readStack(repo, {})).rejects.toMatchObject(refusal(`parseYAML error : ${message}`));
  });

  it("an environment_file with a list for environment → 400 naming the file", async () => {
    await write({ "stack.yml": stack(fn("api", "    environment_file: [e.yml]\n")), "e.yml": "environment: [a]\n" });
    await expect(readStack(repo, {})).rejects.toMatchObject(
      refusal(
        'parseYAML error : function "api": environment_file "e.yml": field "environment": expected a map of strings',
      ),
    );
  });
});

describe("readStack: bounded work (issue #10)", () => {
  const MIB = 1024 * 1024;
  /** An openFile that records the files readStack opens, by path relative to the repository. */
  function recordingOpen() {
    const opened: string[] = [];
    const openFile: OpenFile = async (path, flags) => {
      opened.push(relative(await realpath(repo), path));
      return open(path, flags);
    };
    return { opened, openFile };
  }
  /** An environment file of about `bytes` bytes: one long value. */
  const bigEnv = (bytes: number) => `environment:\n  BIG: ${"x".repeat(bytes - 32)}\n`;

  it("3000 references to one 1 MB environment_file → 400 too many environment files; the file is never opened", async () => {
    await write({
      "stack.yml": stack(fn("api", `    environment_file: [${Array(3000).fill("env.yml").join(", ")}]\n`)),
      "env.yml": bigEnv(MIB - 1024),
    });
    const { opened, openFile } = recordingOpen();
    await expect(readStack(repo, {}, { openFile })).rejects.toMatchObject(
      refusal("too many environment files: the functions in stack.yml name 3000, the limit is 100"),
    );
    expect(opened).toEqual(["stack.yml"]);
  });

  it("a 600 KB environment_file named by two functions → 400 environment too large; the file is read once", async () => {
    const env = "    environment_file: [env.yml]\n";
    await write({ "stack.yml": stack(fn("api", env) + fn("web", env)), "env.yml": bigEnv(600 * 1024) });
    const { opened, openFile } = recordingOpen();
    await expect(readStack(repo, {}, { openFile })).rejects.toMatchObject(
      refusal(
        "environment too large: the environment files named in stack.yml add up to over 1 MiB (counted each time named)",
      ),
    );
    expect(opened).toEqual(["stack.yml", "env.yml"]);
  });

  it("two 600 KB environment_files → 400 environment too large; the second is refused before it is read", async () => {
    await write({
      "stack.yml": stack(fn("api", "    environment_file: [a.yml, b.yml]\n")),
      "a.yml": bigEnv(600 * 1024),
      "b.yml": bigEnv(600 * 1024),
    });
    const { opened, openFile } = recordingOpen();
    await expect(readStack(repo, {}, { openFile })).rejects.toMatchObject(refusal(/^environment too large: /));
    // Opened to learn its size (fstat on the handle), never read: readStack's reader reads after the size check.
    expect(opened).toEqual(["stack.yml", "a.yml", "b.yml"]);
  });

  it("one environment_file named by three functions, twice by one, by two spellings → each gets it, opened once", async () => {
    await write({
      "stack.yml": stack(
        fn("api", "    environment_file: [conf/env.yml]\n") +
          fn("web", "    environment_file: [./conf/env.yml, conf/other.yml, conf/env.yml]\n") +
          fn("job", "    environment: {A: inline}\n    environment_file: [conf/../conf/env.yml]\n"),
      ),
      "conf/env.yml": "environment:\n  A: shared\n",
      "conf/other.yml": "environment:\n  A: other\n  B: other\n",
    });
    const { opened, openFile } = recordingOpen();
    const { functions } = await readStack(repo, {}, { openFile });
    expect(functions.map((f) => [f.name, f.environment])).toEqual([
      ["api", { A: "shared" }],
      ["web", { A: "shared", B: "other" }],
      ["job", { A: "shared" }],
    ]);
    expect(opened).toEqual(["stack.yml", "conf/env.yml", "conf/other.yml"]);
  });

  it("50 functions with maxFunctions 5 → 400 too many functions before any environment_file is read", async () => {
    const functions = Array.from({ length: 50 }, (_, i) => fn(`f${i}`, "    environment_file: [env.yml]\n"));
    await write({ "stack.yml": stack(functions.join("")), "env.yml": "environment:\n  A: b\n" });
    const { opened, openFile } = recordingOpen();
    await expect(readStack(repo, {}, { maxFunctions: 5, openFile })).rejects.toMatchObject(
      refusal("too many functions in stack.yml: 50, the limit is 5"),
    );
    expect(opened).toEqual(["stack.yml"]);
  });

  // Issue #12: the limit's edge, where an off-by-one would hide (functions_per_repo_limit).
  it.each([
    [5, 5, "read"],
    [6, 5, "too many functions in stack.yml: 6, the limit is 5"],
    [1, 1, "read"],
    [2, 1, "too many functions in stack.yml: 2, the limit is 1"],
  ])("%s functions with maxFunctions %s → %s", async (count, maxFunctions, outcome) => {
    await write({ "stack.yml": stack(Array.from({ length: count }, (_, i) => fn(`f${i}`)).join("")) });
    const reading = readStack(repo, {}, { maxFunctions });
    if (outcome === "read") expect((await reading).functions).toHaveLength(count);
    else await expect(reading).rejects.toMatchObject(refusal(outcome));
  });

  it("an environment_file that is a YAML bomb → 400 naming the file", async () => {
    await write({
      "stack.yml": stack(fn("api", "    environment_file: [env.yml]\n")),
      "env.yml": `environment: {}\nbig: &big [${"x, ".repeat(4999)}x]\ncopies: [${"*big, ".repeat(59)}*big]\n`,
    });
    await expect(readStack(repo, {})).rejects.toMatchObject(
      refusal(
        'parseYAML error : function "api": environment_file "env.yml": over 100000 YAML nodes once aliases are expanded',
      ),
    );
  });
});
