import { rmSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "pino";
import type { DockerClient } from "../../of-builder/docker-engine.js";
import { registryAuthHeader } from "../../of-builder/registry-auth.js";
import type { FunctionDeployment } from "../../shared/gateway.js";
import { HttpError } from "../../shared/http-error.js";
import { containerSpec, memoryBytes } from "./container-spec.js";
import type { Ports } from "./ports.js";
import { HEALTH_PATH_ANNOTATION, waitUntilAnswering } from "./readiness.js";
import type { SecretStore } from "./secrets.js";

/** One running container of a function: its port, whether it answers yet, and the calls it is serving. */
export interface Instance {
  id: string;
  port: number;
  ready: boolean;
  /** A readiness poll is running. */
  watching: boolean;
  inflight: number;
  stop: AbortController;
  secretsDir?: string;
}

/** What a function's containers run on. */
export interface InstancesDeps {
  docker: DockerClient;
  /** A Docker config.json with the registry's account (undefined: anonymous pulls), as of-builder reads one. */
  dockerConfig?: string;
  ports: Ports;
  secrets: SecretStore;
  /** Each container's secret files go to `<dir>/<function>/<port>/`. */
  dir: string;
  log: Logger;
  readyTimeoutMs: number;
}

/** Starting, watching and removing a function's containers. */
export function createInstances(deps: InstancesDeps) {
  const secretsDirFor = (d: FunctionDeployment, port: number) =>
    d.secrets?.length ? join(deps.dir, d.service, String(port)) : undefined;

  function adopt(id: string, d: FunctionDeployment, port: number): Instance {
    const secretsDir = secretsDirFor(d, port);
    return {
      id,
      port,
      ready: false,
      watching: false,
      inflight: 0,
      stop: new AbortController(),
      ...(secretsDir ? { secretsDir } : {}),
    };
  }

  return {
    /** An Instance for a container that already runs (found after a gateway restart). */
    adopt,

    /** Refusals that need no container: a missing secret, a bad memory quantity, an image the registry lacks. */
    async prepare(d: FunctionDeployment): Promise<void> {
      deps.secrets.check(d.secrets ?? []);
      if (d.limits?.memory) memoryBytes(d.limits.memory);
      if (await deps.docker.inspectImage(d.image)) return;
      let error: string | undefined;
      try {
        // Only the image's own registry gets the credentials kept for it (registry-auth.ts matches the host).
        const registryAuth = registryAuthHeader(deps.dockerConfig, d.image);
        error = (await deps.docker.pull(d.image, { registryAuth })).error;
      } catch (err) {
        error = engineMessage(err);
      }
      if (error !== undefined) throw new HttpError(400, `unable to pull image ${d.image}: ${error}`);
    },

    /** Creates and starts container `name` on a new port, with a fresh copy of its secrets. */
    async start(d: FunctionDeployment, createdAt: string, name: string): Promise<Instance> {
      const port = await deps.ports.take();
      const secretsDir = secretsDirFor(d, port);
      try {
        if (secretsDir) deps.secrets.copyTo(d.secrets ?? [], secretsDir);
        const imageUser = (await deps.docker.inspectImage(d.image))?.Config?.User;
        const id = await deps.docker.createAndStart(
          containerSpec({ deployment: d, port, createdAt, name, secretsDir, imageUser }),
        );
        return adopt(id, d, port);
      } catch (err) {
        const status = (err as { status?: number }).status;
        // 409: the name belongs to a container we did not make; else ours may be left created but not started.
        if (status !== 409) await deps.docker.remove(name).catch(() => undefined);
        if (secretsDir) rmSync(secretsDir, { recursive: true, force: true });
        deps.ports.release(port);
        if (status === 400 || status === 409)
          throw new HttpError(status, `function ${d.service}: ${engineMessage(err)}`);
        throw err;
      }
    },

    /** Polls the container until it answers HTTP (its health path if annotated); marks it ready. */
    async watch(d: FunctionDeployment, instance: Instance): Promise<boolean> {
      instance.watching = true;
      const ok = await waitUntilAnswering({
        port: instance.port,
        path: d.annotations?.[HEALTH_PATH_ANNOTATION],
        timeoutMs: deps.readyTimeoutMs,
        signal: instance.stop.signal,
      });
      instance.ready = ok;
      instance.watching = false;
      if (!ok && !instance.stop.signal.aborted) {
        deps.log.warn({ function: d.service, port: instance.port }, "function did not answer HTTP in time");
      }
      return ok;
    },

    /** Removes the container, its secret files and its port. */
    async discard(instance: Instance): Promise<void> {
      instance.stop.abort();
      instance.ready = false;
      await deps.docker.remove(instance.id);
      if (instance.secretsDir) rmSync(instance.secretsDir, { recursive: true, force: true });
      deps.ports.release(instance.port);
    },

    /** ` (container exited, exit code 1)`, for the message of a container that never answered. */
    async describeExit(instance: Instance): Promise<string> {
      const state = await deps.docker
        .inspect(instance.id)
        .then((c) => c.State)
        .catch(() => undefined);
      if (!state) return "";
      return state.Running ? " (still running)" : ` (container ${state.Status}, exit code ${state.ExitCode})`;
    },
  };
}

/** The daemon's own message, without of-builder client's `docker METHOD path: status` prefix. */
function engineMessage(err: unknown): string {
  return String((err as Error).message ?? err).replace(/^docker \S+ \S+: \d+ /, "");
}
