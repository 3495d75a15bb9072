import { jest } from "@jest/globals";
import { createPrivateKey } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import axios from "axios";
import { pino } from "pino";
import { loadPorts } from "../../local/ports.js";
import { startLocalCloud, type LocalCloud } from "../../local/runtime.js";
import { previewFunctionName } from "../../shared/naming.js";
import { SESSION_COOKIE, signSession } from "../../shared/session.js";

// The whole pipeline on real components (issue #5): dockerd + BuildKit, registry, NATS JetStream, S3, a git host
// over smart HTTP, of-builder, the gateway running the six stages and the functions; GitHub is the strict stand-in.
jest.setTimeout(600_000);

let dir: string;
let cloud: LocalCloud;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "e2e-"));
  const { gateway } = await loadPorts(join(dir, "ports.json"));
  cloud = await startLocalCloud({
    dir,
    owners: ["alice", "bob"],
    log: pino({ level: "silent" }),
    gatewayPort: gateway,
    // Issue #17: other branches of a repository that opts in deploy as previews (the last test).
    settings: { enable_previews: "true" },
  });
});
afterAll(async () => {
  await cloud?.close();
  await rm(dir, { recursive: true, force: true });
});

const stack = (fns: string[]) =>
  `version: 1.0\nprovider:\n  name: openfaas\nfunctions:\n${fns.map((f) => `  ${f}:\n    lang: node20\n    handler: ./${f}\n    image: ${f}:latest\n`).join("")}`;
const fn = (name: string, reply: string, extra: Record<string, string> = {}) => ({
  [`${name}/handler.js`]: `module.exports = async () => ${JSON.stringify(reply)};\n`,
  [`${name}/package.json`]: JSON.stringify({ name, version: "1.0.0", private: true, main: "handler.js" }),
  ...extra,
});
const call = (name: string) =>
  axios.get<string>(`${cloud.gatewayUrl}function/${name}`, { responseType: "text", validateStatus: () => true });
const statuses = (owner: string, repo: string, sha: string) =>
  cloud.github
    .statuses({ owner, repo, sha })
    .map((s) => ({ context: s.context, state: s.state, description: s.description, target_url: s.target_url }));

/** GET `http://system.localhost:<edge><path>` as `login` (a session signed with the runtime's edge-auth key). */
async function systemGet(path: string, login: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const key = createPrivateKey(await readFile(join(dir, "secrets", "jwt-private-key"), "utf8"));
  const token = await signSession({ userId: 1, login, orgs: [] }, key, { nowMs: Date.now(), ttlMs: 600_000 });
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port: cloud.edgePort,
        path,
        headers: { host: `system.localhost:${cloud.edgePort}`, cookie: `${SESSION_COOKIE}=${token}` },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          try {
            resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> });
          } catch {
            resolve({ status: res.statusCode ?? 0, body: { text } });
          }
        });
      },
    );
    req.on("error", reject);
    req.end();
  });
}
/** GET a pretty URL (`http://<owner>.localhost:<edge>/…`) through the edge router, by its Host header. */
function edgeGet(url: string): Promise<{ status: number; body: string }> {
  const { host, pathname } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port: cloud.edgePort, path: pathname, headers: { host } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
    });
    req.on("error", reject);
    req.end();
  });
}
const buildLog = (query: Record<string, string>, login: string) =>
  systemGet(`/build-log?${new URLSearchParams(query).toString()}`, login) as Promise<{
    status: number;
    body: { log: string } & Record<string, unknown>;
  }>;

async function push(owner: string, repo: string, files: Record<string, string>) {
  const sha = await cloud.publish(owner, repo, files);
  const res = await cloud.sendPush(owner, repo, sha);
  expect(res.status).toBe(202);
  const stackStatus = await cloud.waitForStatus(owner, repo, sha, "stack-deploy", 300_000);
  return { sha, stackStatus };
}

