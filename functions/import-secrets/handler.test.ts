// import-secrets (issue #15) over the local provider's real secret store (behind a small /system/secrets front), a
// real S3 (s3rver) for the ownership records, real sealing keys and really signed hops.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import axios from "axios";
import { pino } from "pino";
import { createSecretStore, parseSecret, type SecretStore } from "../../local/provider/secrets.js";
import { startS3Server } from "../../local/services/s3.js";
import { serveFunction, type FunctionServer } from "../../shared/function-server.js";
import { createGateway } from "../../shared/gateway.js";
import { signHop } from "../../shared/hmac.js";
import { isHttpError } from "../../shared/http-error.js";
import { createSealingKey, publicKeyOfCertificate } from "../../shared/sealed-secrets/certificate.js";
import { sealSecret } from "../../shared/sealed-secrets/sealed-secret.js";
import { upsertSecretsFile } from "../../shared/sealed-secrets/secrets-file.js";
import { parseSealingKeys } from "../../shared/sealed-secrets/sealing-keys.js";
import { sealingTarget } from "../../shared/sealed-secrets/tenant.js";
import { startRecorder } from "../../test/support/http-recorder.js";
import { createHandler } from "./handler.js";
import { createSecretRecords } from "./records.js";

const SECRET = "payload-secret-for-import-secrets";
const NOW = new Date();
const oldPair = createSealingKey(NOW, 2048);
const newPair = createSealingKey(NOW, 2048);
const keys = parseSealingKeys(
  oldPair.privateKeyPem + oldPair.certificatePem + newPair.privateKeyPem + newPair.certificatePem,
);
const newKey = publicKeyOfCertificate(newPair.certificatePem, NOW);
const oldKey = publicKeyOfCertificate(oldPair.certificatePem, NOW);
const ALICE = { owner: "alice", ownerId: 1001, repo: "fns" };

let dir: string;
let store: SecretStore;
let gateway: Awaited<ReturnType<typeof startRecorder>>;
let s3: Awaited<ReturnType<typeof startS3Server>>;
let fn: FunctionServer;
let logged: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "import-secrets-"));
  store = createSecretStore({ dir });
  logged = "";
  // The provider's secrets API as the local gateway serves it, over the real store.
  gateway = await startRecorder((req) => {
    if (!req.path.startsWith("/system/secrets")) return { status: 404 };
    try {
      if (req.method === "GET") return { status: 200, body: store.list().map((name) => ({ name })) };
      const { name, value } =
        req.method === "DELETE"
          ? { name: (JSON.parse(req.body.toString()) as { name: string }).name, value: Buffer.alloc(0) }
          : parseSecret(req.body);
      if (req.method === "POST") store.create(name, value);
      else if (req.method === "PUT") store.replace(name, value);
      else store.remove(name);
      return { status: req.method === "POST" ? 201 : 200 };
    } catch (error) {
      return { status: isHttpError(error) ? error.status : 500, body: (error as Error).message };
    }
  });
  s3 = await startS3Server();
  const log = pino(
    { level: "debug" },
    new Writable({ write: (chunk: Buffer, _, done) => void ((logged += chunk.toString()), done()) }),
  );
  const client = createGateway({
    url: gateway.url,
    payloadSecret: SECRET,
    http: axios.create(),
    log,
    sleep: () => Promise.resolve(),
  });
  const records = createSecretRecords({ ...s3, useSSL: false, region: "us-east-1", bucket: "pipeline", log });
  fn = await serveFunction(createHandler({ payloadSecret: SECRET, ...keys, gateway: client, records, log }), {
    maxBodyBytes: 2 * 1024 * 1024,
  });
});
afterEach(async () => {
  await fn.close(0);
  await gateway.close();
  await s3.close();
  await rm(dir, { recursive: true, force: true });
});

function post(body: object, signature = signHop(SECRET, "import-secrets", JSON.stringify(body))) {
  return axios.post(fn.url, JSON.stringify(body), {
    headers: { "content-type": "application/json", "x-cloud-signature-256": signature },
    validateStatus: () => true,
  });
}
const fileOf = (...secrets: ReturnType<typeof sealSecret>[]) =>
  secrets.reduce<string | undefined>((text, s) => upsertSecretsFile(text, s), undefined)!;
