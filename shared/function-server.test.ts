import { EventEmitter } from "node:events";
import { request } from "node:http";
import { lazyHandler, type FunctionHandler } from "./function-handler.js";
import {
  hopPrecheck,
  parseByteSize,
  parseDuration,
  runFunction,
  serveFunction,
  withPrecheck,
  type FunctionServer,
} from "./function-server.js";
import { signHop } from "./hmac.js";
import { countBytesRead, upload } from "../test/support/oversized-upload.js";

// What a system function image runs (template/ofc-node24/index.ts): health, timeouts and a graceful stop.

/** A handler that answers after `release()` is called, so a test controls when a request ends. */
function gated() {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const handler: FunctionHandler = async (event, context) => {
    await gate;
    context.status(200).succeed(`done ${event.path}`);
  };
  return { handler, release };
}

/** One request on its own connection (no keep-alive pool), resolving with the status and body or the error code. */
function get(url: string, path: string): Promise<{ status: number; body: string } | { error: string }> {
  return new Promise((resolve) => {
    const req = request(`${url}${path}`, { agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on("error", (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
    req.end();
  });
}

let served: FunctionServer | undefined;
afterEach(async () => {
  await served?.close(0);
  served = undefined;
});

describe("serveFunction", () => {
  it("GET /_/health → 200 OK without calling the handler", async () => {
    let called = 0;
    served = await serveFunction((_e, c) => {
      called++;
      c.succeed("x");
      return Promise.resolve();
    });
    expect(await get(served.url, "/_/health")).toEqual({ status: 200, body: "OK" });
    expect(called).toBe(0);
  });

  it("a handler slower than execTimeoutMs → 504 naming the limit", async () => {
    const { handler, release } = gated();
    served = await serveFunction(handler, { execTimeoutMs: 50 });
    expect(await get(served.url, "/slow")).toEqual({ status: 504, body: "exec_timeout of 0.05s exceeded" });
    release();
  });

  /** A handler that waits for its event's signal, then reports the reason it aborted with. */
  function untilAborted() {
    let markStarted!: () => void;
    let seen!: (reason: unknown) => void;
    const started = new Promise<void>((resolve) => (markStarted = resolve));
    const aborted = new Promise<unknown>((resolve) => (seen = resolve));
    const handler: FunctionHandler = async ({ signal }, context) => {
      markStarted();
      await new Promise((done) => signal!.addEventListener("abort", done, { once: true }));
      seen(signal!.reason);
      context.status(200).succeed("stopped");
    };
    return { handler, started, aborted };
  }

  it("a handler slower than execTimeoutMs → its event's signal aborts with a TimeoutError naming the limit", async () => {
    const { handler, aborted } = untilAborted();
    served = await serveFunction(handler, { execTimeoutMs: 50 });
    expect(await get(served.url, "/slow")).toEqual({ status: 504, body: "exec_timeout of 0.05s exceeded" });
    expect(await aborted).toMatchObject({ name: "TimeoutError", message: "exec_timeout of 0.05s exceeded" });
  });

  it("the caller disconnects while the handler runs → its event's signal aborts with an AbortError", async () => {
    const { handler, started, aborted } = untilAborted();
    served = await serveFunction(handler);
    const req = request(`${served.url}/hang-up`, { agent: false });
    req.on("error", () => undefined);
    req.end();
    await started;
    req.destroy();
    expect(await aborted).toMatchObject({ name: "AbortError" });
  });

  it("a handler that answers in time → its signal never aborts, not even when the connection closes after", async () => {
    let signal: AbortSignal | undefined;
    served = await serveFunction(
      (event, context) => {
        signal = event.signal;
        context.succeed("quick");
        return Promise.resolve();
      },
      { execTimeoutMs: 50 },
    );
    expect(await get(served.url, "/quick")).toEqual({ status: 200, body: "quick" });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(signal?.aborted).toBe(false);
  });

  it("close(): the request in flight finishes; new connections (health probes too) are refused", async () => {
    const { handler, release } = gated();
    served = await serveFunction(handler);
    const { url } = served;
    const inFlight = get(url, "/work");
    await new Promise((resolve) => setTimeout(resolve, 50));
    const closing = served.close(5_000);
    served = undefined;
    release();
    expect(await inFlight).toEqual({ status: 200, body: "done /work" });
    await closing;
    expect(await get(url, "/_/health")).toEqual({ error: "ECONNREFUSED" });
  });

  it("close(drainMs): a request still running after the drain is cut", async () => {
    const { handler, release } = gated();
    served = await serveFunction(handler);
    const inFlight = get(served.url, "/stuck");
    await new Promise((resolve) => setTimeout(resolve, 50));
    await served.close(100);
    served = undefined;
    expect(await inFlight).toEqual({ error: "ECONNRESET" });
    release();
  });
});

describe("parseDuration (the watchdog's Go durations)", () => {
  it.each([
    ["15m", 900_000],
    ["5m", 300_000],
    ["30s", 30_000],
    ["1m30s", 90_000],
    ["1h", 3_600_000],
    ["500ms", 500],
    ["1.5s", 1_500],
    ["10", 10_000],
  ])("%s → %d ms", (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each([undefined, "", "0", "0s", "ten", "15 m", "m15", "15x", "-5s"])("%s → undefined", (text) =>
    expect(parseDuration(text)).toBeUndefined(),
  );
});

describe("runFunction", () => {
  it("serves on http_port/http_host with exec_timeout; SIGTERM drains for write_timeout, then exits 0", async () => {
    const signals = new EventEmitter();
    const exits: number[] = [];
    const proc = {
      once: (event: string, listener: () => void) => signals.once(event, listener),
      exit: (code?: number) => void exits.push(code ?? 0),
    } as unknown as Pick<NodeJS.Process, "once" | "exit">;
    const { handler, release } = gated();
    const fn = await runFunction(handler, { http_port: "0", http_host: "127.0.0.1", write_timeout: "2s" }, proc);
    const inFlight = get(fn.url, "/job");
    await new Promise((resolve) => setTimeout(resolve, 50));
    signals.emit("SIGTERM");
    expect(await get(fn.url, "/_/health")).toMatchObject({ error: "ECONNREFUSED" });
    expect(exits).toEqual([]);
    release();
    expect(await inFlight).toEqual({ status: 200, body: "done /job" });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(exits).toEqual([0]);
  });

  it("a handler whose configuration is bad → rejects with the config error before listening", async () => {
    const handler = lazyHandler(() => {
      throw new Error("invalid configuration:\n  secret payload-secret: unable to read /x/payload-secret (ENOENT)");
    });
    await expect(runFunction(handler, { http_port: "0", http_host: "127.0.0.1" })).rejects.toThrow(
      /secret payload-secret: unable to read/,
    );
  });

  it("a handler is built once, at start, not per request", async () => {
    let builds = 0;
    const handler = lazyHandler(() => {
      builds++;
      return (_e, c) => Promise.resolve(c.succeed("ok"));
    });
    const signals = new EventEmitter();
    const proc = { once: signals.once.bind(signals), exit: () => undefined } as unknown as Pick<
      NodeJS.Process,
      "once" | "exit"
    >;
    const fn = await runFunction(handler, { http_port: "0", http_host: "127.0.0.1" }, proc);
    expect(builds).toBe(1);
    expect(await get(fn.url, "/")).toEqual({ status: 200, body: "ok" });
    expect(await get(fn.url, "/")).toEqual({ status: 200, body: "ok" });
    expect(builds).toBe(1);
    await fn.close(0);
  });

  it("an http_port that is not a port → an error naming it", async () => {
    await expect(runFunction(gated().handler, { http_port: "eighty" })).rejects.toThrow(/http_port/);
  });
});

// Issue #10: bodies are capped before they are buffered. The server's socket byte count, not timing, shows that
// the refused part of an upload was never read.
describe("body cap (max_body_bytes)", () => {
  const MiB = 1024 * 1024;
  const echoSize: FunctionHandler = (event, context) => Promise.resolve(context.succeed(`${event.body.length}`));

  async function capped(maxBodyBytes: number) {
    served = await serveFunction(echoSize, { maxBodyBytes });
    return { url: served.url, bytesRead: countBytesRead(served.server) };
  }

  it("a 60 MB body with Content-Length over a 1 MB cap → 413 before a byte of the body is read", async () => {
    const { url, bytesRead } = await capped(MiB);
    const outcome = await upload(`${url}/`, { bytes: 60 * MiB });
    expect(outcome).toMatchObject({ status: 413, body: `request body over ${MiB} bytes` });
    // Headers plus whatever arrived in the same socket reads as them: far below the cap.
    expect(bytesRead()).toBeLessThan(MiB);
  });

  it("a 60 MB chunked body over a 1 MB cap → 413, reading stops within one socket read past the cap", async () => {
    const { url, bytesRead } = await capped(MiB);
    const outcome = await upload(`${url}/`, { bytes: 60 * MiB, chunked: true });
    expect(outcome).toMatchObject({ status: 413 });
    expect(bytesRead()).toBeLessThan(MiB + 256 * 1024);
  });

  it("a body at the cap → handled whole", async () => {
    const { url } = await capped(MiB);
    expect(await upload(`${url}/`, { bytes: MiB })).toMatchObject({ status: 200, body: `${MiB}` });
    expect(await upload(`${url}/`, { bytes: MiB, chunked: true })).toMatchObject({ status: 200, body: `${MiB}` });
  });

  it("runFunction reads max_body_bytes: 1Ki → a 2 KiB body is refused, 1 KiB is served", async () => {
    const proc = { once: () => undefined, exit: () => undefined } as unknown as Pick<NodeJS.Process, "once" | "exit">;
    const fn = await runFunction(echoSize, { http_port: "0", http_host: "127.0.0.1", max_body_bytes: "1Ki" }, proc);
    try {
      expect(await upload(`${fn.url}/`, { bytes: 2048 })).toMatchObject({ status: 413 });
      expect(await upload(`${fn.url}/`, { bytes: 1024 })).toMatchObject({ status: 200, body: "1024" });
    } finally {
      await fn.close(0);
    }
  });

  it.each([
    ["1048576", 1048576],
    ["25Mi", 25 * MiB],
    ["64Ki", 65536],
    ["1Gi", 1024 * MiB],
    [undefined, undefined],
    ["", undefined],
  ])("parseByteSize(%j) → %j", (text, bytes) => expect(parseByteSize(text)).toBe(bytes));

  it.each(["0", "-1", "1.5Mi", "25MB", "25 Mi", "lots"])("max_body_bytes=%j → a start error naming the key", (text) => {
    expect(() => parseByteSize(text)).toThrow(/^max_body_bytes: expected a whole number of bytes/);
  });
});

// Issue #10: a stage only internal hops call refuses a POST whose X-Cloud-Signature-256 cannot be a fresh hop before
// reading its body; the handler still checks the HMAC and the target.
describe("hopPrecheck", () => {
  const check = hopPrecheck("git-tar", { exceptPaths: ["/callback"] });
  const now = Date.now();
  const post = (header?: string, path = "/") =>
    check({ method: "POST", path, headers: header === undefined ? {} : { "x-cloud-signature-256": header } });

  it.each([
    ["a fresh hop for the target", signHop("s", "git-tar", "body", now)],
    ["a fresh hop for another target (the handler refuses it)", signHop("s", "buildshiprun", "body", now)],
    ["59 minutes old (the queue's allowance)", signHop("s", "git-tar", "body", now - 59 * 60_000)],
  ])("POST with %s → let through", (_, header) => expect(post(header)).toBeUndefined());

  it.each([
    ["no header", undefined],
    ["the old form without a timestamp", "sha256=" + "0".repeat(64)],
    ["garbage", "t=abc,sha256=zz"],
    ["2 hours old", signHop("s", "git-tar", "body", now - 2 * 3_600_000)],
    ["10 minutes in the future", signHop("s", "git-tar", "body", now + 10 * 60_000)],
  ])("POST with %s → 401 naming the header and the target", (_, header) =>
    expect(post(header)).toEqual({
      status: 401,
      message: "invalid, stale or missing X-Cloud-Signature-256 for git-tar",
    }),
  );

  it("GET, and a POST to an excepted path → let through", () => {
    expect(check({ method: "GET", path: "/", headers: {} })).toBeUndefined();
    expect(post(undefined, "/callback")).toBeUndefined();
  });

  it("a lazyHandler's built precheck applies under runFunction: unsigned POST → 401 unread, signed → handled", async () => {
    const handler = lazyHandler(() =>
      withPrecheck((event, context) => Promise.resolve(context.succeed(`${event.body.length}`)), check),
    );
    const proc = { once: () => undefined, exit: () => undefined } as unknown as Pick<NodeJS.Process, "once" | "exit">;
    const fn = await runFunction(handler, { http_port: "0", http_host: "127.0.0.1" }, proc);
    try {
      const bytesRead = countBytesRead(fn.server);
      expect(await upload(`${fn.url}/`, { bytes: 8 * 1024 * 1024 })).toMatchObject({
        status: 401,
        body: "invalid, stale or missing X-Cloud-Signature-256 for git-tar",
      });
      expect(bytesRead()).toBeLessThan(1024 * 1024);
      const headers = { "x-cloud-signature-256": signHop("s", "git-tar", "x") };
      expect(await upload(`${fn.url}/`, { bytes: 10, headers })).toMatchObject({ status: 200, body: "10" });
    } finally {
      await fn.close(0);
    }
  });
});
