import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import axios from "axios";
import { pino } from "pino";
import { serveFunction } from "../../shared/function-server.js";
import type { FunctionStatus } from "../../shared/gateway.js";
import { createGateway } from "../../shared/gateway.js";
import { signPayload } from "../../shared/hmac.js";
import { startRecorder, type Answer, type RecordedRequest } from "../../test/support/http-recorder.js";
import { createHandler, depsFromEnv } from "./handler.js";

const SECRET = "payload-secret-for-tests";
const log = pino({ level: "silent" });

const owned = (name: string, owner: string, repo: string): FunctionStatus => ({
  name,
  image: `127.0.0.1:5000/${owner}/${name}:latest-0123456`,
  labels: { "com.openfaas.cloud.git-owner": owner, "com.openfaas.cloud.git-repo": repo, faas_function: name },
});

/** Two owners with same-named repositories and functions, plus the system's own (unlabelled) functions. */
const DEPLOYED: FunctionStatus[] = [
  owned("alice-api", "alice", "fns"),
  owned("alice-web", "alice", "fns"),
  owned("alice-other", "alice", "other"),
  owned("bob-api", "bob", "fns"),
  owned("bob-web", "bob", "fns"),
  { name: "system-github-event", image: "ofc/github-event:1" },
  { name: "system-pipeline-log", image: "ofc/pipeline-log:1", labels: null },
  { name: "system-dashboard", image: "ofc/dashboard:1", labels: { "openfaas-cloud": "1" } },
];

let gateway: Awaited<ReturnType<typeof startRecorder>>;
let fn: Awaited<ReturnType<typeof serveFunction>>;
const failing = new Set<string>();
let listAnswer: Answer = { status: 200, body: DEPLOYED };

beforeEach(async () => {
  failing.clear();
  listAnswer = { status: 200, body: DEPLOYED };
  gateway = await startRecorder((req) => {
    if (req.method === "GET" && req.path.startsWith("/system/functions")) return listAnswer;
    if (req.method === "DELETE" && req.path === "/system/functions") {
      const { functionName } = JSON.parse(req.body.toString()) as { functionName: string };
      return failing.has(functionName) ? { status: 500, body: "could not delete" } : { status: 200 };
    }
    return { status: 404 };
  });
  const client = createGateway({
    url: gateway.url,
    payloadSecret: SECRET,
    auth: { user: "admin", password: "pw" },
    http: axios.create(),
    log,
    sleep: () => Promise.resolve(),
  });
  fn = await serveFunction(createHandler({ payloadSecret: SECRET, gateway: client, log }));
});
afterEach(async () => {
  await fn.close();
  await gateway.close();
});

function collect(body: object | string, signature?: string) {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  return axios.post<unknown>(fn.url, Buffer.from(text), {
    headers: { "content-type": "application/json", "x-cloud-signature-256": signature ?? signPayload(SECRET, text) },
    validateStatus: () => true,
  });
}

/** The names the gateway was asked to delete. */
const deletes = (requests: RecordedRequest[]) =>
  requests
    .filter((r) => r.method === "DELETE")
    .map((r) => (JSON.parse(r.body.toString()) as { functionName: string }).functionName);

