// import-secrets' ownership records (issue #15) against a real S3 (s3rver, as the local stack runs it): one object
// per secret under `_secrets/`, read back, listed per login and removed.
import { text } from "node:stream/consumers";
import { pino } from "pino";
import { createSecretRecords, type SecretRecord } from "../functions/import-secrets/records.js";
import { startS3Server } from "../local/services/s3.js";
import { createS3Bucket } from "../shared/s3-bucket.js";

let s3: Awaited<ReturnType<typeof startS3Server>>;
beforeEach(async () => {
  s3 = await startS3Server();
});
afterEach(() => s3.close());

const deps = () => ({
  ...s3,
  useSSL: false,
  region: "us-east-1",
  bucket: "pipeline",
  log: pino({ level: "silent" }),
  sleep: () => Promise.resolve(),
});
const record = (name: string, repo = "fns"): SecretRecord => ({ name, owner: "alice", ownerId: 1001, repo });

describe("createSecretRecords", () => {
  it("before any write (no bucket yet) → get undefined, listForLogin [], remove does nothing", async () => {
    const records = createSecretRecords(deps());
    expect(await records.get("alice--db")).toBeUndefined();
    expect(await records.listForLogin("alice")).toEqual([]);
    await expect(records.remove("alice--db")).resolves.toBeUndefined();
  });

  it("put → the record back from get, stored as JSON at _secrets/<name>.json", async () => {
    const records = createSecretRecords(deps());
    await records.put(record("alice--db"));
    expect(await records.get("alice--db")).toEqual(record("alice--db"));
    expect(await records.get("alice--other")).toBeUndefined();
    const bucket = createS3Bucket(deps());
    const stat = await bucket.client.statObject("pipeline", "_secrets/alice--db.json");
    expect(stat.metaData["content-type"]).toBe("application/json");
    expect(JSON.parse(await text(await bucket.client.getObject("pipeline", "_secrets/alice--db.json")))).toEqual(
      record("alice--db"),
    );
  });

  it("remove → gone, and removing it again is no error", async () => {
    const records = createSecretRecords(deps());
    await records.put(record("alice--db"));
    await records.remove("alice--db");
    expect(await records.get("alice--db")).toBeUndefined();
    await expect(records.remove("alice--db")).resolves.toBeUndefined();
  });

  it("listForLogin → the records named <login>-- only, whatever the login's case", async () => {
    const records = createSecretRecords(deps());
    for (const name of ["alice--a", "alice--b", "alicex--c", "bob--alice--d"]) await records.put(record(name));
    const names = async (login: string) => (await records.listForLogin(login)).map((r) => r.name).sort();
    expect(await names("Alice")).toEqual(["alice--a", "alice--b"]);
    expect(await names("bob")).toEqual(["bob--alice--d"]);
  });

  it("a name that is no secret name (../x, upper case) → refused before any request", async () => {
    const records = createSecretRecords(deps());
    // get may throw before it returns a promise: either way, no request is made.
    await expect(Promise.resolve().then(() => records.get("../x"))).rejects.toThrow(/must match pattern/);
    await expect(records.put(record("Alice--DB"))).rejects.toThrow(/must match pattern/);
    expect(await records.listForLogin("alice")).toEqual([]);
  });

  it("listForLogin past one page (1,001 of alice's among others') → every one of alice's, no other", async () => {
    const bucket = createS3Bucket(deps());
    await bucket.ready();
    const names = [
      ...Array.from({ length: 1001 }, (_, i) => `alice--s${String(i).padStart(4, "0")}`),
      "alic--x",
      "alicf--y",
      "bob--z",
    ];
    for (let i = 0; i < names.length; i += 50) {
      await Promise.all(
        names.slice(i, i + 50).map((name) => {
          const body = Buffer.from(JSON.stringify(record(name)));
          return bucket.client.putObject("pipeline", `_secrets/${name}.json`, body, body.length);
        }),
      );
    }
    const listed = (await createSecretRecords(deps()).listForLogin("alice")).map((r) => r.name);
    expect(listed).toHaveLength(1001);
    expect(new Set(listed)).toEqual(new Set(names.slice(0, 1001)));
  }, 120_000);

  it("S3 refusing the request (a wrong secret key: 403) → get, remove and listForLogin throw, never 'none'", async () => {
    await createSecretRecords(deps()).put(record("alice--db"));
    const refused = createSecretRecords({ ...deps(), secretKey: "not-the-key" });
    await expect(refused.get("alice--db")).rejects.toThrow(/signature/i);
    await expect(refused.remove("alice--db")).rejects.toThrow(/signature/i);
    await expect(refused.listForLogin("alice")).rejects.toThrow(/signature/i);
    // The record is still there: a refused remove removed nothing.
    expect(await createSecretRecords(deps()).get("alice--db")).toEqual(record("alice--db"));
  });

  it("a stored record that is not a record (owner id 0) → get throws, not undefined", async () => {
    const bucket = createS3Bucket(deps());
    await bucket.ready();
    const bad = Buffer.from(JSON.stringify({ ...record("alice--db"), ownerId: 0 }));
    await bucket.client.putObject("pipeline", "_secrets/alice--db.json", bad, bad.length);
    await expect(createSecretRecords(deps()).get("alice--db")).rejects.toThrow();
  });
});
