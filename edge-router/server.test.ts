import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import {
  createServer,
  request,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type Server,
} from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { pino } from "pino";
import { trustedProxyList } from "./config.js";
import { createEdgeRouter, type EdgeRouter } from "./server.js";

// The router against a real HTTP upstream playing the gateway, on 127.0.0.1: what reaches the gateway (path, method,
// headers, bodies) and what comes back, with bodies of several MB streamed both ways.
const DOMAIN = "example.com";
const MB = 1024 * 1024;

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
  sha256: string;
  bytes: number;
}
type Upstream = (req: IncomingMessage, res: import("node:http").ServerResponse) => void;

let upstream: Server;
let upstreamPort: number;
let seen: Seen[] = [];
let behaviour: Upstream | undefined;
const routers: EdgeRouter[] = [];

/** The default gateway: records the request (its body hashed), answers 200 with what it saw as JSON. */
const record: Upstream = (req, res) => {
  const hash = createHash("sha256");
  let bytes = 0;
  req.on("data", (c: Buffer) => ((bytes += c.length), hash.update(c)));
  req.on("end", () => {
    const entry = {
      method: req.method!,
      url: req.url!,
      headers: req.headers,
      rawHeaders: req.rawHeaders,
      sha256: hash.digest("hex"),
      bytes,
    };
    seen.push(entry);
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(entry));
  });
};

async function listen(server: Server): Promise<number> {
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return (server.address() as AddressInfo).port;
}

/** A router in front of the upstream (or `gatewayUrl`), trusting `trusted` as proxies; its port. */
async function startRouter(trusted: string[] = [], gatewayUrl = `http://127.0.0.1:${upstreamPort}/`) {
  const router = createEdgeRouter({
    domain: DOMAIN,
    gatewayUrl,
    trustedProxies: trustedProxyList(trusted),
    log: pino({ level: "silent" }),
  });
  routers.push(router);
  return listen(router.server);
}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
  body: Buffer;
}
/** One request to the router at 127.0.0.1 with `host` as its Host and `path` sent exactly as written. */
async function send(
  port: number,
  host: string,
  path: string,
  options: { method?: string; headers?: OutgoingHttpHeaders; body?: Buffer | Readable } = {},
): Promise<Answer> {
  const req = request({
    host: "127.0.0.1",
    port,
    path,
    method: options.method ?? "GET",
    headers: { host, ...options.headers },
    agent: false,
  });
  const answer = new Promise<Answer>((resolve, reject) => {
    req.once("response", (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({
          status: res.statusCode!,
          headers: res.headers,
          rawHeaders: res.rawHeaders,
          body: Buffer.concat(chunks),
        }),
      );
      res.on("error", reject);
    });
    req.once("error", reject);
  });
  if (options.body instanceof Readable) options.body.pipe(req);
  else req.end(options.body);
  return answer;
}
const json = (a: Answer) => JSON.parse(a.body.toString()) as Seen;

beforeAll(async () => {
  upstream = createServer((req, res) => (behaviour ?? record)(req, res));
  upstreamPort = await listen(upstream);
});
beforeEach(() => {
  seen = [];
  behaviour = undefined;
});
afterAll(async () => {
  await Promise.all(routers.map((r) => r.close(100)));
  upstream.closeAllConnections();
  upstream.close();
});

