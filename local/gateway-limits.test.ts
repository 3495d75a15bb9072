// The local gateway hosts the system functions in-process; it must stop their work as their own images would
// (issue #10): at the function's exec_timeout, and when the caller goes away.
import { request } from "node:http";
import { pino } from "pino";
import type { FunctionEvent, FunctionHandler } from "../shared/function-handler.js";
import { startGateway } from "./gateway.js";
import { systemLimits } from "./system-stack.js";

/** A handler that waits for its signal, and records why it was aborted. */
function waitsForAbort() {
  const reasons: string[] = [];
  let started!: () => void;
  const running = new Promise<void>((resolve) => (started = resolve));
  const handler: FunctionHandler = async (event: FunctionEvent, context) => {
    started();
    await new Promise<void>((resolve) => {
      event.signal?.addEventListener("abort", () => {
        reasons.push((event.signal?.reason as DOMException).name);
        resolve();
      });
    });
    context.status(200).succeed("finished anyway");
  };
  return { handler, reasons, running };
}

async function gatewayWith(handler: FunctionHandler, execTimeoutMs?: number) {
  const queue = { enqueue: () => Promise.resolve() };
  return startGateway({
    functions: new Map([["git-tar", handler]]),
    queue,
    log: pino({ level: "silent" }),
    functionLimits: { "git-tar": execTimeoutMs === undefined ? {} : { execTimeoutMs } },
  });
}

describe("local gateway: in-process functions keep their images' limits", () => {
  it("exec_timeout reached → 504, and the handler's signal aborted with a TimeoutError", async () => {
    const fn = waitsForAbort();
    const gateway = await gatewayWith(fn.handler, 200);
    try {
      const res = await fetch(new URL("function/git-tar", gateway.url), { method: "POST", body: "{}" });
      expect(res.status).toBe(504);
      expect(await res.text()).toBe("exec_timeout of 0.2s exceeded");
      expect(fn.reasons).toEqual(["TimeoutError"]);
    } finally {
      await gateway.close();
    }
  });

  it("the caller hangs up → the handler's signal aborted with an AbortError", async () => {
    const fn = waitsForAbort();
    const gateway = await gatewayWith(fn.handler);
    try {
      const req = request(new URL("function/git-tar", gateway.url), { method: "POST" });
      req.on("error", () => {});
      req.end("{}");
      await fn.running;
      req.destroy();
      for (let i = 0; i < 100 && fn.reasons.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect(fn.reasons).toEqual(["AbortError"]);
    } finally {
      await gateway.close();
    }
  });

  it("the system's stack.yml gives git-tar its 15 m exec_timeout and 1 MiB body cap", async () => {
    expect((await systemLimits())["git-tar"]).toEqual({ execTimeoutMs: 15 * 60_000, bodyBytes: 1024 * 1024 });
  });
});
