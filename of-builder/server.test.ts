// of-builder over real HTTP with the docker backend against a private dockerd + registry (DESIGN §8). Root only.
import { randomUUID } from "node:crypto";
import { mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { basicAuth, dockerConfig } from "../local/services/registry.js";
import type { BuilderServer } from "./server.js";
import { signHop } from "../shared/hmac.js";
import { postBuild, signedBuild, startBuilder, startInfra, trickleUpload, type Infra } from "./test-support.js";
import { createTimings } from "../test/support/timings.js";

const TIMEOUT = 300_000;
const SECRET = "of-builder-test-secret";

const FUNCTION = {
  Dockerfile: `ARG NODE_IMAGE=node:20-alpine
FROM \${NODE_IMAGE}
WORKDIR /home/app
COPY package.json index.js ./
COPY function/ ./function/
RUN npm --version && node -e "require('./function/handler.js')"
USER app
CMD ["node", "index.js"]
`,
  "package.json": '{"name":"hello","version":"1.0.0","private":true}\n',
  "index.js":
    "require('node:http').createServer(async (q, s) => s.end(await require('./function/handler.js')())).listen(8080);\n",
  "function/handler.js": "module.exports = async () => 'hello';\n",
};
// Prints at once, then 1.5 s later; NONCE keeps BuildKit from answering from its cache.
const SLOW = `ARG NODE_IMAGE
FROM \${NODE_IMAGE}
ARG NONCE
RUN node -e "console.log('first $NONCE'); setTimeout(() => console.log('second'), 1500)"
`;

interface Answer {
  imageName: string;
  status: string;
  log: string[];
  digest?: string;
  error?: string;
}

let work: string;
let infra: Infra;
let tmp: string;
let main: { builder: BuilderServer; url: string };
const { timings, timed } = createTimings();

const startMain = () =>
  startBuilder({
    socketPath: infra.dockerd.socketPath,
    secret: SECRET,
    tmpDir: tmp,
    maxBuildBytes: 8 * 1024 * 1024,
    dockerConfig: dockerConfig(infra.registry.url, infra.registry.credentials),
    baseBuildArgs: { NODE_IMAGE: infra.baseImage },
  });
const post = (request: { body: Buffer; signature: string }, accept?: string, url = main.url) =>
  postBuild(url, request, accept);

const slowBuild = async (name: string) =>
  signedBuild(
    join(work, "req", name),
    SECRET,
    { Dockerfile: SLOW },
    {
      ref: `${infra.registry.url}/alice/slow:${name}`,
      buildArgs: { NODE_IMAGE: infra.baseImage, NONCE: randomUUID() },
    },
  );

/** Reads an NDJSON answer line by line, noting when each line arrived. */
async function readLines(res: Response): Promise<{ line: unknown; at: number }[]> {
  const out: { line: unknown; at: number }[] = [];
  let rest = "";
  for await (const chunk of res.body!.pipeThrough(new TextDecoderStream())) {
    const parts = (rest + chunk).split("\n");
    rest = parts.pop() ?? "";
    for (const part of parts) if (part) out.push({ line: JSON.parse(part), at: performance.now() });
  }
  return out;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "ofb-"));
  infra = await timed("services + base image", () => startInfra(join(work, "i")));
  tmp = join(work, "tmp");
  await mkdir(tmp);
  main = await startMain();
}, TIMEOUT);

afterAll(async () => {
  await main?.builder.shutdown(1000);
  await infra?.stop();
  if (work) await rm(work, { recursive: true, force: true });
  console.log(`of-builder timings (ms): ${JSON.stringify(timings, null, 2)}`);
}, TIMEOUT);

afterEach(async () => {
  // Every request's temp folder is gone, whatever happened (DESIGN §6).
  expect(await readdir(tmp)).toEqual([]);
});

