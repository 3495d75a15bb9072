import { jest } from "@jest/globals";
import { fork, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../../local/ports.js";

// Issue #18: every way `npm start` can fail or be stopped ends with nothing it started still running. One state
// folder for the whole file, so the base image is made once (the first start) and every later start takes seconds.
jest.setTimeout(600_000);
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const MAIN = join(ROOT, "local", "main.ts");

let dir: string;
let gatewayPort: number;
const children = new Set<ChildProcess>();
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "start-"));
  gatewayPort = await freePort();
});
afterAll(async () => {
  for (const child of children) child.kill("SIGKILL");
  // Only after a failed assertion is anything left: stop it by the folder, so the next run starts clean.
  for (let i = 0; i < 60 && running(dir).length > 0; i++) {
    if (i % 20 === 0) spawnSync("pkill", ["-f", dir]);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  for (const mount of mountsUnder(dir).reverse()) spawnSync("umount", ["-l", mount]);
  await rm(dir, { recursive: true, force: true });
});

// Without jest's NODE_OPTIONS (--experimental-vm-modules): its warning would be a second line on stderr.
const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== "NODE_OPTIONS"));
const env = (extra: Record<string, string> = {}) => ({
  ...inherited,
  OFC_LOCAL_DIR: dir,
  OFC_PORT: String(gatewayPort),
  OFC_DEMO: "0",
  LOG_LEVEL: "silent",
  ...extra,
});

/** Pids of the processes naming the state folder on their command line: dockerd, containerd, registry, NATS, Prometheus. */
function running(folder: string): number[] {
  const out = spawnSync("pgrep", ["-f", folder], { encoding: "utf8" }).stdout;
  return out.split("\n").filter(Boolean).map(Number);
}
const mountsUnder = (folder: string) =>
  readFileSync("/proc/mounts", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[1] ?? "")
    .filter((m) => m.startsWith(folder));
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const runtimePid = () => Number(readFileSync(join(dir, "runtime.pid"), "utf8").trim());

/** Waits until every pid has exited, then checks nothing names the folder and nothing is mounted under it. */
async function expectAllGone(pids: number[], timeoutMs = 60_000): Promise<number> {
  const started = performance.now();
  while (pids.some(alive) && performance.now() - started < timeoutMs) await new Promise((r) => setTimeout(r, 100));
  expect(pids.filter(alive)).toEqual([]);
  expect(running(dir)).toEqual([]);
  expect(mountsUnder(dir)).toEqual([]);
  return performance.now() - started;
}

/** Output and exit of a process, as they come. */
function watch(child: ChildProcess) {
  children.add(child);
  const out = { stdout: "", stderr: "" };
  child.stdout?.on("data", (chunk: Buffer) => (out.stdout += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (out.stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    }),
  );
  return { child, out, exited };
}

/** The runtime as its own process (npm start's entry, forked with an IPC channel): resolves once it is up. */
function forkRuntime(extra: Record<string, string> = {}) {
  const run = watch(
    fork(MAIN, [], {
      cwd: ROOT,
      execArgv: ["--import", "tsx"],
      env: env(extra),
      stdio: ["ignore", "pipe", "pipe", "ipc"],
    }),
  );
  const ready = new Promise<void>((resolve) => run.child.once("message", () => resolve()));
  return { ...run, ready };
}

/** `npm start` itself, as a user or a process manager runs it: resolves once it printed that it is up. */
async function npmStart() {
  const run = watch(spawn("npm", ["start"], { cwd: ROOT, env: env(), stdio: ["ignore", "pipe", "pipe"] }));
  for (const deadline = Date.now() + 300_000; !run.out.stdout.includes("is up in");) {
    if (run.child.exitCode !== null || Date.now() > deadline)
      throw new Error(`npm start did not come up:\n${run.out.stdout}\n${run.out.stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return run;
}

const healthz = async () => (await fetch(`http://127.0.0.1:${gatewayPort}/healthz`)).status;
const stopTimes: Record<string, number> = {};
afterAll(() => console.log(`stop times (ms): ${JSON.stringify(stopTimes)}`));

it("the gateway's port taken → exits 1 with one line naming the port and OFC_PORT, no stack; nothing it started is left", async () => {
  // Connections (Prometheus scraping "the gateway") are cut at once: close() would otherwise wait for them.
  const squatter = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => squatter.listen(gatewayPort, "127.0.0.1", resolve));
  try {
    const run = forkRuntime();
    expect(await run.exited).toEqual({ code: 1, signal: null });
    expect(run.out.stderr.trim().split("\n")).toEqual([
      `npm start: port ${gatewayPort} (the gateway) on 127.0.0.1 is in use by another program: stop that program, or set OFC_PORT to a free port (OFC_PORT=${gatewayPort + 1} npm start)`,
    ]);
    // The start got as far as the gateway: the daemons had been started, and are stopped again.
    expect(run.out.stdout).toContain("dockerd");
  } finally {
    await new Promise((resolve) => squatter.close(resolve));
  }
  await expectAllGone([]);
});

it("a second start on the same state folder → exits 1 'already running (pid N)', starts nothing; the first keeps serving, SIGTERM to its pid stops all", async () => {
  const first = forkRuntime();
  await first.ready;
  const pids = [first.child.pid!, ...running(dir)];
  expect(runtimePid()).toBe(first.child.pid);

  const second = forkRuntime();
  expect(await second.exited).toEqual({ code: 1, signal: null });
  expect(second.out.stderr.trim().split("\n")).toEqual([
    `npm start: already running (pid ${first.child.pid}) on ${dir}: stop it first (kill ${first.child.pid}), or set OFC_LOCAL_DIR to another folder`,
  ]);
  expect([running(dir).sort(), await healthz()]).toEqual([pids.slice(1).sort(), 200]);

  const stopping = performance.now();
  first.child.kill("SIGTERM");
  expect(await first.exited).toEqual({ code: 0, signal: null });
  stopTimes["SIGTERM to the runtime"] = Math.round(performance.now() - stopping);
  await expectAllGone(pids);
});

it.each(["SIGTERM", "SIGINT"] as const)(
  "%s to npm's pid → the runtime stops everything it started, npm exits",
  async (signal) => {
    const npm = await npmStart();
    const pids = [runtimePid(), ...running(dir)];
    expect(pids.length).toBeGreaterThanOrEqual(5);
    const stopping = performance.now();
    npm.child.kill(signal);
    stopTimes[`${signal} to npm: all gone`] = Math.round(await expectAllGone(pids));
    await npm.exited;
    stopTimes[`${signal} to npm: npm exited`] = Math.round(performance.now() - stopping);
    expect(npm.out.stdout).toMatch(/Stopped in \d+\.\d s\./);
  },
);

it("npm killed (SIGKILL) → the runtime sees its parent gone and stops everything; the next start comes up", async () => {
  const npm = await npmStart();
  const pids = [runtimePid(), ...running(dir)];
  const stopping = performance.now();
  npm.child.kill("SIGKILL");
  await expectAllGone(pids);
  stopTimes["parent killed"] = Math.round(performance.now() - stopping);

  const next = forkRuntime();
  await next.ready;
  expect(await healthz()).toBe(200);
  const more = [next.child.pid!, ...running(dir)];
  next.child.kill("SIGINT");
  await next.exited;
  await expectAllGone(more);
});
