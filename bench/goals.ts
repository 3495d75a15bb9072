import { appendFileSync } from "node:fs";
import { loadavg } from "node:os";

/** One row of issue #16's table: what a benchmark measured in this run, beside its goal. */
export interface GoalRow {
  benchmark: string;
  now: string;
  goal: string;
  met: boolean;
}

/**
 * Prints a benchmark's goal rows as a table, with the load average they were measured under (the numbers mean little
 * on a busy machine), and appends them to `BENCH_GOALS_FILE` when set, so `npm run bench` can put every benchmark's
 * rows from one run in one table (bench/all.ts).
 */
export function reportGoals(rows: GoalRow[]): void {
  const load = loadavg()
    .map((x) => x.toFixed(2))
    .join(" ");
  console.log(`\n| benchmark | now | goal | met |\n| --- | --- | --- | --- |`);
  for (const r of rows) console.log(`| ${r.benchmark} | ${r.now} | ${r.goal} | ${r.met ? "yes" : "**no**"} |`);
  console.log(`(load average ${load})`);
  const file = process.env.BENCH_GOALS_FILE;
  if (file) appendFileSync(file, rows.map((r) => JSON.stringify({ ...r, load }) + "\n").join(""));
}
