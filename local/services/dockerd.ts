import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { spawnDaemon, stopDaemon, waitReady } from "./daemon-process.js";
import { createDockerClient } from "../../of-builder/docker-engine.js";

/** Where a private Docker daemon keeps its state (DESIGN §8). */
export interface DockerdOptions {
  /** Holds `docker/` (data root, incl. the managed containerd's root), `exec/`, the pidfile and `dockerd.log`. */
  dataDir: string;
  /** Defaults to `<dataDir>/docker.sock`. */
  socketPath?: string;
  /** Only when dockerd's own choice fails on the data dir's filesystem (overlay2 works here: docs/local-services.md). */
  storageDriver?: string;
  timeoutMs?: number;
}

/** A running (or reused) private daemon. */
export interface Dockerd {
  socketPath: string;
  /** Stops the daemon this call started; a reused daemon is left running. */
  stop(): Promise<void>;
}

// sun_path is 108 bytes with the trailing NUL; longer socket paths fail with an opaque EINVAL.
const MAX_SOCKET_PATH = 107;

/**
 * Starts `dockerd` with no bridge, iptables or masquerading (DESIGN §8), or reuses the daemon already answering
 * on the socket. Resolves once `GET /_ping` says OK.
 */
export async function startDockerd(options: DockerdOptions): Promise<Dockerd> {
  const dataDir = resolve(options.dataDir);
  const socketPath = resolve(options.socketPath ?? join(dataDir, "docker.sock"));
  const execRoot = join(dataDir, "exec");
  // dockerd's managed containerd puts containerd-debug.sock, its longest socket, under <exec-root>/containerd.
  for (const sock of [socketPath, join(execRoot, "containerd", "containerd-debug.sock")]) {
    if (Buffer.byteLength(sock) > MAX_SOCKET_PATH) {
      throw new Error(`dockerd socket path ${sock} is longer than ${MAX_SOCKET_PATH} bytes; use a shorter dataDir`);
    }
  }
  const docker = createDockerClient({ socketPath });
  if (await docker.ping().catch(() => false)) return { socketPath, stop: async () => {} };

  mkdirSync(dataDir, { recursive: true });
  await clearStalePidfile(join(dataDir, "docker.pid"));
  const args = [
    `--host=unix://${socketPath}`,
    `--data-root=${join(dataDir, "docker")}`,
    `--exec-root=${execRoot}`,
    `--pidfile=${join(dataDir, "docker.pid")}`,
    "--bridge=none",
    "--iptables=false",
    "--ip-masq=false",
    // If /run/containerd/containerd.sock exists, dockerd 20.10 uses that system containerd instead of starting its
    // own under --exec-root; own namespaces keep our images and containers apart from a system dockerd's "moby".
    "--containerd-namespace=ofc",
    "--containerd-plugins-namespace=ofc-plugins",
  ];
  if (options.storageDriver) args.push(`--storage-driver=${options.storageDriver}`);
  const daemon = spawnDaemon("dockerd", args, join(dataDir, "dockerd.log"));
  await waitReady(daemon, `dockerd on ${socketPath}`, () => docker.ping(), options.timeoutMs ?? 60_000);
  return {
    socketPath,
    async stop() {
      // dockerd stops its containers (10 s each by default) and its containerd before it exits.
      await stopDaemon(daemon, 60_000);
      unmountUnder(dataDir);
    },
  };
}

/**
 * dockerd 20.10 leaves `<exec-root>/netns/default` (a bind mount of the host's network namespace) mounted after
 * it exits, which makes the data dir undeletable (EBUSY); detach whatever is still mounted below `dir`.
 */
function unmountUnder(dir: string): void {
  const mountPoints = readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((line) =>
      (line.split(" ")[4] ?? "").replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8))),
    )
    .filter((mountPoint) => mountPoint.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const mountPoint of mountPoints) execFileSync("umount", ["-l", mountPoint]);
}

/**
 * dockerd refuses to start while its pidfile exists. After a crash the file outlives the process; while a previous
 * daemon is still shutting down (it stops its containers first) the file is live: wait for that process to exit.
 */
async function clearStalePidfile(pidfile: string): Promise<void> {
  if (!existsSync(pidfile)) return;
  const pid = Number(readFileSync(pidfile, "utf8").trim());
  const alive = () => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  for (let waited = 0; pid > 0 && alive() && waited < 60_000; waited += 250)
    await new Promise((r) => setTimeout(r, 250));
  if (!(pid > 0 && alive())) rmSync(pidfile, { force: true });
}
