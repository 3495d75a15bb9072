/**
 * Benchmark (issue #4): what of-builder adds to a build. One private dockerd + registry (as of-builder's tests start
 * them); the node20 template (local/templates) with a small handler is built and pushed (a) through of-builder's
 * real server and docker backend (signed tar → receive, verify, unpack, re-tar) and (b) straight to the Docker
 * Engine API with the same context, warm-cache one at a time, then four different functions at once. Root only.
 *
 *   npm run bench:of-builder
 */
import { cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { request } from "node:http";
import type { AddressInfo } from "node:net";
import { availableParallelism, cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { pino } from "pino";
import { create as createTar } from "tar";
import { packBuildContext } from "../shared/build-tar.js";
import { signHop } from "../shared/hmac.js";
import type { BuildResult } from "../of-builder/build-handler.js";
import { createDockerBackend } from "../of-builder/docker-backend.js";
import { createDockerClient, type DockerClient } from "../of-builder/docker-engine.js";
import { registryAuthHeader } from "../of-builder/registry-auth.js";
import { dockerConfig } from "../local/services/registry.js";
import { createBuilderServer, type BuilderServer } from "../of-builder/server.js";
import { postBuild, startInfra, type Infra } from "../of-builder/test-support.js";

const TEMPLATE = fileURLToPath(new URL("../local/templates/template/node20", import.meta.url));
const SECRET = "bench-payload-secret";
const WARM_RUNS = 10;
const SETS = 3;
const PARALLEL = 4;

/** One function's inputs for both paths: of-builder's signed body and the bare context tar for the Engine. */
interface Prepared {
  ofb: { body: Buffer; signature: string; ref: string };
  direct: { context: Buffer; tag: string };
}

/** Shrinkwrap layout (template files, then the handler folder over `function/`), packed both ways. */
async function prepare(work: string, infra: Infra, name: string, nonce: string): Promise<Prepared> {
  const dir = join(work, "fn", `${name}-${nonce}`);
  await cp(TEMPLATE, join(dir, "context"), { recursive: true });
  const handler = [
    '"use strict";',
    "module.exports = async (event, context) => {",
    "  context.status(200);",
    `  return { fn: "${name}", nonce: "${nonce}" };`,
    "};\n",
  ].join("\n");
  await writeFile(join(dir, "context", "function", "handler.js"), handler);
  const pkg = { name, version: "1.0.0", private: true, main: "handler.js" };
  await writeFile(join(dir, "context", "function", "package.json"), `${JSON.stringify(pkg, null, 2)}\n`);
  const buildArgs = { NODE_IMAGE: infra.baseImage };
  const ref = `${infra.registry.url}/bench/${name}:ofb-${nonce}`;
  await packBuildContext(join(dir, "context"), { ref, buildArgs }, join(dir, "build.tar"));
  const body = await readFile(join(dir, "build.tar"));
  // The same context as the Engine gets it from of-builder's docker backend: paths relative to context/.
  const names = await readdir(join(dir, "context"));
  await createTar({ cwd: join(dir, "context"), portable: true, file: join(dir, "context.tar") }, names);
  return {
    ofb: { body, signature: signHop(SECRET, "of-builder", body), ref },
    direct: {
      context: await readFile(join(dir, "context.tar")),
      tag: `${infra.registry.url}/bench/${name}:direct-${nonce}`,
    },
  };
}

/** (a) POST /build, JSON answer; only a successful push with a digest counts. */
async function viaBuilder(url: string, fn: Prepared): Promise<number> {
  const start = performance.now();
  const res = await postBuild(url, fn.ofb);
  const answer = (await res.json()) as BuildResult;
  const took = performance.now() - start;
  if (res.status !== 200 || answer.status !== "success" || !answer.digest) {
    throw new Error(`of-builder ${fn.ofb.ref}: ${res.status} ${answer.error}\n${answer.log?.slice(-10).join("\n")}`);
  }
  return took;
}

/** (b) POST /build?version=2&networkmode=host then POST /images/…/push, straight to dockerd. */
async function direct(docker: DockerClient, infra: Infra, fn: Prepared): Promise<number> {
  const start = performance.now();
  const buildargs = { NODE_IMAGE: infra.baseImage };
  const built = await docker.build(fn.direct.context, {
    tag: fn.direct.tag,
    buildargs,
    networkmode: "host",
    version: "2",
  });
  if (built.error !== undefined) throw new Error(`direct build ${fn.direct.tag}: ${built.error}`);
  const config = dockerConfig(infra.registry.url, infra.registry.credentials);
  const pushed = await docker.push(fn.direct.tag, { registryAuth: registryAuthHeader(config, fn.direct.tag) });
  if (pushed.error !== undefined) throw new Error(`direct push ${fn.direct.tag}: ${pushed.error}`);
  return performance.now() - start;
}

/** `GET /version` on the daemon's socket (the project's client has no call for it). */
function engineVersion(socketPath: string): Promise<{ Version: string; ApiVersion: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path: "/version" }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")) as { Version: string; ApiVersion: string }),
      );
    });
    req.on("error", reject).end();
  });
}

