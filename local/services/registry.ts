import { mkdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join, resolve } from "node:path";
import { spawnDaemon, stopDaemon, waitReady } from "./daemon-process.js";

/** Where a private image registry keeps its blobs, and the port it listens on. */
export interface RegistryOptions {
  /** Holds `registry.yml`, `registry.log` and `storage/`. */
  dataDir: string;
  /** Defaults to a free port. */
  port?: number;
  timeoutMs?: number;
}

/** A running (or reused) registry. */
export interface Registry {
  /** `127.0.0.1:PORT`, the form image names use. */
  url: string;
  /** Stops the registry this call started; a reused one is left running. */
  stop(): Promise<void>;
}

/**
 * Starts Debian's `docker-registry serve` on 127.0.0.1 only (DESIGN §8: the packaged config listens on all
 * interfaces), or reuses one that already answers `GET /v2/` on the given port.
 */
export async function startRegistry(options: RegistryOptions): Promise<Registry> {
  const dataDir = resolve(options.dataDir);
  const port = options.port ?? (await freePort());
  const url = `127.0.0.1:${port}`;
  const answers = async () => (await fetch(`http://${url}/v2/`)).status === 200;
  if (options.port !== undefined && (await answers().catch(() => false))) return { url, stop: async () => {} };

  mkdirSync(join(dataDir, "storage"), { recursive: true });
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
      "http:",
      `  addr: ${url}`,
      "",
    ].join("\n"),
  );
  const daemon = spawnDaemon("docker-registry", ["serve", config], join(dataDir, "registry.log"));
  await waitReady(daemon, `docker-registry on ${url}`, answers, options.timeoutMs ?? 30_000);
  return { url, stop: () => stopDaemon(daemon, 10_000) };
}

/** A port the kernel just handed out on 127.0.0.1 (free unless someone takes it before the registry binds). */
function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? resolvePort(address.port) : reject(new Error("no port")),
      );
    });
  });
}