describe("edge router → gateway: what is passed on", () => {
  let port: number;
  beforeAll(async () => (port = await startRouter()));

  it("alice.example.com/hello/sub?q → /function/alice--hello/sub?q, query byte for byte, Host the gateway's", async () => {
    const answer = await send(port, `alice.${DOMAIN}:${port}`, "/hello/sub/x.txt?name=a%20b&name=c&e=%2F&empty");
    expect(answer.status).toBe(200);
    const got = json(answer);
    expect(got.url).toBe("/function/alice--hello/sub/x.txt?name=a%20b&name=c&e=%2F&empty");
    expect(got.headers.host).toBe(`127.0.0.1:${upstreamPort}`);
  });

  it("a gateway_url with a path prefix → the prefix kept before /function/", async () => {
    const prefixed = await startRouter([], `http://127.0.0.1:${upstreamPort}/openfaas/`);
    expect(json(await send(prefixed, `alice.${DOMAIN}`, "/hello")).url).toBe("/openfaas/function/alice--hello");
  });

  it.each(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])(
    "%s → the same method, its body passed",
    async (method) => {
      const body = Buffer.from(`a ${method} body`);
      const got = json(
        await send(port, `alice.${DOMAIN}`, "/fn", { method, body, headers: { "content-length": body.length } }),
      );
      expect([got.method, got.bytes, got.sha256]).toEqual([
        method,
        body.length,
        createHash("sha256").update(body).digest("hex"),
      ]);
    },
  );

  it("HEAD → HEAD, the gateway's headers without a body", async () => {
    behaviour = (req, res) => res.writeHead(200, { "content-length": "42", "x-method": req.method }).end();
    const answer = await send(port, `alice.${DOMAIN}`, "/fn", { method: "HEAD" });
    expect([answer.status, answer.headers["x-method"], answer.headers["content-length"], answer.body.length]).toEqual([
      200,
      "HEAD",
      "42",
      0,
    ]);
  });

  it("a chunked DELETE body → still framed (chunked) at the gateway", async () => {
    const got = json(
      await send(port, `alice.${DOMAIN}`, "/fn", {
        method: "DELETE",
        // Node's client frames a DELETE body only when told to; curl does the same with -H.
        headers: { "transfer-encoding": "chunked" },
        body: Readable.from([Buffer.from("gone")]),
      }),
    );
    expect([got.method, got.bytes, got.headers["transfer-encoding"]]).toEqual(["DELETE", 4, "chunked"]);
  });

  it("end-to-end headers (repeated ones too) → passed; hop-by-hop ones and those Connection names → dropped", async () => {
    const got = json(
      await send(port, `alice.${DOMAIN}`, "/fn", {
        headers: {
          authorization: "Bearer token-for-the-function",
          cookie: "a=1",
          "x-custom": ["one", "two"],
          "content-type": "text/plain",
          connection: "keep-alive, x-hop",
          "x-hop": "for the router only",
          "keep-alive": "timeout=5",
          "proxy-authorization": "Basic cHJveHk6c2VjcmV0",
          te: "trailers",
          upgrade: "websocket",
        },
      }),
    );
    const raw = (name: string) =>
      got.rawHeaders.filter((_, i) => i % 2 === 1 && got.rawHeaders[i - 1]!.toLowerCase() === name);
    expect(got.headers).toMatchObject({
      authorization: "Bearer token-for-the-function",
      cookie: "a=1",
      "content-type": "text/plain",
    });
    expect(raw("x-custom")).toEqual(["one", "two"]);
    for (const name of ["x-hop", "keep-alive", "proxy-authorization", "te", "upgrade"]) {
      expect([name, got.headers[name]]).toEqual([name, undefined]);
    }
  });

  it("the gateway's status, headers and repeated Set-Cookie → passed; its hop-by-hop headers → dropped", async () => {
    behaviour = (_req, res) => {
      res.writeHead(418, "I'm a teapot", [
        "Set-Cookie", "a=1",
        "Set-Cookie", "b=2",
        "X-Reply", "yes",
        "Connection", "x-gateway-hop",
        "X-Gateway-Hop", "private",
        "Content-Type", "text/plain",
      ]); // prettier-ignore
      res.end("short and stout");
    };
    const answer = await send(port, `alice.${DOMAIN}`, "/fn");
    expect([answer.status, answer.body.toString()]).toEqual([418, "short and stout"]);
    expect(answer.headers).toMatchObject({
      "set-cookie": ["a=1", "b=2"],
      "x-reply": "yes",
      "content-type": "text/plain",
    });
    expect(answer.headers["x-gateway-hop"]).toBeUndefined();
  });
});