const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return (sorted[Math.floor((sorted.length - 1) / 2)]! + sorted[Math.ceil((sorted.length - 1) / 2)]!) / 2;
};
const ms = (x: number) => `${x.toFixed(0).padStart(6)} ms`;
const stats = (xs: number[]) => `median ${ms(median(xs))}  min ${ms(Math.min(...xs))}  max ${ms(Math.max(...xs))}`;

async function main(): Promise<void> {
  // Short: dockerd's socket paths live under it and are capped at 107 bytes.
  const work = await mkdtemp(join(tmpdir(), "ofb-bench-"));
  let infra: Infra | undefined;
  let builder: BuilderServer | undefined;
  let cleaning: Promise<void> | undefined;
  const cleanup = () =>
    (cleaning ??= (async () => {
      await builder?.shutdown(1000);
      // Stopping dockerd also stops BuildKit's RUN containers and its containerd; no container outlives it.
      await infra?.stop();
      await rm(work, { recursive: true, force: true });
    })());
  // Ctrl-C mid-run must not leave a dockerd and its mounts behind.
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => void cleanup().finally(() => process.exit(130)));
  }
  try {
    const setup = performance.now();
    infra = await startInfra(join(work, "i"));
    const docker = createDockerClient({ socketPath: infra.dockerd.socketPath });
    await mkdir(join(work, "tmp"));
    builder = createBuilderServer({
      backend: createDockerBackend({
        docker,
        readDockerConfig: () => Promise.resolve(dockerConfig(infra!.registry.url, infra!.registry.credentials)),
      }),
      payloadSecret: SECRET,
      maxInflight: PARALLEL,
      maxBuildBytes: 500 * 1024 * 1024,
      maxBuildFiles: 10_000,
      // The operator's base image: the one image of the build registry a Dockerfile may name besides its own.
      baseBuildArgs: { NODE_IMAGE: infra.baseImage },
      tmpDir: join(work, "tmp"),
      log: pino({ level: "silent" }),
    });
    const server = builder.server;
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const engine = await engineVersion(infra.dockerd.socketPath);
    console.log(
      `Node ${process.version}, ${availableParallelism()} CPUs (${cpus()[0]?.model}), Docker Engine ${engine.Version} ` +
        `(API ${engine.ApiVersion}), of-builder max_inflight ${PARALLEL}; services + base image up in ` +
        `${((performance.now() - setup) / 1000).toFixed(1)} s`,
    );

    const warm = await prepare(work, infra, "warm", "0");
    // The warm-up fills BuildKit's cache and the registry, for both paths (they share the cache).
    await viaBuilder(url, warm);
    await direct(docker, infra, warm);
    const times = { ofb: [] as number[], direct: [] as number[] };
    for (let i = 0; i < WARM_RUNS; i++) {
      // Alternating who goes first spreads page-cache and CPU-frequency drift over both.
      for (const path of i % 2 === 0 ? (["ofb", "direct"] as const) : (["direct", "ofb"] as const)) {
        times[path].push(path === "ofb" ? await viaBuilder(url, warm) : await direct(docker, infra, warm));
      }
    }
    console.log(
      `\nwarm cache, one function (${warm.ofb.body.length} byte tar), ${WARM_RUNS} builds+pushes each, alternating:`,
    );
    console.log(`  ${"(a) of-builder POST /build".padEnd(36)} ${stats(times.ofb)}`);
    console.log(`  ${"(b) Engine API build + push".padEnd(36)} ${stats(times.direct)}`);
    console.log(
      `  overhead of-builder / direct: median ${(median(times.ofb) / median(times.direct)).toFixed(2)}x, ` +
        `+${(median(times.ofb) - median(times.direct)).toFixed(0)} ms per build`,
    );

    const sets = { ofb: [] as number[], direct: [] as number[] };
    const each = { ofb: [] as number[], direct: [] as number[] };
    for (let run = 0; run < SETS; run++) {
      for (const path of run % 2 === 0 ? (["ofb", "direct"] as const) : (["direct", "ofb"] as const)) {
        // New handler content per function and per set: the COPY function/ and RUN layers are never cached,
        // while the base image and the template's own layers are, as for a real push of several functions.
        const fns = await Promise.all(
          Array.from({ length: PARALLEL }, (_, n) => prepare(work, infra!, `fn${n}`, `${path}${run}`)),
        );
        const start = performance.now();
        const took = await Promise.all(
          fns.map((fn) => (path === "ofb" ? viaBuilder(url, fn) : direct(docker, infra!, fn))),
        );
        sets[path].push(performance.now() - start);
        each[path].push(...took);
      }
    }
    console.log(`\n${PARALLEL} different functions at once, ${SETS} sets each, alternating (last layers uncached):`);
    for (const [path, label] of [
      ["ofb", "(a) of-builder POST /build"],
      ["direct", "(b) Engine API build + push"],
    ] as const) {
      console.log(
        `  ${label.padEnd(36)} wall per set: ${stats(sets[path])}   per build: median ${ms(median(each[path]))}`,
      );
    }
    console.log(
      `  ratio of-builder / direct: wall ${(median(sets.ofb) / median(sets.direct)).toFixed(2)}x, ` +
        `per build ${(median(each.ofb) / median(each.direct)).toFixed(2)}x`,
    );
  } finally {
    await cleanup();
  }
}

await main();