describe("POST /build with the docker backend", () => {
  it(
    "signed node function context FROM the base image → 200 success, readable log, digest, tag in the registry",
    async () => {
      const ref = `${infra.registry.url}/alice/hello:latest-abc1234`;
      const request = await signedBuild(join(work, "req", "fn"), SECRET, FUNCTION, {
        ref,
        buildArgs: { NODE_IMAGE: infra.baseImage },
      });
      const res = await timed("build+push via of-builder (uncached)", () => post(request));
      const answer = (await res.json()) as Answer;
      expect(res.status).toBe(200);
      expect(answer).toMatchObject({
        imageName: ref,
        status: "success",
        digest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
      });
      expect(answer.log).toEqual(
        expect.arrayContaining([expect.stringMatching(/^#\d+ \[4\/5\] COPY function\/ \.\/function\/$/)]),
      );
      expect(answer.log).toEqual(expect.arrayContaining([expect.stringMatching(/^#\d+ DONE \d+\.\ds$/)]));

      const authorization = basicAuth(infra.registry.credentials);
      const tags = await fetch(`http://${infra.registry.url}/v2/alice/hello/tags/list`, { headers: { authorization } });
      expect(((await tags.json()) as { tags: string[] }).tags).toEqual(["latest-abc1234"]);
      const manifest = await fetch(`http://${infra.registry.url}/v2/alice/hello/manifests/latest-abc1234`, {
        method: "HEAD",
        headers: { Accept: "application/vnd.docker.distribution.manifest.v2+json", authorization },
      });
      expect(manifest.headers.get("docker-content-digest")).toBe(answer.digest);

      const again = await timed("build+push via of-builder (cached)", () => post(request));
      const cached = (await again.json()) as Answer;
      expect(cached).toMatchObject({ status: "success", digest: answer.digest });
      expect(cached.log).toEqual(expect.arrayContaining([expect.stringMatching(/^#\d+ CACHED$/)]));
    },
    TIMEOUT,
  );

  it(
    "Accept: application/x-ndjson → log lines arrive while the build runs, then the result line",
    async () => {
      const res = await post(await slowBuild("nd"), "application/x-ndjson");
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("application/x-ndjson");
      const lines = await readLines(res);
      const result = lines.at(-1)!;
      const first = lines.find((l) => /^#\d+ first /.test((l.line as { log?: string }).log ?? ""));
      expect(first).toBeDefined();
      expect(result.at - first!.at).toBeGreaterThan(1000);
      const logs = lines.slice(0, -1).map((l) => (l.line as { log: string }).log);
      expect(result.line).toMatchObject({ status: "success", log: logs, digest: expect.stringMatching(/^sha256:/) });
    },
    TIMEOUT,
  );

  it(
    'RUN node -e "syntax error(" → 500, status failure, the SyntaxError line in error and in the log',
    async () => {
      const dockerfile = `ARG NODE_IMAGE\nFROM \${NODE_IMAGE}\nRUN node -e "syntax error("\n`;
      const request = await signedBuild(
        join(work, "req", "bad"),
        SECRET,
        { Dockerfile: dockerfile },
        {
          ref: `${infra.registry.url}/alice/bad:1`,
          buildArgs: { NODE_IMAGE: infra.baseImage },
        },
      );
      const res = await timed("failing build via of-builder", () => post(request));
      const answer = (await res.json()) as Answer;
      expect(res.status).toBe(500);
      expect(answer.status).toBe("failure");
      expect(answer.error).toMatch(/^SyntaxError: .*\(executor failed running .*exit code: 1\)$/);
      expect(answer.log).toEqual(expect.arrayContaining([expect.stringMatching(/^#\d+ SyntaxError: /)]));
      expect(answer.digest).toBeUndefined();
    },
    TIMEOUT,
  );

  it(
    "3 concurrent builds with max_inflight 2 → two 200s and one 429",
    async () => {
      const requests = await Promise.all(["c1", "c2", "c3"].map(slowBuild));
      const answers = await Promise.all(requests.map((r) => post(r)));
      expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 429]);
      const refused = answers.find((a) => a.status === 429)!;
      expect(await refused.json()).toEqual({ status: "failure", error: "too many builds in flight" });
      for (const answer of answers.filter((a) => a.status === 200)) {
        expect(await answer.json()).toMatchObject({ status: "success" });
      }
    },
    TIMEOUT,
  );
});

describe("signature before slot (issue #10)", () => {
  it(
    "an unsigned upload that never ends, max_inflight 1 → a signed build completes (200) while it still uploads",
    async () => {
      const one = await startBuilder({
        socketPath: infra.dockerd.socketPath,
        secret: SECRET,
        tmpDir: tmp,
        maxBuildBytes: 8 * 1024 * 1024,
        maxInflight: 1,
        dockerConfig: dockerConfig(infra.registry.url, infra.registry.credentials),
        baseBuildArgs: { NODE_IMAGE: infra.baseImage },
      });
      const slow = await trickleUpload(one.builder.server, one.url, {
        "content-type": "application/x-tar",
        "x-cloud-signature-256": signHop(SECRET, "of-builder", "the tar this client never finishes"),
      });
      try {
        const res = await post(await slowBuild("slot"), undefined, one.url);
        expect(res.status).toBe(200);
        expect(await res.json()).toMatchObject({ status: "success", digest: expect.stringMatching(/^sha256:/) });
        expect(slow.answered()).toBe(false);
      } finally {
        slow.stop();
        await one.builder.shutdown(1000);
      }
    },
    TIMEOUT,
  );
});

describe("shutdown", () => {
  it(
    "shutdown(60 s) while a build runs → the build finishes with success, then connections are refused",
    async () => {
      const { builder, url } = await startMain();
      const res = await post(await slowBuild("sd1"), "application/x-ndjson", url);
      const reader = readLines(res);
      await waitFor(() => builder.inflight() === 1);
      await builder.shutdown(60_000);
      expect((await reader).at(-1)?.line).toMatchObject({ status: "success" });
      await expect(fetch(`${url}/healthz`)).rejects.toThrow();
    },
    TIMEOUT,
  );

  it(
    "shutdown(50 ms) while a build runs → the build is cancelled and answered as a failure",
    async () => {
      const { builder, url } = await startMain();
      const res = await post(await slowBuild("sd2"), "application/x-ndjson", url);
      const reader = readLines(res);
      await waitFor(() => builder.inflight() === 1);
      await builder.shutdown(50);
      expect((await reader).at(-1)?.line).toMatchObject({
        status: "failure",
        error: "unexpected failure: the build was cancelled",
      });
    },
    TIMEOUT,
  );
});

async function waitFor(condition: () => boolean): Promise<void> {
  for (let i = 0; !condition(); i++) {
    if (i > 500) throw new Error("condition not met");
    await new Promise((resolve) => setImmediate(resolve));
  }
}
