import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { connect } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { spawnDaemon, stopDaemon, waitReady } from "./daemon-process.js";

/** Where nats-server keeps its JetStream store, and the port it listens on. */
export interface NatsOptions {
  /** Holds `jetstream/` (the store: the queue survives restarts on the same dataDir) and `nats-server.log`. */
  dataDir: string;
  /** Defaults to a port nats-server picks itself. */
  port?: number;
  timeoutMs?: number;
}

/** A running (or reused) nats-server with JetStream. */
export interface Nats {
  /** `nats://127.0.0.1:PORT`. */
  url: string;
  /** Stops the server this call started; a reused one is left running. */
  stop(): Promise<void>;
}

/**
 * Starts Debian's `nats-server -js` on 127.0.0.1 only (DESIGN §7, §8), or reuses a JetStream-enabled one already
 * listening on the given port. Resolves once a client can connect and JetStream answers.
 */
export async function startNats(options: NatsOptions): Promise<Nats> {
  const dataDir = resolve(options.dataDir);
  if (options.port !== undefined) {
    const url = `nats://127.0.0.1:${options.port}`;
    if (await answers(url)) return { url, stop: async () => {} };
  }
  mkdirSync(dataDir, { recursive: true });
  // `-p 0` means the default 4222 to nats-server 2.9, not "any port" (DESIGN §8 says 0); `-1` asks for a random
  // port, which it writes to <dir>/nats-server_<pid>.ports. Reading it back avoids a probe-then-bind race.
  const args = ["-a", "127.0.0.1", "-p", String(options.port ?? -1), "-js", "-sd", join(dataDir, "jetstream")];
  if (options.port === undefined) args.push("--ports_file_dir", dataDir);
  const daemon = spawnDaemon("nats-server", args, join(dataDir, "nats-server.log"));
  let url = options.port === undefined ? "" : `nats://127.0.0.1:${options.port}`;
  const ready = async () => {
    url ||= readPortsFile(join(dataDir, `nats-server_${daemon.child.pid}.ports`));
    return url !== "" && (await answers(url));
  };
  await waitReady(daemon, `nats-server in ${dataDir}`, ready, options.timeoutMs ?? 30_000);
  return { url, stop: () => stopDaemon(daemon, 10_000) };
}

/** The client URL from a ports file (`{"nats":["nats://127.0.0.1:PORT"]}`), or "" while it is not written yet. */
function readPortsFile(file: string): string {
  if (!existsSync(file)) return "";
  try {
    const { nats } = JSON.parse(readFileSync(file, "utf8")) as { nats?: string[] };
    return nats?.[0] ?? "";
  } catch {
    return ""; // still being written
  }
}

/** True when a client connects and the server has JetStream enabled. */
async function answers(url: string): Promise<boolean> {
  const nc = await connect({ servers: url, reconnect: false, timeout: 1_000 }).catch(() => undefined);
  if (!nc) return false;
  try {
    await (await jetstreamManager(nc)).getAccountInfo();
    return true;
  } catch {
    return false;
  } finally {
    await nc.close();
  }
}
