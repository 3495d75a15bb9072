// For tests and benchmarks that need real builds: the private dockerd, the registry and the base image (DESIGN §8).
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ensureBaseImage } from "./base-image.js";
import { startDockerd, type Dockerd } from "./dockerd.js";
import { startRegistry, type Registry } from "./registry.js";

const NODE_CACHE = fileURLToPath(new URL("../../node_modules/.cache/ofc-node", import.meta.url));
const BINARIES = ["/usr/sbin/dockerd", "/usr/bin/containerd", "/usr/sbin/runc", "/usr/bin/docker-registry"];

/** dockerd + registry + the base image, all under `dir` (keep it short: unix socket paths are capped). */
export interface Services {
  dockerd: Dockerd;
  registry: Registry;
  baseImage: string;
  /** Stops the registry, then the daemon. */
  stop(): Promise<void>;
}

/** Fails with what is missing (never skipping) when this machine cannot start dockerd and the registry. */
export function checkServicesCanStart(): void {
  const missing = BINARIES.filter((b) => !existsSync(b));
  if (missing.length > 0) throw new Error(`missing ${missing.join(", ")}: run scripts/install-system-deps.sh as root`);
  if (process.getuid?.() !== 0) throw new Error("these tests start dockerd and must run as root");
}

/** Starts the services, failing with what is missing (never skipping) when the machine cannot run them. */
export async function startServices(dir: string): Promise<Services> {
  checkServicesCanStart();
  const dockerd = await startDockerd({ dataDir: join(dir, "d") });
  const registry = await startRegistry({ dataDir: join(dir, "r") });
  const stop = async () => {
    await registry.stop();
    await dockerd.stop();
  };
  try {
    const baseImage = await ensureBaseImage({
      socketPath: dockerd.socketPath,
      registry: registry.url,
      credentials: registry.credentials,
      workDir: join(dir, "base"),
      // One copy of the official Node.js binary for every test run on this machine (local/services/node-runtime.ts),
      // kept where tools keep caches, not in the temp folder a test run must leave as it found it (issue #18).
      nodeCacheDir: NODE_CACHE,
    });
    return { dockerd, registry, baseImage, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
