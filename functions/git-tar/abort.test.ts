import { readdir } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import axios from "axios";
import { pino } from "pino";
import { serveFunction, type FunctionServer } from "../../shared/function-server.js";
import { createGateway } from "../../shared/gateway.js";
import { signHop } from "../../shared/hmac.js";
import { PAYLOAD_SECRET, startGitTar } from "../../test/support/git-tar-harness.js";
import { createHandler } from "./handler.js";

// Issue #10: exec_timeout (or a caller that hangs up) stops git-tar's work, not just its reply, and the commit still
// ends in a terminal status. git-tar is served as its image serves it (shared/function-server.ts).

let h: Awaited<ReturnType<typeof startGitTar>>;
let served: FunctionServer | undefined;
let peer: Awaited<ReturnType<typeof startPeer>> | undefined;
afterEach(async () => {
  await served?.close(0);
  await peer?.close();
  await h.close();
  served = undefined;
  peer = undefined;
});

/** An HTTP server on 127.0.0.1 that never answers: records each request and whether its connection was closed. */
async function startPeer() {
  const requests: Array<{ url: string; closed: boolean }> = [];
  const server = createServer((req: IncomingMessage, _res: ServerResponse) => {
    const request = { url: req.url ?? "", closed: false };
    requests.push(request);
    req.socket.once("close", () => (request.closed = true));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Polls `read` until it gives a value (not undefined or false), for up to 15 s. */
async function until<T>(read: () => T | undefined | Promise<T | undefined>, what: string): Promise<T> {
  for (const deadline = Date.now() + 15_000; ;) {
    const value = await read();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`waited 15 s for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const stack = (names: string[]) =>
  "version: 1.0\nprovider:\n  name: openfaas\nfunctions:\n" +
  names.map((n) => `  ${n}:\n    lang: node20\n    handler: ./api\n    image: ${n}\n`).join("");
const files = {
  "api/handler.js": "module.exports = async () => 'hi';\n",
  "api/package.json": '{"name":"api"}\n',
};

function post(url: string, body: string, signal?: AbortSignal) {
  return axios.post<string>(`${url}/`, body, {
    headers: { "content-type": "application/json", "x-cloud-signature-256": signHop(PAYLOAD_SECRET, "git-tar", body) },
    responseType: "text",
    validateStatus: () => true,
    ...(signal ? { signal } : {}),
  });
}

describe("git-tar: a push nobody waits for any more stops", () => {
  it("exec_timeout during a clone from a git host that stalls → 504; the clone's connection is closed, the workspace removed, stack-deploy error", async () => {
    h = await startGitTar();
    peer = await startPeer();
    served = await serveFunction(createHandler({ ...h.deps, githubUrl: peer.url }), { execTimeoutMs: 1000 });
    const res = await post(served.url, h.buildRequest("alice", "fns", "a".repeat(40)));
    expect([res.status, res.data]).toEqual([504, "exec_timeout of 1s exceeded"]);

    const stalled = peer.requests;
    expect(stalled.map((r) => r.url)).toEqual(["/alice/fns.git/info/refs?service=git-upload-pack"]);
    await until(() => stalled[0]!.closed, "the git host to see the clone's connection closed");
    const status = await until(() => h.statuses().find((s) => s.context === "stack-deploy"), "a stack-deploy status");
    expect(status).toEqual({ context: "stack-deploy", state: "error", description: "build timed out after 1s" });
    await until(async () => (await readdir(h.workRoot)).length === 0 || undefined, "the workspace removed");
  });

  it("the caller hangs up while buildshiprun builds → the hand-off is cut, the queued build never starts, every pending status ends in error", async () => {
    h = await startGitTar();
    const { sha } = await h.git.createRepo("alice", "fns").then(async (r) => {
      const commit = await r.commit({ "stack.yml": stack(["api", "web"]), ...files });
      await r.push();
      return { sha: commit };
    });
    // The gateway buildshiprun is reached through: it takes the hand-off and never answers.
    peer = await startPeer();
    const log = pino({ level: "silent" });
    const gateway = createGateway({ url: peer.url, payloadSecret: PAYLOAD_SECRET, http: axios.create(), log });
    served = await serveFunction(createHandler({ ...h.deps, gateway, buildConcurrency: 1 }));

    const caller = new AbortController();
    const answer = post(served.url, h.buildRequest("alice", "fns", sha), caller.signal).catch((e: unknown) => e);
    const handedOff = peer.requests;
    await until(() => handedOff.length > 0, "the first hand-off to buildshiprun");
    caller.abort();
    await answer;

    await until(() => handedOff[0]!.closed, "the hand-off's connection closed");
    const terminal = await until(() => {
      const done = h.statuses().filter((s) => s.state !== "pending");
      return done.length === 3 ? done : undefined;
    }, "three terminal statuses");
    expect(terminal.map((s) => s.context).sort()).toEqual(["api", "stack-deploy", "web"]);
    for (const s of terminal) {
      expect(s).toMatchObject({
        state: "error",
        description: expect.stringMatching(/^build stopped after \d+s: the caller went away$/),
      });
    }
    // buildshiprun got the first function only: the second, queued behind build_concurrency 1, never left.
    expect(handedOff.map((r) => r.url)).toEqual(["/function/buildshiprun"]);
    await until(async () => (await readdir(h.workRoot)).length === 0 || undefined, "the workspace removed");
  });
});
