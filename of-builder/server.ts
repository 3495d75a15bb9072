import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { isHttpError } from "../shared/http-error.js";
import { createBuildHandler, sendJson, type BuildHandlerDeps, type ReceivedBuild } from "./build-handler.js";

/** What the of-builder server needs: the build handler's deps and the in-flight limits. */
export interface BuilderDeps extends BuildHandlerDeps {
  /** Concurrent builds; one more is answered 429 (DESIGN §6). */
  maxInflight: number;
  /**
   * Bodies being received (and verified) at once, before they take a build slot; one more is answered 429 before
   * it is read. Default 4 × maxInflight: each may spool up to max_build_mb to the temp folder.
   */
  maxUploads?: number;
}

/** A running of-builder: the HTTP server (not yet listening) and its graceful shutdown. */
export interface BuilderServer {
  server: Server;
  /** Builds running now. */
  inflight(): number;
  /** Stops accepting, lets running builds finish for up to `graceMs`, then cancels the rest and closes. */
  shutdown(graceMs: number): Promise<void>;
}

const SHUTTING_DOWN = { status: 503, error: "of-builder is shutting down" };

/** The of-builder HTTP API (DESIGN §6): `POST /build`, `GET /healthz`. */
export function createBuilderServer(deps: BuilderDeps): BuilderServer {
  const handler = createBuildHandler(deps);
  const maxUploads = deps.maxUploads ?? 4 * deps.maxInflight;
  const running = new Map<Promise<void>, AbortController>();
  // Every POST /build from its first byte to its answer, so a shutdown leaves no temp folder behind.
  const requests = new Set<Promise<void>>();
  let uploads = 0;
  let closing = false;

  async function build(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (closing) return refuse(req, res, SHUTTING_DOWN);
    // Issue #10: the signature is checked before a request costs a slot, so an unsigned upload, however slow,
    // never holds one. A header that cannot be a fresh hop for of-builder is refused before any body is read.
    const verifier = handler.precheck(req);
    if (uploads >= maxUploads) return refuse(req, res, { status: 429, error: "too many uploads in flight" });
    uploads++;
    let received: ReceivedBuild;
    try {
      received = await handler.receive(req, verifier);
    } finally {
      uploads--;
    }
    if (closing || running.size >= deps.maxInflight) {
      await handler.discard(received);
      // The caller (buildshiprun) retries later.
      return refuse(req, res, closing ? SHUTTING_DOWN : { status: 429, error: "too many builds in flight" });
    }
    const cancel = new AbortController();
    // The Engine and buildctl stop a build whose client is gone; so do we (anchors §F).
    res.on("close", () => {
      if (!res.writableFinished) cancel.abort(new Error("the client closed the connection"));
    });
    const done = handler.build(received, req, res, cancel.signal);
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
    const request = build(req, res);
    requests.add(request);
    return request.finally(() => requests.delete(request));
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
      refuse(req, res, { status, error: isHttpError(error) ? error.message : "unexpected failure" });
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
      // Uploads cut by the close clean up their temp folders.
      await Promise.allSettled(requests);
    },
  };
}

/**
 * Answers a refusal as JSON. A request whose body was not read to its end gets its connection closed once the answer
 * is out, so the rest of the upload is never read (issue #10: a 60 MB unsigned body costs nothing).
 */
function refuse(req: IncomingMessage, res: ServerResponse, refusal: { status: number; error: string }): void {
  if (!req.complete) res.once("finish", () => req.socket.destroy());
  const headers: Record<string, string> = req.complete ? {} : { Connection: "close" };
  sendJson(res, refusal.status, { status: "failure", error: refusal.error }, headers);
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
