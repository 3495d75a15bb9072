// POST /build past its checks, with a stand-in backend (the BuildBackend interface the docker and buildctl backends
// share): what of-builder answers for a build that succeeds, fails or faults, and what it hands the backend. The real
// backends are exercised in server.test.ts and buildctl-backend.test.ts (dockerd, BuildKit).
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, relative, sep } from "node:path";
import { pino } from "pino";
import { packBuildContext } from "../shared/build-tar.js";
import { signHop } from "../shared/hmac.js";
import { BuildFailure, type BuildBackend, type BuildRequest } from "./backend.js";
import { createBuilderServer, type BuilderDeps, type BuilderServer } from "./server.js";

const SECRET = "of-builder-test-secret";
const REF = "127.0.0.1:5000/alice/fns--api:latest-04b8e44";

let work: string;
let tmp: string;
let builder: BuilderServer;
let url: string;
/** What the next build does; each request the backend got. */
let next: (request: BuildRequest) => Promise<{ digest?: string }>;
let received: Array<{ ref: string; buildArgs: Readonly<Record<string, string>>; dockerfile: string | undefined }>;
/** Each build's context folder, as the backend got it. */
let contextDirs: string[];

const backend: BuildBackend = {
  async build(request) {
    contextDirs.push(request.contextDir);
    received.push({
      ref: request.ref,
      buildArgs: request.buildArgs,
      dockerfile: await readFile(join(request.contextDir, "Dockerfile"), "utf8").catch(() => undefined),
    });
    return next(request);
  },
};

/** An of-builder on 127.0.0.1 with the stand-in backend, and its URL. */
async function startBuilder(options: Partial<BuilderDeps> = {}): Promise<{ builder: BuilderServer; url: string }> {
  const started = createBuilderServer({
    backend,
    payloadSecret: SECRET,
    maxInflight: 2,
    maxBuildBytes: 1024 * 1024,
    maxBuildFiles: 100,
    baseBuildArgs: { NODE_IMAGE: "127.0.0.1:5000/base/node:24", http_proxy: "http://proxy:3128" },
    tmpDir: tmp,
    log: pino({ level: "silent" }),
    ...options,
  });
  await new Promise<void>((resolve) => started.server.listen(0, "127.0.0.1", resolve));
  return { builder: started, url: `http://127.0.0.1:${(started.server.address() as AddressInfo).port}` };
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "ofb-handler-"));
  tmp = join(work, "tmp");
  await mkdir(tmp);
  ({ builder, url } = await startBuilder());
});
afterAll(async () => {
  await builder?.shutdown(1000);
  await rm(work, { recursive: true, force: true });
});
beforeEach(() => {
  received = [];
  contextDirs = [];
  next = () => Promise.resolve({ digest: "sha256:" + "a".repeat(64) });
});
afterEach(async () => {
  // Each build's temp folder is gone once it has its answer (DESIGN §6).
  expect(await readdir(tmp)).toEqual([]);
});

let builds = 0;
/** A signed build tar as git-tar sends it: the context folder and `com.openfaas.docker.config`. */
async function signedBuild(dockerfile: string, buildArgs?: Record<string, string>) {
  const dir = join(work, `build-${++builds}`);
  await mkdir(join(dir, "context"), { recursive: true });
  await writeFile(join(dir, "context", "Dockerfile"), dockerfile);
  await packBuildContext(join(dir, "context"), { ref: REF, ...(buildArgs ? { buildArgs } : {}) }, join(dir, "b.tar"));
  const body = await readFile(join(dir, "b.tar"));
  return { body, signature: signHop(SECRET, "of-builder", body) };
}

async function post(request: { body: Buffer; signature: string }, accept = "application/json", to = url) {
  const res = await fetch(`${to}/build`, {
    method: "POST",
    body: request.body,
    headers: { "X-Cloud-Signature-256": request.signature, Accept: accept, "Content-Type": "application/x-tar" },
  });
  return { status: res.status, type: res.headers.get("content-type"), text: await res.text() };
}

