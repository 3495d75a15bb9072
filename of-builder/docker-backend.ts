import { readdir } from "node:fs/promises";
import { Readable } from "node:stream";
import { create as createTar } from "tar";
import { BuildFailure, type BuildBackend } from "./backend.js";
import { createEngineProgress } from "./buildkit-trace.js";
import type { DockerClient, JsonMessage } from "./docker-engine.js";
import { registryAuthHeader } from "./registry-auth.js";

/** What the Engine API backend needs. */
export interface DockerBackendDeps {
  docker: DockerClient;
  /** `$DOCKER_CONFIG/config.json`, read afresh per push (mounted credentials rotate); undefined when there is none. */
  readDockerConfig: () => Promise<string | undefined>;
}

// Push progress that says nothing once the push is over; "Pushed", "Layer already exists" and the digest line stay.
const PUSH_NOISE = new Set(["Preparing", "Waiting", "Pushing"]);

/** An Engine API failure (HTTP 4xx/5xx from dockerd) is the build's failure; a dead socket is a fault. */
function engineFailure(step: string, error: unknown): unknown {
  const status = (error as { status?: number }).status;
  return status === undefined ? error : new BuildFailure(`${step}: ${(error as Error).message}`);
}

/**
 * Builds with dockerd's BuildKit (`POST /build?version=2&networkmode=host`, DESIGN §6, §8), then pushes with
 * `POST /images/{name}/push`; the digest is the push's final aux `{Tag, Digest, Size}` (anchors §F).
 */
export function createDockerBackend(deps: DockerBackendDeps): BuildBackend {
  return {
    async build({ contextDir, ref, buildArgs, onLog, signal, timer }) {
      // The original exported `name = lower(ref)` (original-spec §6); registries refuse upper-case repositories.
      const image = ref.toLowerCase();
      const names = await readdir(contextDir);
      if (names.length === 0) throw new BuildFailure("the build context is empty: no Dockerfile");
      // The extracted context/ folder again as a tar stream, paths relative to it (no "./" prefix).
      const context = Readable.from(createTar({ cwd: contextDir, portable: true }, names));
      const progress = createEngineProgress(onLog);
      const built = timer?.start("of-builder.build");
      try {
        await deps.docker.build(
          context,
          { tag: image, buildargs: { ...buildArgs }, networkmode: "host", version: "2" },
          { onMessage: (m) => progress.message(m), signal },
        );
      } catch (error) {
        throw engineFailure("docker build", error);
      } finally {
        // A cancelled or refused build leaves the tar half read: let go of its files.
        context.destroy();
        built?.();
      }
      const { failure } = progress.finish();
      if (failure) throw failure;

      onLog(`pushing ${image}`);
      const registryAuth = registryAuthHeader(await deps.readDockerConfig(), image);
      let digest: string | undefined;
      const onMessage = (m: JsonMessage) => {
        const aux = m.aux as { Digest?: unknown } | undefined;
        if (typeof aux?.Digest === "string") digest = aux.Digest;
        if (m.status && !PUSH_NOISE.has(m.status)) onLog(m.id ? `${m.id}: ${m.status}` : m.status);
        if (m.errorDetail !== undefined || m.error !== undefined) onLog(`ERROR: ${m.errorDetail?.message ?? m.error}`);
      };
      let pushed;
      const pushing = timer?.start("of-builder.push");
      try {
        pushed = await deps.docker.push(image, { registryAuth, signal, onMessage });
      } catch (error) {
        throw engineFailure(`push ${image}`, error);
      } finally {
        pushing?.();
      }
      if (pushed.error !== undefined) throw new BuildFailure(`push ${image}: ${pushed.error}`);
      return digest === undefined ? {} : { digest };
    },
  };
}