const sealed = (owner: string, name: string, value: string, key = newKey) =>
  sealSecret(key, sealingTarget(owner, name), { [name]: Buffer.from(value) });
const value = (name: string) => readFile(join(dir, name), "utf8");

describe("import-secrets", () => {
  it("GET → the newest certificate (public, unsigned)", async () => {
    const res = await axios.get(`${fn.url}/sealed-secrets-cert`);
    expect(res.data).toBe(newPair.certificatePem);
    expect(res.headers["content-type"]).toBe("application/x-pem-file");
  });

  it("an unsigned POST → 401, nothing read", async () => {
    const res = await post({ action: "import", ...ALICE, file: "" }, "t=1,sha256=00");
    expect(res.status).toBe(401);
  });

  it("alice's secrets sealed with the old and the new key → created, then a re-seal updates the value", async () => {
    const file = fileOf(sealed("alice", "api-key", "hunter2", oldKey), sealed("alice", "db", "pa55"));
    const first = await post({ action: "import", ...ALICE, file });
    expect({ status: first.status, data: first.data }).toEqual({
      status: 200,
      data: { imported: ["alice--api-key", "alice--db"] },
    });
    expect(await value("alice--api-key")).toBe("hunter2");
    const again = await post({ action: "import", ...ALICE, file: fileOf(sealed("alice", "api-key", "rotated")) });
    expect(again.status).toBe(200);
    expect(await value("alice--api-key")).toBe("rotated");
    expect(logged).toContain("secrets imported");
    for (const plaintext of ["hunter2", "pa55", "rotated"]) expect(logged).not.toContain(plaintext);
  });

  it.each([
    [
      "bob's secret",
      () => fileOf(sealed("alice", "ok", "v1"), sealed("bob", "api-key", "v2")),
      /^secret bob--api-key does not belong to alice/,
    ],
    [
      "bob's strict secret renamed to alice's",
      () => fileOf(sealed("alice", "ok", "v1"), { ...sealed("bob", "api-key", "v2"), name: "alice--api-key" }),
      /^secret alice--api-key: value "api-key" does not open with the cloud's keys/,
    ],
    [
      "a tampered value",
      () => {
        const s = sealed("alice", "api-key", "v2");
        const bytes = Buffer.from(s.encryptedData["api-key"]!, "base64");
        bytes[bytes.length - 1]! ^= 1;
        return fileOf(sealed("alice", "ok", "v1"), { ...s, encryptedData: { "api-key": bytes.toString("base64") } });
      },
      /^secret alice--api-key: value "api-key" does not open/,
    ],
    [
      "a namespace-wide secret",
      () =>
        fileOf(
          sealSecret(newKey, { ...sealingTarget("alice", "x"), scope: "namespace-wide" }, { x: Buffer.from("v") }),
        ),
      /^secret alice--x is sealed namespace-wide: only strict scope/,
    ],
    ["malformed YAML", () => "apiVersion: [\n", /^secrets.yml document 1: line 2/],
    ["an unknown kind", () => "apiVersion: v1\nkind: Secret\n", /^secrets.yml document 1: apiVersion/],
  ])("%s → 400 naming the secret and the reason; nothing created", async (_, file, message) => {
    const res = await post({ action: "import", ...ALICE, file: file() });
    expect(res.status).toBe(400);
    expect(res.data).toMatch(message);
    expect(store.list()).toEqual([]);
  });

  it("a secret another repo of alice imported, or one the operator made → 400 naming the holder", async () => {
    expect(
      (await post({ action: "import", ...ALICE, repo: "other", file: fileOf(sealed("alice", "db", "x")) })).status,
    ).toBe(200);
    store.create("alice--manual", Buffer.from("operator's"));
    const fromFns = await post({ action: "import", ...ALICE, file: fileOf(sealed("alice", "db", "y")) });
    expect(fromFns.data).toBe("secret alice--db belongs to alice/other: not imported");
    const manual = await post({ action: "import", ...ALICE, file: fileOf(sealed("alice", "manual", "y")) });
    expect(manual.data).toBe("secret alice--manual was made by the operator: not imported");
    expect(await value("alice--db")).toBe("x");
    expect(await value("alice--manual")).toBe("operator's");
  });

  it("prune → removes only this repo's secrets the file no longer lists", async () => {
    await post({ action: "import", ...ALICE, file: fileOf(sealed("alice", "a", "1"), sealed("alice", "b", "2")) });
    await post({ action: "import", ...ALICE, repo: "other", file: fileOf(sealed("alice", "c", "3")) });
    await post({ action: "import", owner: "bob", ownerId: 1002, repo: "fns", file: fileOf(sealed("bob", "a", "4")) });
    store.create("alice--manual", Buffer.from("operator's"));
    const res = await post({ action: "prune", ...ALICE, keep: ["alice--b"] });
    expect(res.data).toEqual({ removed: ["alice--a"], failed: [] });
    expect(store.list()).toEqual(["alice--b", "alice--c", "alice--manual", "bob--a"]);
    // The record went with it: alice's other repo may now take the name.
    expect(
      (await post({ action: "import", ...ALICE, repo: "other", file: fileOf(sealed("alice", "a", "5")) })).status,
    ).toBe(200);
  });

  it("a name held by another account with the same login (a re-used login) → 400 naming its owner id; prune leaves it", async () => {
    expect((await post({ action: "import", ...ALICE, file: fileOf(sealed("alice", "db", "x")) })).status).toBe(200);
    const reused = { ...ALICE, ownerId: 2002 };
    const res = await post({ action: "import", ...reused, file: fileOf(sealed("alice", "db", "y")) });
    expect([res.status, res.data]).toEqual([
      400,
      "secret alice--db belongs to another account (owner id 1001): not imported",
    ]);
    const pruned = await post({ action: "prune", ...reused, keep: [] });
    expect(pruned.data).toEqual({ removed: [], failed: [] });
    expect(await value("alice--db")).toBe("x");
  });

  it("the same secret twice in one file → 400, nothing created", async () => {
    const once = fileOf(sealed("alice", "db", "x"));
    const res = await post({ action: "import", ...ALICE, file: `${once}---\n${once}` });
    expect([res.status, res.data]).toEqual([400, "secret alice--db is in secrets.yml twice"]);
    expect(store.list()).toEqual([]);
  });

  it("an owner and repo in another case (Alice/FNS) → the lower-case names and record", async () => {
    const upper = { owner: "Alice", ownerId: 1001, repo: "FNS" };
    expect((await post({ action: "import", ...upper, file: fileOf(sealed("alice", "db", "x")) })).data).toEqual({
      imported: ["alice--db"],
    });
    // The record says alice/fns: the same repo in lower case may import again, and prune it.
    expect((await post({ action: "import", ...ALICE, file: fileOf(sealed("alice", "db", "y")) })).status).toBe(200);
    expect((await post({ action: "prune", ...upper, keep: [] })).data).toEqual({ removed: ["alice--db"], failed: [] });
  });

  it("prune: a secret the gateway fails to remove → failed, the others still removed, its record kept", async () => {
    await post({ action: "import", ...ALICE, file: fileOf(sealed("alice", "a", "1"), sealed("alice", "b", "2")) });
    const real = store;
    store = {
      ...real,
      remove: (name) => {
        if (name === "alice--a") throw new Error("disk full");
        real.remove(name);
      },
    };
    const res = await post({ action: "prune", ...ALICE, keep: [] });
    expect(res.data).toEqual({ removed: ["alice--b"], failed: ["alice--a"] });
    expect(logged).toContain("unable to remove secret");
    store = real;
    // Its record is still there, so the next push retries it.
    expect((await post({ action: "prune", ...ALICE, keep: [] })).data).toEqual({ removed: ["alice--a"], failed: [] });
  });

  it("a hop that waited 59 minutes in the queue → accepted (queued hops get an hour, not five minutes)", async () => {
    const body = { action: "import", ...ALICE, file: fileOf(sealed("alice", "db", "x")) };
    const late = signHop(SECRET, "import-secrets", JSON.stringify(body), Date.now() - 59 * 60_000);
    expect((await post(body, late)).status).toBe(200);
    const stale = signHop(SECRET, "import-secrets", JSON.stringify(body), Date.now() - 61 * 60_000);
    expect((await post(body, stale)).status).toBe(401);
  });

  it("a request of the wrong shape → 400 naming the import-secrets request and the field", async () => {
    const res = await post({ action: "import", ...ALICE, ownerId: -1, file: "" });
    expect([res.status, res.data]).toEqual([400, expect.stringMatching(/^import-secrets request: ownerId: /)]);
  });
});
