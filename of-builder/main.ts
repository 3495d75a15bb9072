// of-builder's composition root: `node --import tsx of-builder/main.ts` (DESIGN §6). The only place that reads
// process.env, the secret file and DOCKER_CONFIG.
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "../shared/log.js";
import type { BuildBackend } from "./backend.js";
import { createBuildctlBackend } from "./buildctl-backend.js";
import { loadBuilderConfig } from "./config.js";
import { createDockerBackend } from "./docker-backend.js";
import { createDockerClient } from "./docker-engine.js";
import { createBuilderServer } from "./server.js";

// Builds in flight may finish for as long as buildshiprun waits for one (270 s, its builder client's deadline);
// yaml/of-builder.yaml's terminationGracePeriodSeconds (300) and docker-compose.yml's stop_grace_period (5m) leave
// room for it before the SIGKILL.
const SHUTDOWN_GRACE_MS = 280_000;

const log = createLogger("of-builder", process.env.LOG_LEVEL ?? "info");
const config = loadBuilderConfig(process.env);

async function readDockerConfig(): Promise<string | undefined> {
  if (config.DOCKER_CONFIG === undefined) return undefined;
  try {
    return await readFile(join(config.DOCKER_CONFIG, "config.json"), "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

function childEnv(): Record<string, string> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin" };
  if (process.env.HOME) env.HOME = process.env.HOME;
  if (config.DOCKER_CONFIG) env.DOCKER_CONFIG = config.DOCKER_CONFIG;
  return env;
}

const backend: BuildBackend =
  config.builder_backend === "docker"
    ? createDockerBackend({ docker: createDockerClient({ socketPath: config.dockerSocket }), readDockerConfig })
    : createBuildctlBackend({ addr: config.BUILDKIT_HOST, env: childEnv() });

const builder = createBuilderServer({
  backend,
  payloadSecret: config.payloadSecret,
  maxInflight: config.max_inflight,
  maxBuildBytes: config.max_build_mb * 1024 * 1024,
  maxBuildFiles: config.max_build_files,
  baseBuildArgs: config.baseBuildArgs,
  tmpDir: tmpdir(),
  log,
});

builder.server.listen(config.port, config.host, () => {
  log.info({ host: config.host, port: config.port, backend: config.builder_backend }, "of-builder listening");
});

let stopping = false;
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    log.info({ signal, builds: builder.inflight() }, "shutting down");
    builder.shutdown(SHUTDOWN_GRACE_MS).then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, "shutdown failed");
        process.exit(1);
      },
    );
  });
}
