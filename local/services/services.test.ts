// Real dockerd + registry + BuildKit (DESIGN §8, issues #4/#5). Needs root and scripts/install-system-deps.sh.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { create as createTar } from "tar";
import { ensureBaseImage } from "./base-image.js";
import { createDockerClient, type DockerClient } from "../../of-builder/docker-engine.js";
import { startDockerd, type Dockerd } from "./dockerd.js";
import { registryAuthHeader } from "../../of-builder/registry-auth.js";
import { basicAuth, dockerConfig, startRegistry, type Registry } from "./registry.js";
import { checkServicesCanStart } from "./test-services.js";
import { createTimings } from "../../test/support/timings.js";

const TIMEOUT = 300_000;
const { timings, timed } = createTimings();

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A build context tar holding `files`. */
async function contextTar(dir: string, files: Record<string, string>): Promise<string> {
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const file = `${dir}.tar`;
  await createTar({ file, cwd: dir }, Object.keys(files));
  return file;
}

const SERVER_JS = `require("node:http")
  .createServer((req, res) => res.end(process.env.GREETING + " from " + process.getuid() + "\\n"))
  .listen(Number(process.env.PORT), "127.0.0.1");
`;
// The base image comes in as a build arg, as the templates do (DESIGN §8).
const DOCKERFILE = `ARG NODE_IMAGE=node:20-alpine
FROM \${NODE_IMAGE}
ARG GREETING=hello
ENV GREETING=\${GREETING}
RUN mkdir -p /app/data && chown app:app /app/data && npm --version
COPY server.js /app/
USER app
CMD ["node","/app/server.js"]
`;

