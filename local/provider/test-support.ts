// Test helpers for local/gateway.test.ts: the real services (DESIGN §8), a tiny function image, faas-cli's bodies.
import { mkdirSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { create as createTar } from "tar";
import { createDockerClient, type DockerClient } from "../../of-builder/docker-engine.js";
import { registryAuthHeader } from "../../of-builder/registry-auth.js";
import { dockerConfig } from "../services/registry.js";
import { startServices } from "../services/test-services.js";
import { createContainerApi } from "./container-api.js";
import { LABELS } from "./container-spec.js";

// Echoes the call and what the container sees; START_DELAY_MS delays listening, ?delay= delays the answer. Logs
// each call to stdout, and ?stderr=<text> to stderr (for /system/logs). Exits on SIGTERM, as a function's watchdog
// does (node as PID 1 would ignore it, and a stop would wait Docker's 10 s).
const SERVER_JS = `const fs = require("node:fs");
let firstPath;
const attempt = (f) => { try { return f(); } catch (e) { return e.code; } };
const serve = () => require("node:http").createServer((req, res) => {
  firstPath ??= req.url;
  const chunks = [];
  req.on("data", (c) => chunks.push(c)).on("end", () => {
    const q = new URL(req.url, "http://fn").searchParams;
    console.log(req.method + " " + req.url);
    if (q.has("stderr")) console.error(q.get("stderr"));
    const body = JSON.stringify({ method: req.method, url: req.url, body: Buffer.concat(chunks).toString(), firstPath,
      secret: q.has("secret") ? attempt(() => fs.readFileSync("/var/openfaas/secrets/" + q.get("secret"), "utf8")) : null,
      tmp: q.has("write") ? attempt(() => (fs.writeFileSync("/tmp/probe", "x"), "ok")) : null,
      home: q.has("write") ? attempt(() => (fs.writeFileSync("/home/app/probe", "x"), "ok")) : null,
      greeting: process.env.GREETING ?? null, fprocess: process.env.fprocess ?? null,
      port: process.env.port, httpPort: process.env.http_port });
    setTimeout(() => res.writeHead(200, { "content-type": "application/json", "x-fn": "echo" }).end(body),
      Number(q.get("delay") ?? 0));
  });
}).listen(Number(process.env.http_port), "127.0.0.1");
setTimeout(serve, Number(process.env.START_DELAY_MS ?? 0));
process.on("SIGTERM", () => process.exit(0));
`;
// The base image comes in as a build arg, as the templates do (DESIGN §8).
const DOCKERFILE = `ARG NODE_IMAGE=node:20-alpine
FROM \${NODE_IMAGE}
COPY server.js /app/
USER app
CMD ["node","/app/server.js"]
`;

/** dockerd + registry + base image under `dir`, and the echo function's image, pushed and then removed locally. */
export interface Infra {
  socketPath: string;
  registry: string;
  /** A Docker config.json with the registry's account (it refuses anonymous pulls). */
  dockerConfig: string;
  docker: DockerClient;
  image: string;
  /** Removes the function containers left, stops the registry and the daemon. */
  stop(): Promise<void>;
}

/** Starts the services (as local/services/services.test.ts) and builds the echo function's image. */
export async function startInfra(dir: string): Promise<Infra> {
  const services = await startServices(dir);
  const { dockerd, registry, baseImage } = services;
  const { socketPath } = dockerd;
  const docker = createDockerClient({ socketPath });
  const stop = async () => {
    const left = await createContainerApi({ socketPath }).listByLabel(LABELS.function);
    for (const c of left) await docker.remove(c.Id);
    await services.stop();
  };
  try {
    const context = join(dir, "ctx");
    mkdirSync(context);
    writeFileSync(join(context, "Dockerfile"), DOCKERFILE);
    writeFileSync(join(context, "server.js"), SERVER_JS);
    await createTar({ file: `${context}.tar`, cwd: context }, ["Dockerfile", "server.js"]);
    const image = `${registry.url}/alice/echo:1`;
    const built = await docker.build(`${context}.tar`, { tag: image, buildargs: { NODE_IMAGE: baseImage } });
    if (built.error) throw new Error(`build of ${image}: ${built.error}`);
    const config = dockerConfig(registry.url, registry.credentials);
    const pushed = await docker.push(image, { registryAuth: registryAuthHeader(config, image) });
    if (pushed.error) throw new Error(`push of ${image}: ${pushed.error}`);
    // Only in the registry now, so the first deploy has to pull it.
    const removed = await engine(socketPath, "DELETE", `/images/${image}`);
    if (removed !== 200) throw new Error(`removing ${image} from the daemon answered ${removed}`);
    return { socketPath, registry: registry.url, dockerConfig: config, docker, image, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The fields a stack.yml gives faas-cli for one function. */
export interface StackFunction {
  envVars?: Record<string, string>;
  secrets?: string[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  limits?: { memory?: string; cpu?: string };
  readOnly?: boolean;
}

/**
 * Exactly the JSON faas-cli sends to PUT/POST /system/functions (proxy/deploy.go marshals faas-provider's
 * FunctionDeployment: fields in struct order, `labels` and `annotations` as pointers, so `null` when unset).
 */
export function faasCliBody(service: string, image: string, fn: StackFunction): string {
  return JSON.stringify({
    service,
    image,
    envProcess: "node /app/server.js",
    ...(fn.envVars ? { envVars: fn.envVars } : {}),
    ...(fn.secrets ? { secrets: fn.secrets } : {}),
    labels: fn.labels ?? null,
    annotations: fn.annotations ?? null,
    ...(fn.limits ? { limits: fn.limits } : {}),
    ...(fn.readOnly ? { readOnlyRootFilesystem: true } : {}),
  });
}

/** An HTTP answer, read whole. */
export interface Answer {
  status: number;
  text: string;
  headers: Headers;
  json<T = Record<string, unknown>>(): T;
}

/** `method base+path` with a JSON (or string) body. */
export async function send(
  base: string,
  method: string,
  path: string,
  body: unknown,
  headers: Record<string, string>,
): Promise<Answer> {
  const res = await fetch(base + path.replace(/^\//, ""), {
    method,
    headers,
    ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, text, headers: res.headers, json: <T>() => JSON.parse(text) as T };
}

/** Polls `probe` every 50 ms until it returns a value. */
export async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  for (let waited = 0; waited < ms; waited += 50) {
    const value = await probe();
    if (value !== undefined) return value;
    await sleep(50);
  }
  throw new Error(`${what}: not within ${ms} ms`);
}

/** A bare Engine API call (image removal is not in of-builder's client); resolves with the status. */
function engine(socketPath: string, method: string, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path: `/v1.41${path}` }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    req.end();
  });
}
