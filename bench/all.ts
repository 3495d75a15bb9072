/**
 * Issue #16's table from one run: each benchmark in turn (each prints its own details), then the fault test, then
 * every goal row side by side with what was measured. Slow (about 15 minutes on an idle 2-core machine) and
 * meaningless on a busy one: the load average is printed with each row. Root only (the local runtime).
 *
 *   npm run bench [-- --only push-to-live,many-owners] [--no-faults]
 */
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { availableParallelism, cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { GoalRow } from "./goals.js";

const BENCHES = ["push-to-live", "github-event", "git-tar", "git-tar-memory", "many-owners"];
const FAULT_LINE = /fault (\S+): accepted (\d+) \/ terminal (\d+) \/ lost (\d+) \/ built twice (\d+)/g;

/** Runs a command with its output passed through; resolves with its exit code and everything it printed. */
function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (process.stdout.write(chunk), (output += chunk.toString())));
    child.stderr.on("data", (chunk: Buffer) => (process.stderr.write(chunk), (output += chunk.toString())));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code: code ?? 1, output }));
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { only: { type: "string" }, "no-faults": { type: "boolean", default: false } },
  });
  const benches = values.only ? values.only.split(",") : BENCHES;
  const dir = await mkdtemp(join(tmpdir(), "bench-all-"));
  const goalsFile = join(dir, "goals.jsonl");
  const env = { ...process.env, BENCH_GOALS_FILE: goalsFile };
  const failed: string[] = [];
  const started = performance.now();
  try {
    for (const bench of benches) {
      console.log(`\n=== npm run bench:${bench}`);
      const { code } = await run("npm", ["run", "--silent", `bench:${bench}`], env);
      if (code !== 0) failed.push(`bench:${bench} exited ${code}`);
    }
    const rows: Array<GoalRow & { load?: string }> = (await readFile(goalsFile, "utf8").catch(() => ""))
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => JSON.parse(line) as GoalRow);
    if (!values["no-faults"]) {
      console.log("\n=== the fault test (test/e2e/faults.test.ts)");
      const jest = ["--experimental-vm-modules", "node_modules/jest/bin/jest.js", "test/e2e/faults.test.ts"];
      const { code, output } = await run(process.execPath, jest, process.env);
      if (code !== 0) failed.push(`the fault test exited ${code}`);
      const faults = [...output.matchAll(FAULT_LINE)];
      const lost = faults.reduce((sum, f) => sum + Number(f[4]), 0);
      rows.push({
        benchmark: "pushes left without a terminal status under faults",
        now: faults.length
          ? faults.map((f) => `${f[1]} ${f[3]}/${f[2]} terminal, ${f[4]} lost, ${f[5]} built twice`).join("; ")
          : "no fault lines printed",
        goal: "0 under every fault",
        met: code === 0 && faults.length > 0 && lost === 0,
      });
    }
    const minutes = ((performance.now() - started) / 60_000).toFixed(1);
    console.log(`\n=== issue #16, one run of ${minutes} min: ${availableParallelism()} CPUs (${cpus()[0]?.model})`);
    console.log("| benchmark | now | goal | met | load (1, 5, 15 min) |\n| --- | --- | --- | --- | --- |");
    for (const r of rows) {
      console.log(`| ${r.benchmark} | ${r.now} | ${r.goal} | ${r.met ? "yes" : "**no**"} | ${r.load ?? ""} |`);
    }
    for (const f of failed) console.log(`failed: ${f}`);
    if (failed.length > 0) process.exitCode = 1;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