describe("garbage-collect", () => {
  it.each([
    ["one function left alice's fns stack", { functions: ["alice-api"], repo: "fns", owner: "alice" }, ["alice-web"]],
    ["alice's fns stack unchanged", { functions: ["alice-api", "alice-web"], repo: "fns", owner: "alice" }, []],
    ["alice uninstalled (*)", { functions: [], repo: "*", owner: "alice" }, ["alice-api", "alice-web", "alice-other"]],
    ["alice's repo other removed", { functions: [], repo: "other", owner: "alice" }, ["alice-other"]],
    ["bob's fns stack emptied", { functions: [], repo: "fns", owner: "bob" }, ["bob-api", "bob-web"]],
    ["bob keeps only bob-web", { functions: ["bob-web"], repo: "fns", owner: "bob" }, ["bob-api"]],
    ["mixed case in the request", { functions: ["ALICE-API"], repo: "FNS", owner: "Alice" }, ["alice-web"]],
    ["an owner with nothing deployed uninstalls", { functions: [], repo: "*", owner: "carol" }, []],
    [
      "a keep-list naming another owner's function",
      { functions: ["bob-api"], repo: "fns", owner: "alice" },
      ["alice-api", "alice-web"],
    ],
  ])("%s (%j) → 200, exactly the expected functions deleted", async (_, request, expected) => {
    const res = await collect(request);
    expect(res.status).toBe(200);
    expect(res.data).toEqual({
      owner: request.owner.toLowerCase(),
      repo: request.repo.toLowerCase(),
      deleted: expected,
      failed: [],
    });
    expect(deletes(gateway.requests)).toEqual(expected);
  });

  it("uninstall (*) → none of bob's and no system function is ever asked to be deleted", async () => {
    await collect({ functions: [], repo: "*", owner: "alice" });
    const asked = deletes(gateway.requests);
    expect(asked.filter((n) => n.startsWith("bob-") || n.startsWith("system-"))).toEqual([]);
  });

  it("labels written in GitHub's case by the original → still matched case-insensitively", async () => {
    listAnswer = { status: 200, body: [owned("alice-legacy", "Alice", "Fns"), ...DEPLOYED] };
    const res = await collect({ functions: ["alice-api", "alice-web"], repo: "fns", owner: "alice" });
    expect(res.data).toMatchObject({ deleted: ["alice-legacy"] });
  });

  it("a delete the gateway refuses (500) → reported in failed, the others still deleted, 200", async () => {
    failing.add("alice-web");
    const res = await collect({ functions: [], repo: "fns", owner: "alice" });
    expect(res.status).toBe(200);
    expect(res.data).toEqual({ owner: "alice", repo: "fns", deleted: ["alice-api"], failed: ["alice-web"] });
  });

  it("deletes go to DELETE /system/functions with basic auth", async () => {
    await collect({ functions: ["alice-api"], repo: "fns", owner: "alice" });
    const del = gateway.requests.find((r) => r.method === "DELETE")!;
    expect(del.path).toBe("/system/functions");
    expect(del.headers.authorization).toBe(`Basic ${Buffer.from("admin:pw").toString("base64")}`);
  });

  it("the gateway cannot list functions → 502, nothing deleted", async () => {
    listAnswer = { status: 500, body: "down" };
    const res = await collect({ functions: [], repo: "*", owner: "alice" });
    expect(res.status).toBe(502);
    expect(deletes(gateway.requests)).toEqual([]);
  });

  it.each([
    ["no signature", ""],
    ["a signature made with another secret", signPayload("other", "{}")],
  ])("%s → 401, the gateway is never called", async (_, signature) => {
    const res = await collect({ functions: [], repo: "*", owner: "alice" }, signature);
    expect([res.status, res.data]).toEqual([401, "invalid or missing X-Cloud-Signature-256"]);
    expect(gateway.requests).toEqual([]);
  });

  it.each([
    ["not JSON", "{", /^garbage-collect request: body is not valid JSON$/],
    ["no owner", { functions: [], repo: "*" }, /^garbage-collect request: owner: /],
    ["an empty repo", { functions: [], repo: "", owner: "alice" }, /^garbage-collect request: repo: /],
    ["functions not a list", { functions: "alice-api", repo: "fns", owner: "alice" }, /functions: /],
  ])("%s → 400 naming the field, the gateway is never called", async (_, body, message) => {
    const res = await collect(body);
    expect(res.status).toBe(400);
    expect(res.data).toMatch(message);
    expect(gateway.requests).toEqual([]);
  });
});

describe("garbage-collect configuration", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "ofc-secrets-"));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it("basic-auth secrets missing → a startup error naming them", async () => {
    await writeFile(join(dir, "payload-secret"), "p");
    expect(() => depsFromEnv({ secret_mount_path: dir })).toThrow(/secret basic-auth-user: unable to read/);
  });

  it("every secret present → deps built", async () => {
    for (const name of ["payload-secret", "basic-auth-user", "basic-auth-password"]) {
      await writeFile(join(dir, name), `${name}\n`);
    }
    expect(depsFromEnv({ secret_mount_path: dir, gateway_url: gateway.url }).payloadSecret).toBe("payload-secret");
  });
});