describe("edge router: bodies of several MB are streamed, never buffered", () => {
  let port: number;
  beforeAll(async () => (port = await startRouter()));

  it("a 12 MB chunked POST and a 12 MB reply → byte for byte both ways", async () => {
    // The gateway echoes the body back as it arrives.
    behaviour = (req, res) => {
      res.writeHead(200, { "content-type": "application/octet-stream" });
      req.pipe(res);
    };
    const body = randomBytes(12 * MB);
    const chunks = Array.from({ length: 12 }, (_, i) => body.subarray(i * MB, (i + 1) * MB));
    const answer = await send(port, `alice.${DOMAIN}`, "/echo", { method: "POST", body: Readable.from(chunks) });
    expect(answer.status).toBe(200);
    expect(answer.body.length).toBe(body.length);
    expect(answer.body.equals(body)).toBe(true);
  });

  it("a 6 MB POST with Content-Length → the same length and hash at the gateway", async () => {
    const body = randomBytes(6 * MB);
    const got = json(
      await send(port, `alice.${DOMAIN}`, "/up", { method: "POST", body, headers: { "content-length": body.length } }),
    );
    expect([got.bytes, got.headers["content-length"], got.sha256]).toEqual([
      body.length,
      String(body.length),
      createHash("sha256").update(body).digest("hex"),
    ]);
  });

  it("request: the gateway has the first MB while the client still holds back the rest", async () => {
    // If the router waited for the whole body, the gateway would never see the first MB and this would time out.
    let firstArrived!: () => void;
    const arrived = new Promise<void>((resolve) => (firstArrived = resolve));
    let received = 0;
    behaviour = (req, res) => {
      req.on("data", (c: Buffer) => {
        received += c.length;
        if (received >= MB) firstArrived();
      });
      req.on("end", () => res.end(String(received)));
    };
    async function* body() {
      yield Buffer.alloc(MB, 1);
      await arrived;
      for (let i = 0; i < 4; i++) yield Buffer.alloc(MB, 2);
    }
    const answer = await send(port, `alice.${DOMAIN}`, "/up", { method: "POST", body: Readable.from(body()) });
    expect(answer.body.toString()).toBe(String(5 * MB));
  });

  it("reply: the client has the first MB while the gateway still holds back the rest", async () => {
    let clientHasFirst!: () => void;
    const hasFirst = new Promise<void>((resolve) => (clientHasFirst = resolve));
    behaviour = (_req, res) => {
      res.writeHead(200);
      res.write(Buffer.alloc(MB, 1));
      void hasFirst.then(() => res.end(Buffer.alloc(4 * MB, 2)));
    };
    const total = await new Promise<number>((resolve, reject) => {
      const req = request({
        host: "127.0.0.1",
        port,
        path: "/down",
        headers: { host: `alice.${DOMAIN}` },
        agent: false,
      });
      req.once("response", (res) => {
        let bytes = 0;
        res.on("data", (c: Buffer) => {
          bytes += c.length;
          if (bytes >= MB) clientHasFirst();
        });
        res.on("end", () => resolve(bytes));
      });
      req.once("error", reject);
      req.end();
    });
    expect(total).toBe(5 * MB);
  });

  it("the client leaving mid-reply → the gateway's call is ended too", async () => {
    const gatewayClosed = new Promise<void>((resolve) => {
      behaviour = (_req, res) => {
        res.writeHead(200);
        res.write(Buffer.alloc(64 * 1024));
        res.once("close", () => resolve());
      };
    });
    await new Promise<void>((resolve, reject) => {
      const req = request({
        host: "127.0.0.1",
        port,
        path: "/slow",
        headers: { host: `alice.${DOMAIN}` },
        agent: false,
      });
      req.once("response", (res) => res.once("data", () => (req.destroy(), resolve())));
      req.once("error", reject);
      req.end();
    });
    await gatewayClosed;
  });
});

