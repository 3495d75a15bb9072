import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { isHttpError } from "../shared/http-error.js";
import { createBuildHandler, sendJson, type BuildHandlerDeps } from "./build-handler.js";

/** What the of-builder server needs: the build handler's deps and the in-flight limit. */
export interface BuilderDeps extends BuildHandlerDeps {
  /** Concurrent builds; one more is answered 429 (DESIGN §6). */
  maxInflight: number;
}

/** A running of-builder: the HTTP server (not yet listening) and its graceful shutdown. */
export interface BuilderServer {
  server: Server;
  /** Builds running now. */
  inflight(): number;
  /** Stops accepting, lets running builds finish for up to `graceMs`, then cancels the rest and closes. */
  shutdown(graceMs: number): Promise<void>;
}

/** The of-builder HTTP API (DESIGN §6): `POST /build`, `GET /healthz`. */
export function createBuilderServer(deps: BuilderDeps): BuilderServer {
  const handleBuild = createBuildHandler(deps);
  const running = new Map<Promise<void>, AbortController>();
  let closing = false;

  async function build(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (closing) return sendJson(res, 503, { status: "failure", error: "of-builder is shutting down" });
    if (running.size >= deps.maxInflight) {
      // Answered before reading the body; the caller (buildshiprun) retries later.
      return sendJson(res, 429, { status: "failure", error: "too many builds in flight" }, { Connection: "close" });
    }
    const cancel = new AbortController();
    // The Engine and buildctl stop a build whose client is gone; so do we (anchors §F).
    res.on("close", () => {
      if (!res.writableFinished) cancel.abort(new Error("the client closed the connection"));
    });
    const done = handleBuild(req, res, cancel.signal);
    running.set(done, cancel);
    try {
      await done;
    } finally {
      running.delete(done);
    }
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // gorilla/mux StrictSlash in the original: "/build/" is "/build" (original-spec §6).
    const path = new URL(req.url ?? "/", "http://of-builder").pathname.replace(/(.)\/+$/, "$1");
    if (path === "/healthz") {
      // The original's exact behaviour: GET → "OK", anything else → 405 with an empty body.
      res.writeHead(req.method === "GET" ? 200 : 405, req.method === "GET" ? { "Content-Type": "text/plain" } : {});
      return void res.end(req.method === "GET" ? "OK" : "");
    }
    if (path !== "/build") return sendJson(res, 404, { status: "failure", error: `no route ${path}` });
    if (req.method !== "POST") {
      return sendJson(res, 405, { status: "failure", error: "/build takes POST" }, { Allow: "POST" });
    }
    return build(req, res);
  }

  const server = createServer((req, res) => {
    // A write to a response whose client left must not crash the process.
    res.on("error", (err) => deps.log.debug({ err }, "response error"));
    // While shutting down, no connection is kept alive after its answer has been handed to the OS.
    res.on("finish", () => {
      if (closing) req.socket.end();
    });
    route(req, res).catch((error: unknown) => {
      const status = isHttpError(error) ? error.status : 500;
      if (!isHttpError(error)) deps.log.error({ err: error, url: req.url }, "unexpected failure");
      if (res.headersSent) return void res.end();
      const message = isHttpError(error) ? error.message : "unexpected failure";
      // Refused before the body was read: close, so the rest of an upload is not read into nowhere.
      sendJson(res, status, { status: "failure", error: message }, req.complete ? {} : { Connection: "close" });
    });
  });

  return {
    server,
    inflight: () => running.size,
    async shutdown(graceMs) {
      closing = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      if (!(await within(Promise.allSettled(running.keys()), graceMs))) {
        deps.log.warn({ builds: running.size }, `builds still running after ${graceMs} ms: cancelling them`);
        for (const cancel of running.values()) cancel.abort(new Error("of-builder is shutting down"));
        await Promise.allSettled(running.keys());
      }
      server.closeIdleConnections();
      // Answers close their connection once sent (above); what is left is a client holding an idle socket.
      if (!(await within(closed, 1000))) server.closeAllConnections();
      await closed;
    },
  };
}

/** Whether `promise` settles within `ms`. */
async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  const timer = new AbortController();
  try {
    return await Promise.race([
      promise.then(
        () => true,
        () => true,
      ),
      sleep(ms, false, { signal: timer.signal }),
    ]);
  } finally {
    timer.abort();
  }
}
