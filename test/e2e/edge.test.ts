import { jest } from "@jest/globals";
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { request, type IncomingHttpHeaders } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { pino } from "pino";
import { localhostAgent } from "../../local/localhost-lookup.js";
import { loadPorts } from "../../local/ports.js";
import { pushWebhook } from "../../local/push-webhook.js";
import { startLocalCloud, type LocalCloud } from "../../local/runtime.js";

// Issue #13 on the local runtime: the demo repository pushed through the edge router's system host builds, each
// status links to http://demo.localhost:<edge>/<fn>, and that URL answers (GET, a streamed POST of several MB, a path
// under the function) while another owner's host never reaches demo's functions. One runtime for the file; the
// first case's push is what the others call.
jest.setTimeout(300_000);

const SAMPLE = fileURLToPath(new URL("../../examples/hello-stack", import.meta.url));
const MB = 1024 * 1024;

let dir: string;
let cloud: LocalCloud;
const agent = localhostAgent();
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "e2e-edge-"));
  const { gateway } = await loadPorts(join(dir, "ports.json"));
  cloud = await startLocalCloud({
    dir,
    owners: ["demo", "mallory"],
    log: pino({ level: "silent" }),
    gatewayPort: gateway,
  });
});
afterAll(async () => {
  agent.destroy();
  await cloud?.close();
  await rm(dir, { recursive: true, force: true });
});

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}
/**
 * One request to `http://<host>.localhost:<edge><path>`, the path sent exactly as written (a URL object would
 * normalise `..`), `*.localhost` resolved to 127.0.0.1 as curl and browsers do.
 */
function edge(
  host: string,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string | Readable } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: `${host}.localhost`,
        port: cloud.edgePort,
        path,
        method: options.method ?? "GET",
        headers: options.headers,
        agent,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode!, headers: res.headers, text: Buffer.concat(chunks).toString() }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    if (options.body instanceof Readable) options.body.pipe(req);
    else req.end(options.body);
  });
}

describe("the edge router on the local runtime", () => {
  it("a signed push to system.localhost/github-event → 202, builds to success, statuses link to demo.localhost", async () => {
    const sha = await cloud.publish("demo", "hello-stack", SAMPLE, "sample stack");
    const secret = (await readFile(join(dir, "secrets", "github-webhook-secret"), "utf8")).trim();
    // demo is the first installation (id 1), so its account id is 1001, as cloud.sendPush would send.
    const push = {
      owner: "demo",
      ownerId: 1001,
      repo: "hello-stack",
      sha,
      cloneUrl: `${cloud.git.url}/demo/hello-stack.git`,
      installationId: 1,
    };
    const { body, headers } = pushWebhook(push, secret, randomUUID());
    const accepted = await edge("system", "/github-event", { method: "POST", headers, body });
    expect(accepted.status).toBe(202);
    const stack = await cloud.waitForStatus("demo", "hello-stack", sha, "stack-deploy", 240_000);
    expect(stack.state).toBe("success");
    const links = cloud.github
      .statuses({ owner: "demo", repo: "hello-stack", sha })
      .filter((s) => s.state === "success" && s.context !== "stack-deploy")
      .map((s) => [s.context, s.target_url]);
    expect(links.sort()).toEqual([
      ["echo", `http://demo.localhost:${cloud.edgePort}/echo`],
      ["hello", `http://demo.localhost:${cloud.edgePort}/hello`],
    ]);
  });

  it("GET http://demo.localhost:<edge>/hello?name=Edge → the function's reply", async () => {
    expect(await edge("demo", "/hello?name=Edge")).toMatchObject({ status: 200, text: "Hello, Edge!\n" });
  });

  it("a streamed 8 MB POST to demo.localhost/echo → echoed back whole", async () => {
    const text = randomBytes(6 * MB).toString("base64"); // 8 MB of text: the template reads bodies as UTF-8
    const parts = Array.from({ length: 8 }, (_, i) => Buffer.from(text.slice(i * MB, (i + 1) * MB)));
    const answer = await edge("demo", "/echo", {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: Readable.from(parts),
    });
    expect(answer.status).toBe(200);
    const echoed = JSON.parse(answer.text) as { method: string; path: string; body: string };
    expect([echoed.method, echoed.path, echoed.body.length]).toEqual(["POST", "/", text.length]);
    const sha = (s: string) => createHash("sha256").update(s).digest("hex");
    expect(sha(echoed.body)).toBe(sha(text));
  });

  it("a path under the function, with a query → reaches it as its own path", async () => {
    const answer = await edge("demo", "/echo/a/b.json?x=1", { method: "PUT", body: "put" });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text)).toEqual({ method: "PUT", path: "/a/b.json", body: "put" });
  });

  it.each([
    ["the same function name", "/hello"],
    ["demo's deployed name", "/demo--hello"],
    ["an encoded climb to it", "/x/..%2F..%2Fdemo--hello"],
    ["a raw climb to it", "/x/../../function/demo--hello"],
    ["an encoded dot-dot climb", "/x/%2e%2e/%2e%2e/function/demo--hello"],
    ["a double slash", "//demo--hello"],
  ])("mallory.localhost with %s → 404, never demo's function", async (_case, path) => {
    const answer = await edge("mallory", path);
    expect(answer.status).toBe(404);
    expect(answer.text).not.toContain("Hello");
  });

  it("system.localhost → the webhook by its /function/ path too; the gateway's API and users' functions → 404", async () => {
    // An unsigned delivery reaches github-event, which refuses it: the route is there, the signature still rules.
    const unsigned = await edge("system", "/function/github-event", {
      method: "POST",
      headers: { "content-type": "application/json", "x-github-event": "push", "x-hub-signature-256": "sha256=00" },
      body: "{}",
    });
    expect(unsigned.status).toBe(401);
    for (const path of ["/function/demo--hello", "/system/functions", "/async-function/git-tar", "/hello"]) {
      expect([path, (await edge("system", path)).status]).toEqual([path, 404]);
    }
  });

  it("a browser on an unknown function's host → an HTML 404 page; /healthz on 127.0.0.1 → OK", async () => {
    const page = await edge("bad--owner", "/hello", { headers: { accept: "text/html" } });
    expect([page.status, page.headers["content-type"]]).toEqual([404, "text/html; charset=utf-8"]);
    expect(page.text).toContain("must be a GitHub login");
    const health = await fetch(`http://127.0.0.1:${cloud.edgePort}/healthz`);
    expect([health.status, await health.text()]).toEqual([200, "OK"]);
  });
});