describe("local services: dockerd, registry, base image, BuildKit build/push/run", () => {
  let dir: string;
  let dockerd: Dockerd | undefined;
  let registry: Registry | undefined;
  let docker: DockerClient;
  let baseImage: string;
  const containers: string[] = [];

  beforeAll(async () => {
    checkServicesCanStart();
    dir = mkdtempSync(join(tmpdir(), "ofc-svc-"));
    dockerd = await timed("dockerd start", () => startDockerd({ dataDir: join(dir, "d") }));
    registry = await timed("registry start", () => startRegistry({ dataDir: join(dir, "r") }));
    docker = createDockerClient({ socketPath: dockerd.socketPath });
  }, TIMEOUT);

  const registryGet = (path: string) =>
    fetch(`http://${registry!.url}${path}`, { headers: { authorization: basicAuth(registry!.credentials) } });

  afterAll(async () => {
    for (const id of containers) await docker.remove(id);
    await timed("registry stop", async () => registry?.stop());
    await timed("dockerd stop", async () => dockerd?.stop());
    if (dir) rmSync(dir, { recursive: true, force: true });
    console.log(`timings (ms): ${JSON.stringify(timings, null, 2)}`);
  }, TIMEOUT);

  it(
    "ensureBaseImage on an empty daemon and registry → base/node imported, pushed, listed; second call is a no-op",
    async () => {
      const opts = {
        socketPath: dockerd!.socketPath,
        registry: registry!.url,
        credentials: registry!.credentials,
        workDir: join(dir, "base"),
      };
      baseImage = await timed("base image (uncached)", () => ensureBaseImage(opts));
      expect(baseImage).toMatch(new RegExp(`^${registry!.url}/base/node:\\d+$`));
      const tag = baseImage.split(":").pop();
      const list = (await (await registryGet("/v2/base/node/tags/list")).json()) as { tags: string[] };
      expect(list.tags).toContain(tag);
      expect(await timed("base image (cached)", () => ensureBaseImage(opts))).toBe(baseImage);
    },
    TIMEOUT,
  );

  it(
    "tar context FROM the base image, version=2, networkmode=host → pushed tag listed and the container answers HTTP",
    async () => {
      const image = `${registry!.url}/alice/hello:abc123`;
      const context = await contextTar(join(dir, "ctx-ok"), { Dockerfile: DOCKERFILE, "server.js": SERVER_JS });
      const buildargs = { NODE_IMAGE: baseImage, GREETING: "hi-from-buildkit" };

      const built = await timed("build (uncached)", () => docker.build(context, { tag: image, buildargs }));
      expect(built.error).toBeUndefined();
      // BuildKit answers with moby.buildkit.trace lines (anchors §F), the classic builder never does.
      expect(built.messages.some((m) => m.id === "moby.buildkit.trace")).toBe(true);
      expect(built.messages.some((m) => m.id === "moby.image.id")).toBe(true);
      const cached = await timed("build (cached)", () => docker.build(context, { tag: image, buildargs }));
      expect(cached.error).toBeUndefined();

      const registryAuth = registryAuthHeader(dockerConfig(registry!.url, registry!.credentials), image);
      const pushed = await timed("push", () => docker.push(image, { registryAuth }));
      expect(pushed.error).toBeUndefined();
      expect(pushed.messages.some((m) => JSON.stringify(m.aux ?? {}).includes('"Digest":"sha256:'))).toBe(true);
      const list = (await (await registryGet("/v2/alice/hello/tags/list")).json()) as { tags: string[] };
      expect(list.tags).toEqual(["abc123"]);

      const port = await freePort();
      const id = await timed("container start", () => docker.createAndStart({ Image: image, Env: [`PORT=${port}`] }));
      containers.push(id);
      expect((await docker.inspect(id)).State.Running).toBe(true);
      const body = await timed("first HTTP answer", async () => {
        for (let attempt = 0; ; attempt++) {
          try {
            return await (await fetch(`http://127.0.0.1:${port}/`)).text();
          } catch (err) {
            if (attempt > 100) throw err;
            await sleep(100);
          }
        }
      });
      expect(body).toBe("hi-from-buildkit from 1000\n");
    },
    TIMEOUT,
  );

  it.each([
    ["no credentials", undefined],
    ["a guessed password (ofc:ofc)", `Basic ${Buffer.from("ofc:ofc").toString("base64")}`],
    ["the right user with a wrong password", `Basic ${Buffer.from("ofc:wrong").toString("base64")}`],
  ])("registry with %s → 401 on ping, catalog, manifest pull and blob upload (issue #10)", async (_, authorization) => {
    const headers: Record<string, string> = authorization ? { authorization } : {};
    const statuses = [];
    for (const [method, path] of [
      ["GET", "/v2/"],
      ["GET", "/v2/_catalog"],
      ["GET", "/v2/alice/hello/manifests/abc123"],
      ["POST", "/v2/mallory/x/blobs/uploads/"],
    ] as const) {
      statuses.push(`${method} ${path} ${(await fetch(`http://${registry!.url}${path}`, { method, headers })).status}`);
    }
    expect(statuses).toEqual([
      "GET /v2/ 401",
      "GET /v2/_catalog 401",
      "GET /v2/alice/hello/manifests/abc123 401",
      "POST /v2/mallory/x/blobs/uploads/ 401",
    ]);
    expect((await registryGet("/v2/alice/hello/manifests/abc123")).status).toBe(200);
  });

  it(
    "dockerd push without X-Registry-Auth credentials → in-stream error, the tag is not in the registry",
    async () => {
      const image = `${registry!.url}/alice/hello:anonymous`;
      const tagged = await docker.build(`${join(dir, "ctx-ok")}.tar`, {
        tag: image,
        buildargs: { NODE_IMAGE: baseImage },
      });
      expect(tagged.error).toBeUndefined();
      const pushed = await docker.push(image);
      expect(pushed.error).toMatch(/no basic auth credentials|unauthorized/);
      const list = (await (await registryGet("/v2/alice/hello/tags/list")).json()) as { tags: string[] };
      expect(list.tags).toEqual(["abc123"]);
    },
    TIMEOUT,
  );

  it(
    "Dockerfile with RUN false → HTTP 200 stream carries the error, detected",
    async () => {
      const context = await contextTar(join(dir, "ctx-fail"), { Dockerfile: `FROM ${baseImage}\nRUN false\n` });
      const built = await timed("build (RUN false)", () =>
        docker.build(context, { tag: `${registry!.url}/alice/broken:1` }),
      );
      expect(built.error).toMatch(/exit code: 1/);
    },
    TIMEOUT,
  );
});
