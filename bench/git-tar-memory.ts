/**
 * Benchmark (issue #16 item 2b): git-tar's memory per concurrent clone, to set `max_concurrent_clones`. Repos of
 * incompressible bytes (the worst case: isomorphic-git holds the whole pack in memory and git cannot shrink it) with
 * one small function are served by git http-backend on loopback and cloned as git-tar clones (cloneAt, only the
 * stack's paths, the max_repo_size_mb budget). Each measurement runs in a fresh process, so one run's heap does not
 * hide the next's: the kernel's high-water mark (getrusage maxrss) minus the RSS before the clones.
 *
 *   npm run bench:git-tar-memory [-- --sizes 25,50,95 --concurrency 1,2,3 --limit-mb 512 --max-repo-mb 100]
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, promisify } from "node:util";
import { startGitServer } from "../local/git-server/git-server.js";
import { reportGoals } from "./goals.js";

const execFileAsync = promisify(execFile);
const MB = 1024 * 1024;
const SELF = fileURLToPath(import.meta.url);

type Sample = { baselineMb: number; peakMb: number; ms: number };

/** The child: imports git-tar as its process does, clones `n` times at once, prints what memory it took. */
async function child(url: string, sha: string, n: number, maxBytes: number, warmUrl: string, warmSha: string) {
  // git-tar's whole module graph, as loaded in its replica before the first call.
  await import("../functions/git-tar/handler.js");
  const { cloneAt } = await import("../functions/git-tar/clone.js");
  const { STACK_ROOT_PATHS, stackPaths } = await import("../functions/git-tar/stack-paths.js");
  const work = await mkdtemp(join(tmpdir(), "git-tar-mem-"));
  const clone = (i: number, from: string, at: string) => {
    const dir = join(work, String(i));
    const sparse = { first: STACK_ROOT_PATHS, select: () => stackPaths(dir, {}) };
    return cloneAt({ url: from, sha: at, branch: "master", dir, maxBytes, sparse });
  };
  try {
    // A tiny clone first: isomorphic-git's code paths and the HTTP agent are warm, as in a replica that served one.
    await clone(-1, warmUrl, warmSha);
    const baseline = process.memoryUsage.rss();
    const start = performance.now();
    await Promise.all(Array.from({ length: n }, (_, i) => clone(i, url, sha)));
    const ms = performance.now() - start;
    // maxRSS is in KiB: the process's peak, however briefly it was held.
    const peak = process.resourceUsage().maxRSS * 1024;
    const sample: Sample = { baselineMb: baseline / MB, peakMb: peak / MB, ms };
    console.log(JSON.stringify(sample));
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** One function (a few KB) and `mb` one-MiB files of random bytes. */
function incompressibleRepo(mb: number): Record<string, string | Buffer> {
  const files: Record<string, string | Buffer> = {
    "stack.yml": "version: 1.0\nprovider:\n  name: openfaas\nfunctions:\n  fn:\n    lang: node20\n    handler: ./fn\n",
    "fn/handler.js": "module.exports = async () => 'ok';\n",
    "fn/package.json": '{"name":"fn","version":"1.0.0","main":"handler.js"}\n',
  };
  for (let i = 0; i < mb; i++) files[`assets/blob${i}.bin`] = randomBytes(MB);
  return files;
}

/** Least squares: y ≈ fixed + slope × x. */
function fit(points: Array<[number, number]>): { fixed: number; slope: number } {
  const mx = points.reduce((a, [x]) => a + x, 0) / points.length;
  const my = points.reduce((a, [, y]) => a + y, 0) / points.length;
  const sxx = points.reduce((a, [x]) => a + (x - mx) ** 2, 0);
  const slope = sxx > 0 ? points.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0) / sxx : my / mx;
  return { fixed: my - slope * mx, slope };
}

const list = (s: string) => s.split(",").map(Number);
const f0 = (x: number) => x.toFixed(0);

async function measure(url: string, sha: string, n: number, maxBytes: number, warm: { url: string; sha: string }) {
  const args = ["--import", "tsx", SELF, "--child", url, sha, String(n), String(maxBytes), warm.url, warm.sha];
  const { stdout } = await execFileAsync(process.execPath, args, { maxBuffer: MB });
  return JSON.parse(stdout.trim().split("\n").at(-1)!) as Sample;
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      child: { type: "boolean", default: false },
      sizes: { type: "string", default: "25,50,95" },
      concurrency: { type: "string", default: "1,2,3" },
      "limit-mb": { type: "string", default: "768" }, // git-tar's limits.memory in stack.yml
      clones: { type: "string", default: "1" }, // max_concurrent_clones' default
      "max-repo-mb": { type: "string", default: "100" },
    },
  });
  if (values.child) {
    const [url, sha, n, maxBytes, warmUrl, warmSha] = positionals as [string, string, string, string, string, string];
    return child(url, sha, Number(n), Number(maxBytes), warmUrl, warmSha);
  }
  const sizes = list(values.sizes);
  const concurrency = list(values.concurrency);
  const limitMb = Number(values["limit-mb"]);
  const maxBytes = Number(values["max-repo-mb"]) * MB;
  const server = await startGitServer();
  try {
    const warmRepo = await server.createRepo("bench", "tiny");
    const warm = { url: `${server.url}/bench/tiny.git`, sha: await warmRepo.commit(incompressibleRepo(0)) };
    await warmRepo.push();
    const largest = Math.max(...sizes);
    console.log(`max_repo_size_mb ${maxBytes / MB}, git-tar limits.memory ${limitMb} MiB; fresh process per row`);
    console.log(`pack MB  clones  baseline MB  peak MB  growth MB  per clone MB  per clone ÷ pack  wall`);
    const perClone = new Map<number, number>();
    const byCount = new Map<number, number>();
    let baseline = 0;
    for (const mb of sizes) {
      const repo = await server.createRepo("bench", `r${mb}`);
      const sha = await repo.commit(incompressibleRepo(mb));
      await repo.push();
      for (const n of mb === largest ? concurrency : [1]) {
        const s = await measure(`${server.url}/bench/r${mb}.git`, sha, n, maxBytes, warm);
        const growth = s.peakMb - s.baselineMb;
        if (n === 1) perClone.set(mb, growth);
        if (mb === largest) byCount.set(n, growth);
        baseline = Math.max(baseline, s.baselineMb);
        console.log(
          `${String(mb).padStart(7)}  ${String(n).padStart(6)}  ${f0(s.baselineMb).padStart(11)}  ${f0(s.peakMb).padStart(7)}` +
            `  ${f0(growth).padStart(9)}  ${f0(growth / n).padStart(12)}  ${(growth / n / mb).toFixed(2).padStart(16)}` +
            `  ${(s.ms / 1000).toFixed(1)} s`,
        );
      }
    }
    // The first clone: least squares through the single-clone rows, growth ≈ fixed + perMb × pack MB.
    const first = fit([...perClone.entries()]);
    // Each further clone at once: the slope of growth over the clone count at the largest size, per pack MB. Less
    // than the first clone's: V8's heap grows ahead of need when memory is free, and collects it under pressure.
    const extraPerMb = fit([...byCount.entries()]).slope / largest;
    const packMb = maxBytes / MB;
    const firstAtMax = first.fixed + first.slope * packMb;
    const extraAtMax = extraPerMb * packMb;
    const room = limitMb - baseline - firstAtMax;
    const fits = room < 0 ? 0 : 1 + Math.floor(room / extraAtMax);
    console.log(
      `\nfirst clone ≈ ${f0(first.fixed)} MB + ${first.slope.toFixed(2)} × pack MB (fit over ${sizes.join(", ")} MB)`,
    );
    console.log(
      `each further clone at once ≈ ${extraPerMb.toFixed(2)} × pack MB (fit over ${concurrency.join(", ")} clones of ${largest} MB)`,
    );
    console.log(
      `a ${packMb} MB pack (the largest max_repo_size_mb admits): ${f0(baseline)} baseline + ${f0(firstAtMax)} first ` +
        `+ ${f0(extraAtMax)} per further clone; in ${limitMb} MiB: ${fits} at once → max_concurrent_clones ${Math.max(1, fits)}`,
    );
    const need = (n: number) => f0(baseline + firstAtMax + (n - 1) * extraAtMax);
    console.log(`limits.memory needed for 1, 2, 4 clones at once: ${need(1)}, ${need(2)}, ${need(4)} MiB`);
    const clones = Number(values.clones);
    const largestFirst = perClone.get(largest)!;
    reportGoals([
      {
        benchmark: `git-tar memory cloning a ${largest} MB incompressible repo`,
        now: `+${f0(largestFirst)} MB RSS: ${(largestFirst / largest).toFixed(2)}× the pack`,
        goal: "≤ 2× the pack size",
        met: largestFirst <= 2 * largest,
      },
      {
        benchmark: `${clones} clone(s) of a ${packMb} MB pack (max_repo_size_mb) at once`,
        now: `${need(clones)} MiB needed`,
        goal: `inside git-tar's limits.memory (${limitMb} MiB)`,
        met: Number(need(clones)) <= limitMb,
      },
    ]);
  } finally {
    await server.close();
  }
}

await main();
