// The async queue on a real nats-server with JetStream (DESIGN §7, §8); needs scripts/install-system-deps.sh.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { connect } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { pino } from "pino";
import type { FunctionHandler } from "../shared/function-handler.js";
import { startGateway, type QueuedRequest } from "./gateway.js";
import { createJetStreamQueue } from "./queue.js";
import { startQueueWorker, type FunctionResponse, type QueueWorkerDeps } from "./queue-worker.js";
import { natsConnectOptions, startNats, type Nats } from "./services/nats.js";
import { startRecorder } from "../test/support/http-recorder.js";

const log = pino({ level: "silent" });
const repoRoot = fileURLToPath(new URL("..", import.meta.url));

/** Polls `check` every 20 ms until it returns a value other than undefined/false. */
async function until<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>) {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

const answer = (status: number, body = `status ${status}`): FunctionResponse => ({
  status,
  headers: { "content-type": "text/plain", "x-answer": String(status) },
  body: Buffer.from(body),
});

function request(callId: string, callbackUrl?: string): QueuedRequest {
  return { callId, function: "fn", path: "/", query: {}, headers: {}, body: Buffer.from(callId), callbackUrl };
}

describe("JetStream queue and queue-worker", () => {
  let dir: string;
  let nats: Nats;
  let streamCount = 0;
  let stream: string;
  const cleanups: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "ofc-nats-"));
    nats = await startNats({ dataDir: dir });
  });
  afterAll(async () => {
    await nats.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    stream = `q${++streamCount}`; // a stream per test keeps the consumers apart
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function queue() {
    const q = await createJetStreamQueue({ nats, stream, log });
    cleanups.push(() => q.close());
    return q;
  }
  /** A worker whose function answers with `respond` (a throw is a failed connection). */
  async function worker(
    respond: (req: QueuedRequest) => FunctionResponse | Promise<FunctionResponse>,
    options: Partial<QueueWorkerDeps> = {},
  ) {
    const invoke = (req: QueuedRequest) => Promise.resolve().then(() => respond(req));
    const w = await startQueueWorker({
      nats,
      stream,
      invoke,
      backoffMs: [10, 20],
      pullExpiresMs: 1000,
      log,
      ...options,
    });
    cleanups.push(() => w.stop());
    return w;
  }
  async function callbacks() {
    const recorder = await startRecorder(() => ({ status: 200 }));
    cleanups.push(() => recorder.close());
    return recorder;
  }
  /** Whether every message of the stream was acked (or termed) and left it: nothing pending, nothing to redeliver. */
  async function isDrained() {
    const nc = await connect(natsConnectOptions(nats));
    try {
      const jsm = await jetstreamManager(nc);
      const consumer = await jsm.consumers.info(stream, "queue-worker");
      const { state } = await jsm.streams.info(stream);
      return state.messages === 0 && consumer.num_ack_pending === 0 && consumer.num_pending === 0;
    } finally {
      await nc.close();
    }
  }
  const drained = () => until("the stream to drain", isDrained);
  async function restartNats() {
    const port = Number(new URL(nats.url).port);
    await nats.stop();
    nats = await startNats({ dataDir: dir, port, credentials: { user: nats.user, password: nats.password } });
  }

  it("POST /async-function/<name> → 202, the function gets the exact bytes, headers, path and query, the callback its answer", async () => {
    const hook = await callbacks();
    const echo: FunctionHandler = (event, context) => {
      const seen = JSON.stringify([event.headers["x-test"], event.path, event.query]);
      context.status(201).headers({ "content-type": "application/octet-stream", "x-seen": seen }).succeed(event.body);
      return Promise.resolve();
    };
    const q = await queue();
    const gw = await startGateway({ functions: new Map([["echo", echo]]), queue: q, log });
    cleanups.push(() => gw.close());
    await worker(async (req) => {
      const drop = new Set(["host", "connection", "content-length", "transfer-encoding"]);
      const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => !drop.has(k)));
      const res = await fetch(
        `${gw.url}function/${req.function}${req.path}?${new URLSearchParams(req.query).toString()}`,
        {
          method: "POST",
          headers,
          body: req.body,
        },
      );
      return {
        status: res.status,
        headers: Object.fromEntries(res.headers),
        body: Buffer.from(await res.arrayBuffer()),
      };
    });
    const body = Buffer.from([0, 255, 13, 10, 0xc3, 0x28, ...Buffer.from(" end ")]);

    const res = await fetch(`${gw.url}async-function/echo/sub/path?a=1&b=x%20y`, {
      method: "POST",
      headers: { "x-test": "Bär value", "x-call-id": "call-e2e", "x-callback-url": `${hook.url}/done` },
      body,
    });

    expect([res.status, res.headers.get("x-call-id")]).toEqual([202, "call-e2e"]);
    const [posted] = await until("the callback", () => hook.requests.length > 0 && hook.requests);
    expect(posted?.body).toEqual(body);
    expect(posted?.path).toBe("/done");
    expect(posted?.headers).toMatchObject({
      "content-type": "application/octet-stream",
      "x-seen": JSON.stringify(["Bär value", "/sub/path", { a: "1", b: "x y" }]),
      "x-function-status": "201",
      "x-function-name": "echo",
      "x-call-id": "call-e2e",
      "x-duration-seconds": expect.stringMatching(/^\d+\.\d+$/),
    });
    await drained();
  });

  it("500, 500, then 200 → invoked 3 times, acked once, callback says 200", async () => {
    const hook = await callbacks();
    const statuses = [500, 500, 200];
    const calls: string[] = [];
    await worker((req) => answer(statuses[calls.push(req.callId) - 1] ?? 599));

    await (await queue()).enqueue(request("c-retry", hook.url));

    await until("the callback", () => hook.requests.length > 0);
    await drained();
    expect(calls).toEqual(["c-retry", "c-retry", "c-retry"]);
    expect(
      hook.requests.map((r) => [r.headers["x-function-status"], r.headers["x-answer"], r.body.toString()]),
    ).toEqual([["200", "200", "status 200"]]);
  });

  it.each([
    ["answers 500", () => answer(500), "500"],
    [
      "refuses connections",
      (): FunctionResponse => {
        throw new Error("connect ECONNREFUSED");
      },
      "503",
    ],
  ])(
    "a function that always %s, maxDeliver 3 → 3 calls, then one callback with its status",
    async (_, invoke, status) => {
      const hook = await callbacks();
      let calls = 0;
      await worker(() => (calls++, invoke()), { maxDeliver: 3 });

      await (await queue()).enqueue(request("c-dead", hook.url));

      await until("the callback", () => hook.requests.length > 0);
      expect(calls).toBe(3);
      expect(hook.requests.map((r) => r.headers["x-function-status"])).toEqual([status]);
      await drained();
    },
  );

  it("400 → invoked once, not retried, callback says 400", async () => {
    const hook = await callbacks();
    let calls = 0;
    await worker(() => (calls++, answer(400)));

    await (await queue()).enqueue(request("c-400", hook.url));

    await until("the callback", () => hook.requests.length > 0);
    await drained(); // acked and gone: nothing left to redeliver
    expect(hook.requests.map((r) => r.headers["x-function-status"])).toEqual(["400"]);
    expect(calls).toBe(1);
  });

  it("the same call id enqueued twice, also after it ran → invoked once", async () => {
    const calls: string[] = [];
    await worker((req) => (calls.push(req.callId), answer(200)), { concurrency: 1 });
    const q = await queue();

    await q.enqueue(request("c-dup"));
    await q.enqueue(request("c-dup"));
    await q.enqueue(request("c-next"));
    await until("c-next", () => calls.includes("c-next"));
    await q.enqueue(request("c-dup"));
    await q.enqueue(request("c-last"));
    await until("c-last", () => calls.includes("c-last"));

    expect(calls).toEqual(["c-dup", "c-next", "c-last"]);
  });

  it("a call longer than ack wait → working() keeps it from being redelivered", async () => {
    let calls = 0;
    await worker(async () => (calls++, await sleep(2_500), answer(200)), { ackWaitMs: 1_000 });

    await (await queue()).enqueue(request("c-long"));

    await until("the call", () => calls > 0);
    await drained();
    expect(calls).toBe(1);
  });

  it("stop() during a call → waits for it and acks it", async () => {
    let release = () => {};
    const running = new Promise<void>((resolve) => (release = resolve));
    let started = false;
    const w = await startQueueWorker({
      nats,
      stream,
      log,
      pullExpiresMs: 1000,
      invoke: async () => ((started = true), await running, answer(200)),
    });
    await (await queue()).enqueue(request("c-stop"));
    await until("the call", () => started);

    const stopped = w.stop();
    release();
    await stopped;

    expect(await isDrained()).toBe(true); // a stopped worker cannot ack: stop() waited for the call
  });

  it("enqueued with no worker running, nats-server restarted on the same dataDir → a new worker runs it once", async () => {
    const q = await createJetStreamQueue({ nats, stream, log });
    await q.enqueue(request("c-durable"));
    await q.close();
    await restartNats();

    const calls: Buffer[] = [];
    await worker((req) => (calls.push(req.body), answer(200)));

    await drained();
    expect(calls).toEqual([Buffer.from("c-durable")]);
  });

  it("a worker process killed mid-call (no ack), nats-server restarted → a new worker completes the call once", async () => {
    const hook = await callbacks();
    const q = await createJetStreamQueue({ nats, stream, log });
    await q.enqueue(request("c-killed", hook.url));
    await q.close();
    const script = join(dir, "hanging-worker.mts");
    writeFileSync(
      script,
      `import { startQueueWorker } from ${JSON.stringify(join(repoRoot, "local/queue-worker.ts"))};
const log = { debug() {}, info() {}, warn() {}, error() {}, child() { return log; } };
await startQueueWorker({ nats: JSON.parse(process.env.NATS_ENDPOINT), stream: process.argv[2], ackWaitMs: 1000, log,
  invoke: (req) => (process.stdout.write("invoked " + req.callId + "\\n"), new Promise(() => {})) });
`,
    );
    const child = spawn(process.execPath, ["--import", "tsx", script, stream], {
      cwd: repoRoot,
      stdio: ["ignore", "pipe", "inherit"],
      // The account through the environment: not on a command line that every process can read.
      env: { ...process.env, NODE_OPTIONS: "", NATS_ENDPOINT: JSON.stringify(nats) },
    });
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    await until("the hanging call", () => out.includes("invoked c-killed"));
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await exited;
    await restartNats();

    const calls: string[] = [];
    await worker((req) => (calls.push(req.callId), answer(200)), { ackWaitMs: 1_000 });

    await until("the callback", () => hook.requests.length > 0);
    expect(calls).toEqual(["c-killed"]);
    expect(hook.requests.map((r) => [r.headers["x-call-id"], r.headers["x-function-status"]])).toEqual([
      ["c-killed", "200"],
    ]);
    await drained();
  });
});
