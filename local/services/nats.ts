import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import bcrypt from "bcryptjs";
import { connect, type NodeConnectionOptions } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { spawnDaemon, stopDaemon, waitReady } from "./daemon-process.js";

/** How a client reaches nats-server: its URL and the one account it accepts (issue #10). */
export interface NatsEndpoint {
  /** `nats://127.0.0.1:PORT`. */
  url: string;
  user: string;
  password: string;
}

/** Where nats-server keeps its JetStream store, the port it listens on, and its account. */
export interface NatsOptions {
  /** Holds `jetstream/` (the store: the queue survives restarts on the same dataDir), `nats.conf`, `nats-server.log`. */
  dataDir: string;
  /** Defaults to a port nats-server picks itself. */
  port?: number;
  /** Defaults to user `ofc` with a fresh random password (the runtime passes the one in its secrets folder). */
  credentials?: { user: string; password: string };
  timeoutMs?: number;
}

/** A running (or reused) nats-server with JetStream. */
export interface Nats extends NatsEndpoint {
  /** Stops the server this call started; a reused one is left running. */
  stop(): Promise<void>;
}

// The password is 192 random bits: bcrypt's work factor adds nothing against guessing, and each connection pays it.
const BCRYPT_COST = 4;

/** The connect options of a client of `endpoint`. */
export function natsConnectOptions(endpoint: NatsEndpoint): NodeConnectionOptions {
  return { servers: endpoint.url, user: endpoint.user, pass: endpoint.password };
}

/**
 * Starts Debian's `nats-server -js` on 127.0.0.1 only (DESIGN §7, §8) with one user and password: user builds and
 * functions share the host network, so the password is what keeps them off the queue (issue #10). Reuses a
 * JetStream-enabled server already listening on the given port if it takes these credentials and refuses a
 * client without them. Resolves once a client can connect and JetStream answers.
 */
export async function startNats(options: NatsOptions): Promise<Nats> {
  const dataDir = resolve(options.dataDir);
  const { user, password } = options.credentials ?? { user: "ofc", password: randomBytes(24).toString("hex") };
  if (options.port !== undefined) {
    const url = `nats://127.0.0.1:${options.port}`;
    if (await answers({ url, user, password })) {
      if (!(await refusesAnonymous(url))) {
        throw new Error(`nats-server on ${url} lets clients in without credentials (an older version?): stop it`);
      }
      return { url, user, password, stop: async () => {} };
    }
  }
  mkdirSync(dataDir, { recursive: true });
  // The account goes in a config file, as a bcrypt hash: a password on the command line would be in
  // /proc/<pid>/cmdline for every process of the machine to read.
  const config = join(dataDir, "nats.conf");
  const hash = bcrypt.hashSync(password, BCRYPT_COST);
  writeFileSync(config, `authorization {\n  user: ${JSON.stringify(user)}\n  password: ${JSON.stringify(hash)}\n}\n`, {
    mode: 0o600,
  });
  // `-p 0` means the default 4222 to nats-server 2.9, not "any port" (DESIGN §8 says 0); `-1` asks for a random
  // port, which it writes to <dir>/nats-server_<pid>.ports. Reading it back avoids a probe-then-bind race.
  const args = ["-c", config, "-a", "127.0.0.1", "-p", String(options.port ?? -1), "-js"];
  args.push("-sd", join(dataDir, "jetstream"));
  if (options.port === undefined) args.push("--ports_file_dir", dataDir);
  const daemon = spawnDaemon("nats-server", args, join(dataDir, "nats-server.log"));
  let url = options.port === undefined ? "" : `nats://127.0.0.1:${options.port}`;
  const ready = async () => {
    url ||= readPortsFile(join(dataDir, `nats-server_${daemon.child.pid}.ports`));
    return url !== "" && (await answers({ url, user, password }));
  };
  await waitReady(daemon, `nats-server in ${dataDir}`, ready, options.timeoutMs ?? 30_000);
  return { url, user, password, stop: () => stopDaemon(daemon, 10_000) };
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

/** True when a client with the credentials connects and the server has JetStream enabled. */
async function answers(endpoint: NatsEndpoint): Promise<boolean> {
  const nc = await connect({ ...natsConnectOptions(endpoint), reconnect: false, timeout: 1_000 }).catch(
    () => undefined,
  );
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

/** True when a client without credentials is turned away. */
async function refusesAnonymous(url: string): Promise<boolean> {
  const nc = await connect({ servers: url, reconnect: false, timeout: 1_000 }).catch(() => undefined);
  if (!nc) return true;
  await nc.close();
  return false;
}