describe("edge router: X-Forwarded-*", () => {
  const spoofed = {
    "x-forwarded-for": "203.0.113.9",
    "x-forwarded-proto": "https",
    "x-forwarded-host": "bob.example.com",
    "x-forwarded-port": "443",
    forwarded: "for=203.0.113.9;proto=https",
    "x-real-ip": "203.0.113.9",
  };

  it("a plain client (default: no proxy trusted) → its own address, http and its Host; whatever it claimed dropped", async () => {
    const port = await startRouter();
    const got = json(await send(port, `alice.${DOMAIN}:${port}`, "/fn", { headers: spoofed }));
    expect(got.headers).toMatchObject({
      "x-forwarded-for": "127.0.0.1",
      "x-forwarded-proto": "http",
      "x-forwarded-host": `alice.${DOMAIN}:${port}`,
    });
    for (const name of ["x-forwarded-port", "forwarded", "x-real-ip"]) expect(got.headers[name]).toBeUndefined();
    // One of each, never the client's beside ours.
    expect(got.rawHeaders.filter((h) => /^x-forwarded-for$/i.test(h))).toHaveLength(1);
  });

  it("a trusted proxy (trusted_proxies 127.0.0.0/8) → its chain appended to, its proto and host kept", async () => {
    const port = await startRouter(["127.0.0.0/8"]);
    const got = json(await send(port, `alice.${DOMAIN}`, "/fn", { headers: spoofed }));
    expect(got.headers).toMatchObject({
      "x-forwarded-for": "203.0.113.9, 127.0.0.1",
      "x-forwarded-proto": "https",
      "x-forwarded-host": "bob.example.com",
      "x-forwarded-port": "443",
      forwarded: "for=203.0.113.9;proto=https",
    });
    // The route still comes from Host, never from X-Forwarded-Host.
    expect(got.url).toBe("/function/alice--fn");
  });

  it("a trusted proxy that sent no forwarding headers → the router's own values", async () => {
    const port = await startRouter(["127.0.0.1"]);
    const got = json(await send(port, `alice.${DOMAIN}`, "/fn"));
    expect(got.headers).toMatchObject({
      "x-forwarded-for": "127.0.0.1",
      "x-forwarded-proto": "http",
      "x-forwarded-host": `alice.${DOMAIN}`,
    });
  });
});

