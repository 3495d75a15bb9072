// Test helpers for of-builder's server tests: the real local services (DESIGN §8) and signed build tars.
import { mkdirSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { pino } from "pino";
import { Header } from "tar";
import { startServices, type Services } from "../local/services/test-services.js";
import { packBuildContext } from "../shared/build-tar.js";
import { signHop } from "../shared/hmac.js";
import { createDockerBackend } from "./docker-backend.js";
import { createDockerClient } from "./docker-engine.js";
import { createBuilderServer, type BuilderServer } from "./server.js";

/** dockerd + registry + the base image under `dir` (local/services/test-services.ts). */
export type Infra = Services;
export const startInfra = startServices;

/** A signed of-builder request body for `files` (the shrinkwrapped context) and `config`, as git-tar sends it. */
export async function signedBuild(
  dir: string,
  secret: string,
  files: Record<string, string>,
  config: { ref: string; buildArgs?: Record<string, string> },
): Promise<{ body: Buffer; signature: string }> {
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, "context", name)), { recursive: true });
    writeFileSync(join(dir, "context", name), text);
  }
  await packBuildContext(join(dir, "context"), config, join(dir, "build.tar"));
  const body = await readFile(join(dir, "build.tar"));
  return { body, signature: signHop(secret, "of-builder", body) };
}

/** One entry of a hand-made tar: whatever a hostile client could send. */
export interface RawEntry {
  path: string;
  type?: "File" | "Directory" | "SymbolicLink";
  size?: number;
  body?: string;
  linkpath?: string;
}

/** A tar written header by header (`size` may lie), signed, so it reaches the unpacker. */
export function signedRawTar(secret: string, entries: RawEntry[]): { body: Buffer; signature: string } {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const data = Buffer.from(entry.body ?? "");
    const header = new Header({
      path: entry.path,
      type: entry.type ?? "File",
      size: entry.size ?? data.length,
      linkpath: entry.linkpath ?? "",
      mode: entry.type === "Directory" ? 0o755 : 0o644,
      mtime: new Date(0),
    });
    header.encode();
    blocks.push(header.block!, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  const body = Buffer.concat([...blocks, Buffer.alloc(1024)]);
  return { body, signature: signHop(secret, "of-builder", body) };
}

/** An of-builder listening on 127.0.0.1, with the docker backend on `socketPath`. */
export async function startBuilder(options: {
  socketPath: string;
  secret: string;
  tmpDir: string;
  maxBuildBytes: number;
  maxInflight?: number;
  /** The registry's account as a Docker config.json (the local registry refuses anonymous pushes). */
  dockerConfig?: string;
  /** The operator's build args; their images are the only ones of the build registry a Dockerfile may name. */
  baseBuildArgs?: Record<string, string>;
}): Promise<{ builder: BuilderServer; url: string }> {
  const docker = createDockerClient({ socketPath: options.socketPath });
  const builder = createBuilderServer({
    backend: createDockerBackend({ docker, readDockerConfig: () => Promise.resolve(options.dockerConfig) }),
    payloadSecret: options.secret,
    maxInflight: options.maxInflight ?? 2,
    maxBuildBytes: options.maxBuildBytes,
    maxBuildFiles: 10_000,
    baseBuildArgs: options.baseBuildArgs ?? {},
    tmpDir: options.tmpDir,
    log: pino({ level: "silent" }),
  });
  await new Promise<void>((resolve) => builder.server.listen(0, "127.0.0.1", resolve));
  return { builder, url: `http://127.0.0.1:${(builder.server.address() as AddressInfo).port}` };
}

/** POST /build with a signed body. */
export function postBuild(url: string, request: { body: Buffer; signature: string }, accept = "application/json") {
  return fetch(`${url}/build`, {
    method: "POST",
    body: request.body,
    headers: { "Content-Type": "application/x-tar", "X-Cloud-Signature-256": request.signature, Accept: accept },
  });
}

/**
 * An upload that never ends: `headers`, then a few bytes every 200 ms (a slow or stalled client). `stop()` drops it;
 * `answered` says whether the server has answered it yet. Resolves once `server` has taken the request in (its
 * handler has run up to its first wait).
 */
export async function trickleUpload(server: Server, url: string, headers: Record<string, string>) {
  const seen = new Promise((resolve) => server.once("request", resolve));
  let answered = false;
  const req = request(`${url}/build`, { method: "POST", headers, agent: false }, () => (answered = true));
  req.on("error", () => undefined);
  req.flushHeaders();
  const timer = setInterval(() => req.write(Buffer.alloc(16)), 200);
  await seen;
  return {
    answered: () => answered,
    stop() {
      clearInterval(timer);
      req.destroy();
    },
  };
}
