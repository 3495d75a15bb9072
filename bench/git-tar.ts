/**
 * Benchmark (issue #3): git-tar's own costs on a big repository. A seeded repo of ~5,000 files / ~50 MB with three
 * commits is served by git http-backend on loopback; its tip is cloned by `cloneAt` (isomorphic-git; whole tree, and
 * only the stack's paths as git-tar does, issue #16) and by the git CLI, in rotation, then a small and a large handler
 * folder are shrinkwrapped onto the node20 template and packed.
 *
 *   npm run bench:git-tar [-- --runs 3]
 */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { availableParallelism, cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, promisify } from "node:util";
import { packBuildContext } from "../shared/build-tar.js";
import { readStack } from "../shared/stack.js";
import { cloneAt } from "../functions/git-tar/clone.js";
import { buildArgsFor, readTemplate, shrinkwrap } from "../functions/git-tar/shrinkwrap.js";
import { STACK_ROOT_PATHS, stackPaths } from "../functions/git-tar/stack-paths.js";
import { startGitServer } from "../local/git-server/git-server.js";
import { reportGoals, type GoalRow } from "./goals.js";

const execFileAsync = promisify(execFile);
const TEMPLATES = fileURLToPath(new URL("../local/templates/template", import.meta.url));
const MB = 1024 * 1024;
const SEED = 3;
const WRAPS = 10;
const WORDS = "const let return await export import handler event context value => {}".split(" ");

/** mulberry32: a seeded PRNG, so every run (and every machine) benchmarks the same repository. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Source-like lines: a small vocabulary compresses about as well as real code does. */
function text(rand: () => number, bytes: number): string {
  let out = "";
  while (out.length < bytes) {
    const words = Array.from({ length: 3 + Math.floor(rand() * 9) }, () => WORDS[Math.floor(rand() * WORDS.length)]);
    out += `${"  ".repeat(Math.floor(rand() * 4))}${words.join(" ")}; // ${Math.floor(rand() * 1e9).toString(36)}\n`;
  }
  return out;
}

/** Alternating 4 KB blocks of PRNG bytes and of one repeated byte: about half of it does not compress away. */
function binary(rand: () => number, bytes: number): Buffer {
  const buf = Buffer.alloc(bytes);
  for (let at = 0; at < bytes; at += 8192) {
    for (let i = at; i < Math.min(at + 4096, bytes); i++) buf[i] = Math.floor(rand() * 256);
    buf.fill(Math.floor(rand() * 256), Math.min(at + 4096, bytes), Math.min(at + 8192, bytes));
  }
  return buf;
}

/** The tip's tree: two handler folders, nested sources and binary assets, ~5,000 files and ~50 MB in all. */
function generateTree(rand: () => number, size: (min: number, max: number) => number): Record<string, string | Buffer> {
  const files: Record<string, string | Buffer> = {};
  let stack = "version: 1.0\nprovider:\n  name: openfaas\nfunctions:\n";
  const handler = (dir: string, count: number) => {
    stack += `  ${dir}:\n    lang: node20\n    handler: ./${dir}\n    image: bench/${dir}:latest\n`;
    files[`${dir}/handler.js`] = "module.exports = async (event, context) => context.status(200);\n";
    files[`${dir}/package.json`] = JSON.stringify({ name: dir, version: "1.0.0", main: "handler.js" }, null, 2);
    for (let i = 2; i < count; i++) files[`${dir}/lib/d${i % 25}/m${i}.js`] = text(rand, size(5_000, 15_000));
  };
  handler("small-fn", 20);
  handler("big-fn", 1_000);
  for (let i = 0; i < 3_930; i++) files[`src/p${i % 20}/m${(i >> 4) % 10}/f${i}.ts`] = text(rand, size(500, 7_000));
  for (let i = 0; i < 50; i++) files[`assets/a${i % 5}/blob${i}.bin`] = binary(rand, size(100 * 1024, MB));
  return { ...files, "stack.yml": stack };
}

/** Sums the sizes of the files under `dir` whose names pass `keep`. */
async function diskBytes(dir: string, keep: (name: string) => boolean = () => true): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += await diskBytes(path, keep);
    else if (keep(entry.name)) total += (await stat(path)).size;
  }
  return total;
}

