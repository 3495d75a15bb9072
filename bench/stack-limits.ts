/**
 * Benchmark (issue #10): how long readStack takes to refuse the stacks that try to hold git-tar: one 1 MB
 * environment_file named thousands of times, a big node aliased or merged many times, a 600 KB environment_file named
 * by two functions, and, for scale, a valid stack naming one small environment_file from five functions.
 *
 *   npm run bench:stack-limits [-- --runs 20]
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { readStack } from "../shared/stack.js";

const { values } = parseArgs({ options: { runs: { type: "string", default: "20" } } });
const runs = Number(values.runs);
const MIB = 1024 * 1024;
const head = "version: 1.0\nprovider:\n  name: openfaas\nfunctions:\n";
const fn = (name: string, extra = "") =>
  `  ${name}:\n    lang: node20\n    handler: ./${name}\n    image: ${name}\n${extra}`;
const bigEnv = (bytes: number) => `environment:\n  BIG: ${"x".repeat(bytes - 32)}\n`;
const files = (names: number) => `    environment_file: [${Array(names).fill("env.yml").join(", ")}]\n`;

const cases: Array<[string, Record<string, string>]> = [
  [
    "3000 references to one 1 MB environment_file",
    { "stack.yml": head + fn("api", files(3000)), "env.yml": bigEnv(MIB - 1024) },
  ],
  [
    "a 5000-item list aliased 60 times",
    { "stack.yml": head + fn("api") + `big: &big [${"x, ".repeat(4999)}x]\ncopies: [${"*big, ".repeat(59)}*big]\n` },
  ],
  [
    "a 3000-key map merged into 60 maps",
    {
      "stack.yml":
        head +
        fn("api") +
        `big: &big {${Array.from({ length: 3000 }, (_, i) => `k${i}: v`).join(", ")}}\n` +
        `copies: [${Array.from({ length: 60 }, () => "{<<: *big}").join(", ")}]\n`,
    },
  ],
  [
    "a 600 KB environment_file named by two functions",
    { "stack.yml": head + fn("api", files(1)) + fn("web", files(1)), "env.yml": bigEnv(600 * 1024) },
  ],
  [
    "valid: five functions naming one small environment_file",
    {
      "stack.yml": head + ["a", "b", "c", "d", "e"].map((n) => fn(n, files(1))).join(""),
      "env.yml": "environment:\n  A: b\n",
    },
  ],
];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const base = await mkdtemp(join(tmpdir(), "bench-stack-"));
try {
  console.log(`readStack, median and max of ${runs} runs:`);
  for (const [name, tree] of cases) {
    const repo = await mkdtemp(join(base, "repo-"));
    for (const [path, content] of Object.entries(tree)) {
      await mkdir(dirname(join(repo, path)), { recursive: true });
      await writeFile(join(repo, path), content);
    }
    const times: number[] = [];
    let outcome = "";
    for (let i = 0; i < runs; i++) {
      const start = performance.now();
      outcome = await readStack(repo, {}, { maxFunctions: 5 }).then(
        (stack) => `read, ${stack.functions.length} functions`,
        (error: Error) => `refused: ${error.message.slice(0, 70)}`,
      );
      times.push(performance.now() - start);
    }
    console.log(
      `  ${name.padEnd(56)} median ${median(times).toFixed(1).padStart(6)} ms  max ${Math.max(...times)
        .toFixed(1)
        .padStart(6)} ms  ${outcome}`,
    );
  }
} finally {
  await rm(base, { recursive: true, force: true });
}
