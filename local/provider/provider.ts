import { join } from "node:path";
import { machine } from "node:os";
import type { Logger } from "pino";
import type { GatewayInfo } from "../../shared/gateway.js";
import { createDockerClient } from "../../of-builder/docker-engine.js";
import { createContainerApi } from "./container-api.js";
import { createFunctionLogs, type LogMessage, type LogRequest } from "./function-logs.js";
import { createFunctions, type Functions } from "./functions.js";
import { createPorts } from "./ports.js";
import { createSecretStore, type SecretStore } from "./secrets.js";

/** What the local provider runs on. */
export interface LocalProviderDeps {
  /** The Docker daemon's unix socket (local/services/dockerd.ts). */
  socketPath: string;
  /** A Docker config.json with the local registry's account, for pulling images the daemon lacks. */
  dockerConfig?: string;
  /** Holds `secrets/` (the secret store) and `functions/<name>/` (each container's secret files). */
  stateDir: string;
  log: Logger;
  now: () => Date;
  /** This build's version, for /system/info. */
  version?: { release: string; sha: string };
  /** How long a new container has to answer HTTP (default 30 s). */
  readyTimeoutMs?: number;
}

/** An OpenFaaS provider over Docker: the functions, the secrets, and what /system/info says. */
export interface LocalProvider {
  functions: Functions;
  secrets: SecretStore;
  info: GatewayInfo;
  /** A function's container logs for /system/logs; 404 when the function does not exist. */
  logs(request: LogRequest): Promise<AsyncIterable<LogMessage>>;
  /** Stops background work; deployed functions keep running (a new provider over the same deps finds them). */
  close(): void;
}

/** Wires the local provider once (STYLE §2.5); a second one over the same deps sees the same functions and secrets. */
export function createLocalProvider(deps: LocalProviderDeps): LocalProvider {
  const docker = createDockerClient({ socketPath: deps.socketPath });
  const secrets = createSecretStore({ dir: join(deps.stateDir, "secrets") });
  const containers = createContainerApi({ socketPath: deps.socketPath });
  const functions = createFunctions({
    docker,
    ...(deps.dockerConfig !== undefined ? { dockerConfig: deps.dockerConfig } : {}),
    containers,
    ports: createPorts(),
    secrets,
    dir: join(deps.stateDir, "functions"),
    log: deps.log.child({ component: "provider" }),
    now: deps.now,
    ...(deps.readyTimeoutMs !== undefined ? { readyTimeoutMs: deps.readyTimeoutMs } : {}),
  });
  const version = deps.version ?? { release: "dev", sha: "unknown" };
  return {
    functions,
    secrets,
    // Not "faas-netes-ce" or "faasd-ce": openfaas_edition=auto takes it as Standard/Enterprise, which is what it does
    // (it pulls private images with the registry's account and refuses no label).
    info: { provider: { provider: "ofc-local", orchestration: "docker", version }, version, arch: machine() },
    logs: createFunctionLogs({ functions, containers }),
    close: () => functions.close(),
  };
}