describe("edge router: refusals never reach the gateway", () => {
  let port: number;
  beforeAll(async () => (port = await startRouter()));

  // Issue #13: sent exactly as written (Node's client does not normalise paths); none may reach bob's function.
  it.each([
    ["bob's deployed name", "/bob--x"],
    ["an encoded slash", "/x%2F..%2Fbob-x"],
    ["an encoded slash after the function", "/x/%2F..%2F..%2Fbob--x"],
    ["a dot-dot segment", "/x/../../bob--x"],
    ["an encoded dot-dot segment", "/x/%2E%2E/%2e%2e/bob--x"],
    ["a double slash", "//bob--x"],
    ["a backslash", "/x/..\\..\\bob--x"],
    ["an absolute-form target", `http://bob.${DOMAIN}/x`],
  ])("alice's host with %s → refused, the gateway never called", async (_case, path) => {
    const answer = await send(port, `alice.${DOMAIN}`, path);
    expect([400, 404]).toContain(answer.status);
    expect(seen).toEqual([]);
  });

  it("the system host → only its table: /system/functions, /async-function/…, /metrics, /ui and users' functions refused", async () => {
    for (const path of [
      "/system/functions",
      "/async-function/git-tar",
      "/metrics",
      "/ui/",
      "/function/alice--hello",
      "/git-tar",
    ]) {
      expect([path, (await send(port, `system.${DOMAIN}`, path)).status]).toEqual([path, 404]);
    }
    expect(seen).toEqual([]);
    const hook = json(
      await send(port, `system.${DOMAIN}`, "/github-event", { method: "POST", body: Buffer.from("{}") }),
    );
    expect([hook.method, hook.url]).toEqual(["POST", "/function/github-event"]);
  });

  it("a browser (Accept: text/html) → an HTML 404 page, the host and path escaped", async () => {
    const answer = await send(port, `<script>.${DOMAIN}`, "/x", {
      headers: { accept: "text/html,application/xhtml+xml" },
    });
    expect(answer.status).toBe(404);
    expect(answer.headers["content-type"]).toBe("text/html; charset=utf-8");
    const page = answer.body.toString();
    expect(page).toContain("<title>404 Not Found</title>");
    expect(page).toContain("owner &quot;&lt;script&gt;&quot; must be a GitHub login");
    expect(page).not.toContain("<script>");
  });

  it("curl (Accept: */*) → a plain-text 404 naming the rule", async () => {
    const answer = await send(port, `alice.${DOMAIN}`, "/bob--x", { headers: { accept: "*/*" } });
    expect([answer.status, answer.headers["content-type"], answer.body.toString()]).toEqual([
      404,
      "text/plain; charset=utf-8",
      '404 Not Found: function name "bob--x" must not contain "--": it separates the owner from the name in deployed names\n',
    ]);
  });

  it("an unknown host → 404 saying which hosts serve functions", async () => {
    const answer = await send(port, "alice.example.org", "/hello");
    expect([answer.status, answer.body.toString()]).toEqual([
      404,
      "404 Not Found: no functions are served at alice.example.org: use <owner>.example.com/<function>\n",
    ]);
  });

  it("a refused 8 MB upload → answered 404 without reading it, the connection closed", async () => {
    const answer = await send(port, `alice.${DOMAIN}`, "/bob--x", {
      method: "POST",
      body: Buffer.alloc(8 * MB),
      headers: { "content-length": 8 * MB },
    }).catch((error: NodeJS.ErrnoException) => ({ status: error.code }));
    // The answer normally arrives first; a client still writing may see the close as a reset instead.
    expect([404, "ECONNRESET", "EPIPE"]).toContain(answer.status);
    expect(seen).toEqual([]);
  });

  it("a pooled connection the gateway dropped → a GET sent again on a new one; a POST with a body → 502", async () => {
    // A gateway that closes each keep-alive connection at its second request, before answering: the race between a
    // pooled connection's reuse and the gateway's idle timeout, made certain.
    const flaky = createServer((req, res) => {
      const socket = req.socket as typeof req.socket & { served?: number };
      socket.served = (socket.served ?? 0) + 1;
      if (socket.served > 1) return void socket.destroy();
      req.resume().on("end", () => res.end(`answered ${req.method}`));
    });
    const router = await startRouter([], `http://127.0.0.1:${await listen(flaky)}/`);
    try {
      const first = await send(router, `alice.${DOMAIN}`, "/fn");
      const again = await send(router, `alice.${DOMAIN}`, "/fn");
      const posted = await send(router, `alice.${DOMAIN}`, "/fn", { method: "POST", body: Buffer.from("once only") });
      expect([first.status, again.status, again.body.toString(), posted.status]).toEqual([
        200,
        200,
        "answered GET",
        502,
      ]);
    } finally {
      flaky.closeAllConnections();
      flaky.close();
    }
  });

  it("the gateway down → a 502 page, no detail leaked", async () => {
    const closed = createServer();
    const deadPort = await listen(closed);
    closed.close();
    const router = await startRouter([], `http://127.0.0.1:${deadPort}/`);
    const answer = await send(router, `alice.${DOMAIN}`, "/hello");
    expect([answer.status, answer.body.toString()]).toEqual([
      502,
      "502 Bad Gateway: the function gateway did not answer\n",
    ]);
  });
});

describe("edge router: /healthz", () => {
  let port: number;
  beforeAll(async () => (port = await startRouter()));

  it("GET on the pod's address → 200 OK; POST → 405; on an owner's host → that owner's function", async () => {
    const get = await send(port, `127.0.0.1:${port}`, "/healthz");
    const post = await send(port, `127.0.0.1:${port}`, "/healthz", { method: "POST" });
    expect([get.status, get.body.toString(), post.status]).toEqual([200, "OK", 405]);
    expect(seen).toEqual([]);
    expect(json(await send(port, `alice.${DOMAIN}`, "/healthz")).url).toBe("/function/alice--healthz");
  });
});
