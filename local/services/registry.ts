import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import bcrypt from "bcryptjs";
import { spawnDaemon, stopDaemon, waitReady } from "./daemon-process.js";
import { freePort } from "../ports.js";

/** The one account the registry accepts (issue #10): held by the runtime, of-builder and the provider only. */
export interface RegistryCredentials {
  username: string;
  password: string;
}

/** Where a private image registry keeps its blobs, and the port it listens on. */
export interface RegistryOptions {
  /** Holds `registry.yml`, `htpasswd`, `registry.log` and `storage/`. */
  dataDir: string;
  /** Defaults to a free port. */
  port?: number;
  /** Defaults to a fresh random password for user `ofc` (the runtime passes the ones in its secrets folder). */
  credentials?: RegistryCredentials;
  /** No authentication at all: for tests of what anonymous pulls see (issue #11). The runtime never sets it. */
  anonymous?: boolean;
  timeoutMs?: number;
}

/** A running (or reused) registry. */
export interface Registry {
  /** `127.0.0.1:PORT`, the form image names use. */
  url: string;
  credentials: RegistryCredentials;
  /** Stops the registry this call started; a reused one is left running. */
  stop(): Promise<void>;
}

// The password is 192 random bits, so bcrypt's work factor adds nothing against guessing; the minimum keeps each
// request cheap, since the registry checks the password on every one of a push's many requests.
const BCRYPT_COST = 4;

/**
 * Starts Debian's `docker-registry serve` on 127.0.0.1 only (DESIGN §8: the packaged config listens on all
 * interfaces) with htpasswd authentication on every request, push and pull alike (issue #10: user builds and
 * functions share the host network, so only the password keeps them out). Reuses a registry already answering
 * on the given port if it takes these credentials and refuses anonymous requests.
 */
export async function startRegistry(options: RegistryOptions): Promise<Registry> {
  const dataDir = resolve(options.dataDir);
  const port = options.port ?? (await freePort());
  const url = `127.0.0.1:${port}`;
  const credentials = options.credentials ?? { username: "ofc", password: randomBytes(24).toString("hex") };
  const status = async (authorization?: string) =>
    (await fetch(`http://${url}/v2/`, authorization ? { headers: { authorization } } : {})).status;
  const answers = async () => (await status(basicAuth(credentials))) === 200;
  if (options.port !== undefined && !options.anonymous && (await answers().catch(() => false))) {
    if ((await status()) !== 401) {
      throw new Error(`the registry on ${url} lets anonymous requests in (started by an older version?): stop it`);
    }
    return { url, credentials, stop: async () => {} };
  }

  mkdirSync(join(dataDir, "storage"), { recursive: true });
  const htpasswd = join(dataDir, "htpasswd");
  const hash = bcrypt.hashSync(credentials.password, BCRYPT_COST);
  writeFileSync(htpasswd, `${credentials.username}:${hash}\n`, { mode: 0o600 });
  const config = join(dataDir, "registry.yml");
  writeFileSync(
    config,
    [
      "version: 0.1",
      "log:",
      "  level: warn",
      "storage:",
      "  filesystem:",
      `    rootdirectory: ${JSON.stringify(join(dataDir, "storage"))}`,
      "  delete:",
      "    enabled: true",
      ...(options.anonymous
        ? []
        : ["auth:", "  htpasswd:", "    realm: ofc-local", `    path: ${JSON.stringify(htpasswd)}`]),
      "http:",
      `  addr: ${url}`,
      "",
    ].join("\n"),
  );
  const daemon = spawnDaemon("docker-registry", ["serve", config], join(dataDir, "registry.log"));
  await waitReady(daemon, `docker-registry on ${url}`, answers, options.timeoutMs ?? 30_000);
  return { url, credentials, stop: () => stopDaemon(daemon, 10_000) };
}

/** `Basic base64(user:password)`, for the registry's HTTP API. */
export function basicAuth(credentials: RegistryCredentials): string {
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString("base64")}`;
}

/**
 * A Docker `config.json` holding the credentials for `registry`, as `docker login` writes it: what of-builder reads
 * from DOCKER_CONFIG, so the local runtime pushes and pulls through the same code (of-builder/registry-auth.ts).
 */
export function dockerConfig(registry: string, credentials: RegistryCredentials): string {
  const auth = Buffer.from(`${credentials.username}:${credentials.password}`).toString("base64");
  return JSON.stringify({ auths: { [registry]: { auth } } });
}