describe("POST /build with a stand-in backend", () => {
  it("a build that succeeds → 200 with the image, its log and digest; the backend got the context and args", async () => {
    next = (request) => {
      request.onLog("#1 [internal] load build definition");
      request.onLog("#1 DONE 0.1s");
      return Promise.resolve({ digest: "sha256:" + "b".repeat(64) });
    };
    const res = await post(await signedBuild("ARG NODE_IMAGE\nFROM ${NODE_IMAGE}\n", { MODE: "prod", http_proxy: "" }));
    expect([res.status, res.type]).toEqual([200, "application/json"]);
    expect(JSON.parse(res.text)).toEqual({
      imageName: REF,
      status: "success",
      log: ["#1 [internal] load build definition", "#1 DONE 0.1s"],
      digest: "sha256:" + "b".repeat(64),
    });
    // The operator's args first, the tar's over them.
    expect(received).toEqual([
      {
        ref: REF,
        buildArgs: { NODE_IMAGE: "127.0.0.1:5000/base/node:24", http_proxy: "", MODE: "prod" },
        dockerfile: "ARG NODE_IMAGE\nFROM ${NODE_IMAGE}\n",
      },
    ]);
    // In its own buildctx-* folder of tmpDir, so an operator can tell what is left there and whose it was.
    expect(relative(tmp, contextDirs[0]!).split(sep)[0]).toMatch(/^buildctx-./);
  });

  it("a backend that learns no digest → no digest in the answer", async () => {
    next = () => Promise.resolve({});
    const res = await post(await signedBuild("FROM scratch\n"));
    expect(JSON.parse(res.text)).toEqual({ imageName: REF, status: "success", log: [] });
  });

  it("Accept: application/x-ndjson → each log line as it comes, then the result as the last line", async () => {
    next = (request) => {
      request.onLog("step one");
      request.onLog("step two");
      return Promise.resolve({});
    };
    const res = await post(await signedBuild("FROM scratch\n"), "application/x-ndjson");
    expect([res.status, res.type]).toEqual([200, "application/x-ndjson"]);
    expect(res.text.split("\n")).toEqual([
      JSON.stringify({ log: "step one" }),
      JSON.stringify({ log: "step two" }),
      JSON.stringify({ imageName: REF, status: "success", log: ["step one", "step two"] }),
      "",
    ]);
  });

  it("Accept: application/x-ndjson, a failed build (BuildFailure) → 200 stream; its last line the failure and why", async () => {
    next = (request) => {
      request.onLog("#3 RUN npm test");
      return Promise.reject(new BuildFailure("exit code: 1", "npm ERR! Test failed"));
    };
    const res = await post(await signedBuild("FROM scratch\n"), "application/x-ndjson");
    expect([res.status, res.type]).toEqual([200, "application/x-ndjson"]);
    expect(res.text.split("\n")).toEqual([
      JSON.stringify({ log: "#3 RUN npm test" }),
      JSON.stringify({
        imageName: REF,
        status: "failure",
        log: ["#3 RUN npm test"],
        error: "npm ERR! Test failed (exit code: 1)",
      }),
      "",
    ]);
  });

  it("Accept: application/x-ndjson, a refused Dockerfile → the same 400 JSON refusal as without it, no stream", async () => {
    const res = await post(await signedBuild("FROM 127.0.0.1:5000/bob/api--fn:latest\n"), "application/x-ndjson");
    expect([res.status, res.type]).toEqual([400, "application/json"]);
    expect(JSON.parse(res.text)).toMatchObject({ status: "failure", error: expect.stringMatching(/^Dockerfile: /) });
    expect(received).toEqual([]);
  });

  it("Accept: application/x-ndjson, a bad signature → the same 401 JSON refusal, no stream", async () => {
    const build = await signedBuild("FROM scratch\n");
    const res = await post(
      { body: build.body, signature: signHop(SECRET, "of-builder", "other") },
      "application/x-ndjson",
    );
    expect([res.status, res.type]).toEqual([401, "application/json"]);
    expect(received).toEqual([]);
  });

  it("no Accept header at all (an older client) → the one JSON answer", async () => {
    next = (request) => {
      request.onLog("#1 DONE 0.1s");
      return Promise.resolve({});
    };
    const { body, signature } = await signedBuild("FROM scratch\n");
    const answer = await new Promise<{ status: number; type: string | undefined; text: string }>((resolve, reject) => {
      const req = httpRequest(
        `${url}/build`,
        { method: "POST", headers: { "X-Cloud-Signature-256": signature } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () =>
            resolve({
              status: res.statusCode ?? 0,
              type: res.headers["content-type"],
              text: Buffer.concat(chunks).toString(),
            }),
          );
        },
      );
      req.on("error", reject);
      req.end(body);
    });
    expect([answer.status, answer.type]).toEqual([200, "application/json"]);
    expect(JSON.parse(answer.text)).toEqual({ imageName: REF, status: "success", log: ["#1 DONE 0.1s"] });
  });

  it("a failed build (BuildFailure) → 500, status failure, the builder's error for the user", async () => {
    next = (request) => {
      request.onLog("RUN npm ci");
      return Promise.reject(new BuildFailure("exit code: 1", "npm ERR! missing script"));
    };
    const res = await post(await signedBuild("FROM scratch\n"));
    expect(res.status).toBe(500);
    expect(JSON.parse(res.text)).toEqual({
      imageName: REF,
      status: "failure",
      log: ["RUN npm ci"],
      error: "npm ERR! missing script (exit code: 1)",
    });
  });

  it("a fault (daemon unreachable) → 500 'unexpected failure', the detail only in of-builder's log", async () => {
    next = () => Promise.reject(new Error("connect ENOENT /run/docker.sock"));
    const res = await post(await signedBuild("FROM scratch\n"), "application/x-ndjson");
    expect(res.status).toBe(200); // the stream was open; its last line says what happened
    expect(JSON.parse(res.text.trim())).toEqual({
      imageName: REF,
      status: "failure",
      log: [],
      error: "unexpected failure",
    });
    expect(res.text).not.toMatch(/ENOENT/);
  });

  it("a build cancelled by a shutdown → its last line says it was cancelled, not just 'unexpected failure'", async () => {
    const other = await startBuilder();
    let running!: () => void;
    const started = new Promise<void>((resolve) => (running = resolve));
    // Runs until its signal fires, as the real backends do, then fails the way a killed build does.
    next = (request) => {
      running();
      return new Promise((_, reject) =>
        request.signal?.addEventListener("abort", () => reject(new Error("buildctl: context canceled"))),
      );
    };
    const answer = post(await signedBuild("FROM scratch\n"), "application/x-ndjson", other.url);
    await started;
    await other.builder.shutdown(50);
    const res = await answer;
    expect(JSON.parse(res.text.trim())).toEqual({
      imageName: REF,
      status: "failure",
      log: [],
      error: "unexpected failure: the build was cancelled",
    });
  });

  it.each([
    ["another repository of the build registry", "FROM 127.0.0.1:5000/bob/api--fn:latest\n"],
    ["an unresolvable reference", "FROM ${UNSET}/x\n"],
  ])("a Dockerfile naming %s → 400, nothing built", async (_, dockerfile) => {
    const res = await post(await signedBuild(dockerfile));
    expect(res.status).toBe(400);
    expect(JSON.parse(res.text)).toMatchObject({ status: "failure", error: expect.stringMatching(/^Dockerfile: /) });
    expect(received).toEqual([]);
  });

  it("a context without a Dockerfile → nothing to check, the backend's own failure is the answer", async () => {
    const dir = join(work, `build-${++builds}`);
    await mkdir(join(dir, "context"), { recursive: true });
    await writeFile(join(dir, "context", "handler.js"), "module.exports = () => 1;\n");
    await packBuildContext(join(dir, "context"), { ref: REF }, join(dir, "b.tar"));
    const body = await readFile(join(dir, "b.tar"));
    // What BuildKit says when it finds none.
    next = () =>
      Promise.reject(new BuildFailure("failed to read dockerfile: open Dockerfile: no such file or directory"));
    const res = await post({ body, signature: signHop(SECRET, "of-builder", body) });
    expect(res.status).toBe(500);
    expect(received).toEqual([{ ref: REF, buildArgs: expect.any(Object), dockerfile: undefined }]);
    expect(JSON.parse(res.text)).toEqual({
      imageName: REF,
      status: "failure",
      log: [],
      error: "failed to read dockerfile: open Dockerfile: no such file or directory",
    });
  });

  it("a body of exactly max_build_mb, with its Content-Length → built; the cap is on what is over it", async () => {
    const dir = join(work, `build-${++builds}`);
    await mkdir(join(dir, "context"), { recursive: true });
    await writeFile(join(dir, "context", "Dockerfile"), "FROM scratch\n");
    await writeFile(join(dir, "context", "filler"), "");
    const { bytes } = await packBuildContext(join(dir, "context"), { ref: REF }, join(dir, "b.tar"));
    // The tar is in 512-byte blocks, as is the cap: a filler of the difference (no padding) makes it exactly 1 MiB.
    await writeFile(join(dir, "context", "filler"), Buffer.alloc(1024 * 1024 - bytes));
    await packBuildContext(join(dir, "context"), { ref: REF }, join(dir, "b.tar"));
    const body = await readFile(join(dir, "b.tar"));
    expect(body.length).toBe(1024 * 1024);
    const res = await post({ body, signature: signHop(SECRET, "of-builder", body) });
    expect(res.status).toBe(200);
    expect(received).toHaveLength(1);
  });

  it("a declared size over max_build_mb while every upload slot is taken → 413 (final), not 429 (retry later)", async () => {
    const other = await startBuilder({ maxUploads: 1 });
    const signature = signHop(SECRET, "of-builder", "the body a slow client claims to send");
    /** A POST /build whose headers are sent and whose body never is; its answer's status. */
    const open = (length: number) => {
      const req = httpRequest(`${other.url}/build`, {
        method: "POST",
        agent: false,
        headers: { "X-Cloud-Signature-256": signature, "Content-Length": String(length) },
      });
      req.on("error", () => undefined);
      const status = new Promise<number>((resolve) =>
        req.on("response", (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        }),
      );
      req.flushHeaders();
      return { req, status };
    };
    const taken = new Promise((resolve) => other.builder.server.once("request", resolve));
    const slow = open(1000);
    await taken;
    const over = open(1024 * 1024 + 1);
    try {
      // buildshiprun retries a 429; a tar over the cap would only be refused again.
      expect(await over.status).toBe(413);
    } finally {
      slow.req.destroy();
      over.req.destroy();
      await other.builder.shutdown(1000);
    }
  });

  it("the operator's base image from the build registry → built", async () => {
    const res = await post(await signedBuild("FROM 127.0.0.1:5000/base/node:24\n"));
    expect(res.status).toBe(200);
    expect(received).toHaveLength(1);
  });

  it("a signature over other bytes → 401, nothing built", async () => {
    const build = await signedBuild("FROM scratch\n");
    const res = await post({ body: build.body, signature: signHop(SECRET, "of-builder", "other bytes") });
    expect(res.status).toBe(401);
    expect(JSON.parse(res.text)).toEqual({ status: "failure", error: "invalid message digest or secret" });
    expect(received).toEqual([]);
  });
});
