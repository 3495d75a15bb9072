import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import axios from "axios";
import { pino } from "pino";
import { serveFunction } from "../../shared/function-server.js";
import type { FunctionStatus } from "../../shared/gateway.js";
import { createGateway } from "../../shared/gateway.js";
import { signHop } from "../../shared/hmac.js";
import { startRecorder, type Answer, type RecordedRequest } from "../../test/support/http-recorder.js";
import { createHandler, depsFromEnv } from "./handler.js";

const SECRET = "payload-secret-for-tests";
const log = pino({ level: "silent" });

const ALICE = 1001;
const BOB = 1002;
const owned = (name: string, owner: string, repo: string, ownerId: number | string): FunctionStatus => ({
  name,
  image: `127.0.0.1:5000/${owner}/${name}:latest-0123456`,
  labels: {
    "com.openfaas.cloud.git-owner": owner,
    "com.openfaas.cloud.git-owner-id": String(ownerId),
    "com.openfaas.cloud.git-repo": repo,
    faas_function: name,
  },
});

/**
 * Two owners with same-named repositories and functions; functions labelled with the login "alice" that are not this
 * alice's (another account's id, the original's id 0, no id at all); the system's own (unlabelled) functions.
 */
const DEPLOYED: FunctionStatus[] = [
  owned("alice--api", "alice", "fns", ALICE),
  owned("alice--web", "alice", "fns", ALICE),
  owned("alice--other", "alice", "other", ALICE),
  owned("bob--api", "bob", "fns", BOB),
  owned("bob--web", "bob", "fns", BOB),
  owned("alice--old", "alice", "fns", 3003),
  owned("alice-api", "alice", "fns", 0),
  { name: "alice-manual", image: "r/alice/manual:1", labels: { "com.openfaas.cloud.git-owner": "alice" } },
  { name: "system-github-event", image: "ofc/github-event:1" },
  { name: "github-event", image: "ofc/github-event:1", labels: { faas_function: "github-event" } },
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
    headers: {
      "content-type": "application/json",
      "x-cloud-signature-256": signature ?? signHop(SECRET, "garbage-collect", text),
    },
    validateStatus: () => true,
  });
}

/** The names the gateway was asked to delete. */
const deletes = (requests: RecordedRequest[]) =>
  requests
    .filter((r) => r.method === "DELETE")
    .map((r) => (JSON.parse(r.body.toString()) as { functionName: string }).functionName);