describe("push to live on one machine", () => {
  let first: string;

  it("a repo with two functions → pending, per-function pending, both answer, per-function success with URL, stack success", async () => {
    const { sha, stackStatus } = await push("alice", "fns", {
      "stack.yml": stack(["hello", "echo"]),
      ...fn("hello", "hello from alice"),
      ...fn("echo", "echo from alice"),
    });
    first = sha;
    expect(stackStatus.state).toBe("success");
    // The edge router's pretty URL (issue #13): test/e2e/edge.test.ts checks that it answers.
    const url = (f: string) => `http://alice.localhost:${cloud.edgePort}/${f}`;
    const seen = statuses("alice", "fns", sha);
    // The runtime sets system_public_url: statuses link the dashboard (issue #14).
    const dashboard = `http://system.localhost:${cloud.edgePort}/dashboard/alice`;
    expect(seen[0]).toEqual({
      context: "stack-deploy",
      state: "pending",
      description: "alice-fns stack deploy is in progress",
      target_url: dashboard,
    });
    expect(seen.filter((s) => s.context === "hello" && s.state === "pending").map((s) => s.target_url)).toEqual([
      `${dashboard}/builds/fns/${sha}/hello`,
    ]);
    expect(
      seen
        .filter((s) => s.state === "pending")
        .map((s) => s.context)
        .sort(),
    ).toEqual(["echo", "hello", "stack-deploy"]);
    expect(seen.filter((s) => s.context !== "stack-deploy" && s.state === "success")).toEqual(
      expect.arrayContaining([
        { context: "hello", state: "success", description: "deployed: alice--hello", target_url: url("hello") },
        { context: "echo", state: "success", description: "deployed: alice--echo", target_url: url("echo") },
      ]),
    );
    expect(seen.at(-1)).toMatchObject({
      context: "stack-deploy",
      state: "success",
      description: "stack is successfully deployed",
    });
    expect((await call("alice--hello")).data).toBe("hello from alice");
    expect((await call("alice--echo")).data).toBe("echo from alice");
  });

  it("a push that removes one function → it is garbage-collected, the other still answers", async () => {
    const { stackStatus } = await push("alice", "fns", {
      "stack.yml": stack(["hello"]),
      ...fn("hello", "hello again"),
    });
    expect(stackStatus.state).toBe("success");
    expect((await call("alice--echo")).status).toBe(404);
    const hello = await call("alice--hello");
    expect([hello.status, hello.data]).toEqual([200, "hello again"]);
    expect(first).toBeDefined();
  });

  it("a push that breaks the build → failure with the error line, linking the build page; its build-log API returns the log", async () => {
    const broken = fn("hello", "unused", {
      "hello/handler.js": "module.exports = async () => { return 'oops' ;; }}\n",
      "hello/package.json": JSON.stringify({
        name: "hello",
        version: "1.0.0",
        private: true,
        main: "handler.js",
        scripts: { test: "node handler.js" },
      }),
    });
    const { sha, stackStatus } = await push("alice", "fns", { "stack.yml": stack(["hello"]), ...broken });
    expect(stackStatus).toMatchObject({
      state: "failure",
      description: "deploy failed: hello failed to be deployed via buildshiprun",
    });
    const hello = statuses("alice", "fns", sha).find((s) => s.context === "hello" && s.state === "failure")!;
    expect(hello.description).toMatch(/^build failed: .*SyntaxError/);
    expect(hello.target_url).toBe(`http://system.localhost:${cloud.edgePort}/dashboard/alice/builds/fns/${sha}/hello`);
    // What the build page reads (dashboard-api /build-log through the edge router), as alice.
    const log = await buildLog({ owner: "alice", repo: "fns", sha, function: "hello" }, "alice");
    expect(log.status).toBe(200);
    // The record keeps the whole reason; the status's description is cut to GitHub's 140 characters.
    expect(log.body).toMatchObject({
      build: { state: "failure", reason: expect.stringMatching(/^build failed: .*SyntaxError/) },
      done: true,
    });
    const reason = (log.body.build as { reason: string }).reason;
    expect(reason.startsWith(hello.description!.replace(/…$/, ""))).toBe(true);
    expect(log.body.log).toMatch(/RUN .*npm test/);
    expect(log.body.log).toMatch(/SyntaxError: Unexpected token/);
    // The owner's builds list it newest first.
    const builds = await systemGet(`/builds?owner=alice&function=hello`, "alice");
    expect((builds.body as { builds: Array<{ sha: string }> }).builds[0]?.sha).toBe(sha);
    // The last good deployment keeps serving.
    expect((await call("alice--hello")).data).toBe("hello again");
  });

  it("two owners pushing same-named repos and functions at once → each sees only their own", async () => {
    const [alice, bob] = await Promise.all([
      push("alice", "shared-name", { "stack.yml": stack(["api"]), ...fn("api", "alice's api") }),
      push("bob", "shared-name", { "stack.yml": stack(["api"]), ...fn("api", "bob's api") }),
    ]);
    expect([alice.stackStatus.state, bob.stackStatus.state]).toEqual(["success", "success"]);
    expect((await call("alice--api")).data).toBe("alice's api");
    expect((await call("bob--api")).data).toBe("bob's api");
    expect(statuses("bob", "shared-name", alice.sha)).toEqual([]);
    expect(statuses("alice", "shared-name", bob.sha)).toEqual([]);
    // Alice's earlier functions are untouched by bob's push and its garbage collection.
    expect((await call("alice--hello")).data).toBe("hello again");
    const list = await axios.get<Array<{ name: string; labels: Record<string, string> }>>(
      `${cloud.gatewayUrl}system/functions`,
      {
        auth: { username: cloud.auth.user, password: cloud.auth.password },
      },
    );
    const owners = Object.fromEntries(list.data.map((f) => [f.name, f.labels["com.openfaas.cloud.git-owner"]]));
    expect(owners).toEqual({ "alice--hello": "alice", "alice--api": "alice", "bob--api": "bob" });
  });
  it("a push to a feature branch (issue #17) → its preview URL answers the branch's reply, main's still main's; deleting the branch removes it", async () => {
    const branch = "feature/greeting";
    const files = {
      "stack.yml": stack(["hello"]),
      ...fn("hello", "hello from a branch"),
      ".openfaas-cloud.yml": "previews: true\n",
    };
    const sha = await cloud.publish("alice", "fns", files, "a preview", branch);
    expect((await cloud.sendPush("alice", "fns", sha, undefined, undefined, branch)).status).toBe(202);
    expect(await cloud.waitForStatus("alice", "fns", sha, "stack-deploy", 300_000)).toMatchObject({
      state: "success",
      description: "stack is successfully deployed",
    });

    const name = previewFunctionName("alice", "hello", branch);
    const deployment = cloud.github.deployments().find((d) => d.sha === sha)!;
    expect(deployment.environment).toBe(`preview/${branch}`);
    // The pull request's "View deployment": the edge router's URL of the preview, which answers the branch's code.
    const url = deployment.statuses.at(-1)?.environment_url;
    expect(url).toBe(`http://alice.localhost:${cloud.edgePort}/${name.slice("alice--".length)}`);
    expect(await edgeGet(url!)).toEqual({ status: 200, body: "hello from a branch" });
    expect((await call(name)).data).toBe("hello from a branch");
    expect((await call("alice--hello")).data).toBe("hello again");

    const deleted = await cloud.sendPush("alice", "fns", "0".repeat(40), sha, undefined, branch);
    expect(deleted.status).toBe(200);
    expect((await call(name)).status).toBe(404);
    expect(
      cloud.github
        .deployments()
        .find((d) => d.sha === sha)
        ?.statuses.at(-1)?.state,
    ).toBe("inactive");
    expect((await call("alice--hello")).data).toBe("hello again");
  });
});