const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return (sorted[Math.floor((sorted.length - 1) / 2)]! + sorted[Math.ceil((sorted.length - 1) / 2)]!) / 2;
};
const min = (xs: number[]) => Math.min(...xs);
const mb = (bytes: number) => `${(bytes / MB).toFixed(1)} MB`;
const ms = (x: number) => `${x.toFixed(1).padStart(8)} ms`;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: "string", default: "3" } } });
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new TypeError(`[bench:git-tar] --runs must be a positive integer`);
  const work = await mkdtemp(join(tmpdir(), "bench-git-tar-"));
  // The machine's git config (credential helpers, url rewrites) must not change what the CLI does.
  const env = { PATH: process.env.PATH, HOME: work, GIT_CONFIG_NOSYSTEM: "1", GIT_CONFIG_GLOBAL: "/dev/null" };
  const git = (args: string[]) => execFileAsync("git", args, { env });
  const server = await startGitServer();
  try {
    const generating = performance.now();
    const rand = prng(SEED);
    const size = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo));
    const tree = generateTree(rand, size);
    const sources = Object.keys(tree).filter((p) => p.startsWith("src/"));
    const touch = (count: number) => {
      const changed: Record<string, string> = {};
      while (Object.keys(changed).length < count) changed[sources[size(0, sources.length)]!] = text(rand, 3_000);
      Object.assign(tree, changed);
      return changed;
    };
    const repo = await server.createRepo("bench", "big");
    await repo.commit(tree, "initial import");
    await repo.commit(touch(40), "second");
    const sha = await repo.commit(touch(100), "third: touches 100 files");
    await repo.push();
    const url = `${server.url}/bench/big.git`;
    const tipBytes = Object.values(tree).reduce((sum, c) => sum + Buffer.byteLength(c), 0);
    const { stdout: version } = await git(["--version"]);
    console.log(`Node ${process.version}, ${availableParallelism()} CPUs (${cpus()[0]?.model}), ${version.trim()}`);
    console.log(
      `repo: ${Object.keys(tree).length} files, ${mb(tipBytes)} at the tip, 3 commits (the last touches 100 files), ` +
        `bare repo ${mb(await diskBytes(repo.bareDir))}, generated in ${((performance.now() - generating) / 1000).toFixed(1)} s`,
    );

    const times = { iso: [] as number[], sparse: [] as number[], cli: [] as number[] };
    const fetched = { iso: 0, sparse: 0, cli: 0, charged: 0, sparseCharged: 0 };
    const tools = ["iso", "sparse", "cli"] as const;
    for (let run = 0; run < runs; run++) {
      // Rotating who goes first spreads page-cache and CPU-frequency effects over all three.
      for (const tool of tools.map((_, i) => tools[(i + run) % tools.length]!)) {
        const dir = join(work, `clone-${tool}-${run}`);
        await mkdir(dir);
        const start = performance.now();
        if (tool === "iso") {
          fetched.charged = (await cloneAt({ url, sha, branch: "master", dir, maxBytes: 4096 * MB })).bytes;
        } else if (tool === "sparse") {
          // As git-tar clones (issue #16): only the paths the stack uses are checked out.
          const sparse = { first: STACK_ROOT_PATHS, select: () => stackPaths(dir, {}) };
          const options = { url, sha, branch: "master", dir, maxBytes: 4096 * MB, sparse };
          fetched.sparseCharged = (await cloneAt(options)).bytes;
        } else {
          await git(["clone", "-q", "--depth", "1", "--single-branch", "-b", "master", url, dir]);
          await git(["-C", dir, "-c", "advice.detachedHead=false", "checkout", "-q", sha]);
        }
        times[tool].push(performance.now() - start);
        fetched[tool] = await diskBytes(join(dir, ".git", "objects", "pack"), (n) => n.endsWith(".pack"));
        await rm(dir, { recursive: true, force: true });
      }
    }
    console.log(`\nclone of the tip SHA, ${runs} runs each, in rotation, fresh folder each time:`);
    console.log(
      `  ${"cloneAt (isomorphic-git, depth 10)".padEnd(48)} median ${ms(median(times.iso))}  min ${ms(min(times.iso))}` +
        `  pack ${mb(fetched.iso)}, cloneAt bytes ${mb(fetched.charged)} (HTTP + ${mb(tipBytes)} working tree)`,
    );
    console.log(
      `  ${"cloneAt, only the stack's paths (git-tar's way)".padEnd(48)} median ${ms(median(times.sparse))}  min ${ms(min(times.sparse))}` +
        `  pack ${mb(fetched.sparse)}, cloneAt bytes ${mb(fetched.sparseCharged)}`,
    );
    console.log(
      `  ${"git clone --depth 1 --single-branch + checkout".padEnd(48)} median ${ms(median(times.cli))}  min ${ms(min(times.cli))}` +
        `  pack ${mb(fetched.cli)}`,
    );
    const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`;
    console.log(
      `  ratio isomorphic-git / git CLI: median ${ratio(median(times.iso), median(times.cli))}, ` +
        `min ${ratio(min(times.iso), min(times.cli))}`,
    );
    console.log(
      `  ratio stack's paths only / git CLI: median ${ratio(median(times.sparse), median(times.cli))}, ` +
        `min ${ratio(min(times.sparse), min(times.cli))}`,
    );

    const cliMs = median(times.cli);
    const goals: GoalRow[] = [
      {
        benchmark: `clone, stack's functions a small part of a ${Object.keys(tree).length}-file repo`,
        now: `${ms(median(times.sparse))} vs git clone --depth 1 ${ms(cliMs)}: ${ratio(median(times.sparse), cliMs)}`,
        goal: "≤ 1.0× git clone --depth 1",
        met: median(times.sparse) <= cliMs,
      },
      {
        benchmark: "clone, a stack using the whole repo",
        now: `${ms(median(times.iso))} vs ${ms(cliMs)}: ${ratio(median(times.iso), cliMs)}`,
        goal: "≤ 1.5× git clone --depth 1",
        met: median(times.iso) <= 1.5 * cliMs,
      },
    ];

    console.log(
      `\nshrinkwrap + packBuildContext onto node20, median of ${WRAPS}, beside tar -c of the handler folder:`,
    );
    const stack = await readStack(repo.dir, {});
    for (const fn of stack.functions) {
      const name = fn.name;
      const outDir = join(work, "build", name);
      const tarFile = join(work, `${name}.tar`);
      const wraps: number[] = [];
      let tarBytes = 0;
      for (let i = 0; i < WRAPS; i++) {
        // Wiping the last context is shrinkwrap's first step, but not what is measured here.
        await rm(outDir, { recursive: true, force: true });
        const start = performance.now();
        const template = await readTemplate(TEMPLATES, fn.lang, fn.name);
        await shrinkwrap({ repoDir: repo.dir, templatesDir: TEMPLATES, fn, copy: stack.configuration.copy, outDir });
        const buildArgs = buildArgsFor(fn, template, ["ADDITIONAL_PACKAGE"]);
        tarBytes = (await packBuildContext(outDir, { ref: fn.image, buildArgs }, tarFile)).bytes;
        wraps.push(performance.now() - start);
      }
      const tars: number[] = [];
      for (let i = 0; i < WRAPS; i++) {
        const start = performance.now();
        await execFileAsync("tar", ["-cf", join(work, `${name}.plain.tar`), "-C", repo.dir, fn.handler]);
        tars.push(performance.now() - start);
      }
      goals.push({
        benchmark: `shrinkwrap + tar, function ${name}`,
        now: `${ms(median(wraps))} vs tar -c ${ms(median(tars))}: ${ratio(median(wraps), median(tars))}`,
        goal: "≤ 2× tar -c of the same folder",
        met: median(wraps) <= 2 * median(tars),
      });
      const handlerFiles = Object.keys(tree).filter((p) => p.startsWith(`${name}/`));
      const handlerBytes = handlerFiles.reduce((sum, p) => sum + Buffer.byteLength(tree[p]!), 0);
      console.log(
        `  ${name.padEnd(9)} (${String(handlerFiles.length).padStart(4)} files, ${mb(handlerBytes).padStart(7)})` +
          `  median ${ms(median(wraps))}  min ${ms(min(wraps))}  tar ${mb(tarBytes)} (${tarBytes} bytes)` +
          `  tar -c ${ms(median(tars))}`,
      );
    }
    reportGoals(goals);
  } finally {
    await server.close();
    await rm(work, { recursive: true, force: true });
  }
}

await main();