describe("garbage-collect", () => {
  const alice = (functions: string[], repo = "fns") => ({ functions, repo, owner: "alice", ownerId: ALICE });
  const bob = (functions: string[], repo = "fns") => ({ functions, repo, owner: "bob", ownerId: BOB });
  it.each([
    ["one function left alice's fns stack", alice(["alice--api"]), ["alice--web"]],
    ["alice's fns stack unchanged", alice(["alice--api", "alice--web"]), []],
    ["alice uninstalled (*)", alice([], "*"), ["alice--api", "alice--web", "alice--other"]],
    ["alice's repo other removed", alice([], "other"), ["alice--other"]],
    ["bob's fns stack emptied", bob([]), ["bob--api", "bob--web"]],
    ["bob keeps only bob--web", bob(["bob--web"]), ["bob--api"]],
    [
      "mixed case in the request",
      { functions: ["ALICE--API"], repo: "FNS", owner: "Alice", ownerId: ALICE },
      ["alice--web"],
    ],
    ["an owner with nothing deployed uninstalls", { functions: [], repo: "*", owner: "carol", ownerId: 1003 }, []],
    ["a keep-list naming another owner's function", alice(["bob--api"]), ["alice--api", "alice--web"]],
    [
      "the account now holding the login alice (id 3003) uninstalls",
      { functions: [], repo: "*", owner: "alice", ownerId: 3003 },
      ["alice--old"],
    ],
  ])("%s (%j) → 200, exactly the expected functions deleted", async (_, request, expected) => {
    const res = await collect(request);
    expect(res.status).toBe(200);
    expect(res.data).toEqual({
      owner: request.owner.toLowerCase(),
      ownerId: request.ownerId,
      repo: request.repo.toLowerCase(),
      deleted: expected,
      failed: [],
    });
    expect(deletes(gateway.requests)).toEqual(expected);
  });

  it("uninstall (*) → none of bob's and no system function is ever asked to be deleted", async () => {
    await collect(alice([], "*"));
    const asked = deletes(gateway.requests);
    expect(asked.filter((n) => n.startsWith("bob--") || n.includes("github-event") || n.startsWith("system-"))).toEqual(
      [],
    );
  });

  it("functions labelled with the login alice but another owner id, id 0 (the original's) or none → never deleted", async () => {
    const res = await collect(alice([], "*"));
    expect(res.data).toMatchObject({ deleted: ["alice--api", "alice--web", "alice--other"] });
    const asked = deletes(gateway.requests);
    for (const name of ["alice--old", "alice-api", "alice-manual"]) expect(asked).not.toContain(name);
  });

  it("repo labels written in GitHub's case by the original → still matched case-insensitively", async () => {
    listAnswer = { status: 200, body: [owned("alice--legacy", "Alice", "Fns", ALICE), ...DEPLOYED] };
    const res = await collect(alice(["alice--api", "alice--web"]));
    expect(res.data).toMatchObject({ deleted: ["alice--legacy"] });
  });

  it("a delete the gateway refuses (500) → reported in failed, the others still deleted, 200", async () => {
    failing.add("alice--web");
    const res = await collect(alice([]));
    expect(res.status).toBe(200);
    expect(res.data).toEqual({
      owner: "alice",
      ownerId: ALICE,
      repo: "fns",
      deleted: ["alice--api"],
      failed: ["alice--web"],
    });
  });

  it("deletes go to DELETE /system/functions with basic auth", async () => {
    await collect(alice(["alice--api"]));
    const del = gateway.requests.find((r) => r.method === "DELETE")!;
    expect(del.path).toBe("/system/functions");
    expect(del.headers.authorization).toBe(`Basic ${Buffer.from("admin:pw").toString("base64")}`);
  });

  it("the gateway cannot list functions → 502, nothing deleted", async () => {
    listAnswer = { status: 500, body: "down" };
    const res = await collect(alice([], "*"));
    expect(res.status).toBe(502);
    expect(deletes(gateway.requests)).toEqual([]);
  });

  // Issue #12: it is fed through the async queue, so a hop may wait there up to an hour (QUEUED_HOP_MAX_AGE_MS).
  it("a hop signed 59 minutes ago (it waited in the queue) → accepted", async () => {
    const body = JSON.stringify(alice(["alice--api"]));
    const res = await collect(body, signHop(SECRET, "garbage-collect", body, Date.now() - 59 * 60_000));
    expect(res.status).toBe(200);
  });

  const REQUEST = JSON.stringify({ functions: [], repo: "*", owner: "alice" });
  it.each([
    ["no signature", ""],
    ["a signature made with another secret", signHop("other", "garbage-collect", "{}")],
    ["the same body signed for another stage", signHop(SECRET, "buildshiprun", REQUEST)],
    ["a hop signed 61 minutes ago (replayed)", signHop(SECRET, "garbage-collect", REQUEST, Date.now() - 61 * 60_000)],
    ["the old unstamped signature", `sha256=${"0".repeat(64)}`],
  ])("%s → 401, the gateway is never called", async (_, signature) => {
    const res = await collect(JSON.parse(REQUEST) as object, signature);
    expect([res.status, res.data]).toEqual([
      401,
      "invalid, stale or missing X-Cloud-Signature-256 for garbage-collect",
    ]);
    expect(gateway.requests).toEqual([]);
  });

  it.each([
    ["not JSON", "{", /^garbage-collect request: body is not valid JSON$/],
    ["no owner", { functions: [], repo: "*", ownerId: ALICE }, /^garbage-collect request: owner: /],
    ["no owner id", { functions: [], repo: "*", owner: "alice" }, /^garbage-collect request: ownerId: /],
    [
      "owner id 0 (the original's label on every function)",
      { functions: [], repo: "*", owner: "alice", ownerId: 0 },
      /^garbage-collect request: ownerId: /,
    ],
    ["an empty repo", { functions: [], repo: "", owner: "alice", ownerId: ALICE }, /^garbage-collect request: repo: /],
    ["functions not a list", { functions: "alice--api", repo: "fns", owner: "alice", ownerId: ALICE }, /functions: /],
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
