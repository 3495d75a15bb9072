import { EventEmitter } from "node:events";
import { request } from "node:http";
import { lazyHandler, type FunctionHandler } from "./function-handler.js";
import { parseDuration, runFunction, serveFunction, type FunctionServer } from "./function-server.js";

// What a system function image runs (template/ofc-node20/index.ts): health, timeouts and a graceful stop.

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
