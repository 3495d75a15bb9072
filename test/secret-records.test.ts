// import-secrets' ownership records (issue #15) against a real S3 (s3rver, as the local stack runs it): one object
// per secret under `_secrets/`, read back, listed per login and removed.
import { text } from "node:stream/consumers";
import { pino } from "pino";
import { createSecretRecords, type SecretRecord } from "../functions/import-secrets/records.js";
import { startS3Server } from "../local/services/s3.js";
import { createS3Bucket } from "../shared/s3-bucket.js";
import { startS3Proxy, type S3ProxyHooks } from "./support/s3-proxy.js";

let s3: Awaited<ReturnType<typeof startS3Server>>;
const proxies: { close(): Promise<void> }[] = [];
beforeEach(async () => {
  s3 = await startS3Server();
});
afterEach(async () => {
  await Promise.all(proxies.splice(0).map((p) => p.close()));
  await s3.close();
});

const deps = () => ({
  ...s3,
  useSSL: false,
  region: "us-east-1",
  bucket: "pipeline",
  log: pino({ level: "silent" }),
  sleep: () => Promise.resolve(),
});
const record = (name: string, repo = "fns"): SecretRecord => ({ name, owner: "alice", ownerId: 1001, repo });

/** A proxy in front of this test's S3 server, closed after the test; `lists` and `reads` sort its requests. */
async function proxyS3(hooks: S3ProxyHooks = {}) {
  const proxy = await startS3Proxy(s3.endpoint, hooks);
  proxies.push(proxy);
  return {
    ...proxy,
    /** The listings (`GET /pipeline?…prefix=…`). */
    lists: () => proxy.requests.filter((r) => r.startsWith("GET /pipeline?")),
    /** The keys of the single objects read. */
    reads: () =>
      proxy.requests.filter((r) => r.startsWith("GET /pipeline/")).map((r) => r.slice("GET /pipeline/".length)),
  };
}

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
    const proxy = await proxyS3();
    const listed = (await createSecretRecords({ ...deps(), endpoint: proxy.endpoint }).listForLogin("alice")).map(
      (r) => r.name,
    );
    expect(listed).toHaveLength(1001);
    expect(new Set(listed)).toEqual(new Set(names.slice(0, 1001)));
    // S3 pages hold 1,000 keys: two list requests, and no third for an empty page after the last.
    expect(proxy.lists()).toHaveLength(2);
  }, 120_000);

  it("listForLogin of two records → one list request and one read per record, nothing more", async () => {
    const records = createSecretRecords(deps());
    for (const name of ["alice--a", "alice--b", "bob--c"]) await records.put(record(name));
    const proxy = await proxyS3();
    const listed = await createSecretRecords({ ...deps(), endpoint: proxy.endpoint }).listForLogin("alice");
    expect(listed.map((r) => r.name).sort()).toEqual(["alice--a", "alice--b"]);
    expect(proxy.lists()).toHaveLength(1);
    expect(proxy.reads().sort()).toEqual(["_secrets/alice--a.json", "_secrets/alice--b.json"]);
    expect(proxy.requests).toHaveLength(3);
  });

  it("a record removed between the listing and its read (a concurrent prune) → left out, never listed as undefined", async () => {
    const records = createSecretRecords(deps());
    for (const name of ["alice--a", "alice--b"]) await records.put(record(name));
    const direct = createS3Bucket(deps());
    const proxy = await proxyS3({
      // The record goes just before its read reaches S3: the listing named it, the read finds NoSuchKey.
      before: async (method, url) => {
        if (method === "GET" && url === "/pipeline/_secrets/alice--b.json") {
          await direct.client.removeObject("pipeline", "_secrets/alice--b.json");
        }
        return undefined;
      },
    });
    const listed = await createSecretRecords({ ...deps(), endpoint: proxy.endpoint }).listForLogin("alice");
    // toStrictEqual: toEqual would take [record, undefined] for [record].
    expect(listed).toStrictEqual([record("alice--a")]);
    expect(proxy.reads()).toContain("_secrets/alice--b.json");
  });

  it("an S3 answering 'truncated' with no keys → the listing ends after that request instead of asking again", async () => {
    await createSecretRecords(deps()).put(record("alice--a"));
    let odd = 0;
    const proxy = await proxyS3({
      // The first three listings come back as an empty page that says more follow; any later one is S3's own answer.
      answer: (method, url, body) =>
        url.startsWith("/pipeline?") && ++odd <= 3
          ? body
              .replace(/<IsTruncated>false<\/IsTruncated>/, "<IsTruncated>true</IsTruncated>")
              .replace(/<Contents>.*?<\/Contents>/gs, "")
          : body,
    });
    expect(await createSecretRecords({ ...deps(), endpoint: proxy.endpoint }).listForLogin("alice")).toEqual([]);
    expect(proxy.lists()).toHaveLength(1);
  });

  it("an S3 listing a key outside the login's prefix → that key is neither read nor returned", async () => {
    const records = createSecretRecords(deps());
    for (const name of ["alice--a", "bob--x"]) await records.put(record(name));
    const proxy = await proxyS3({
      // As if S3 ignored the prefix: bob's record appears in alice's listing.
      answer: (method, url, body) =>
        url.startsWith("/pipeline?")
          ? body.replace(
              /<Contents>.*?<\/Contents>/s,
              (entry) => entry + entry.replace(/<Key>[^<]*<\/Key>/, "<Key>_secrets/bob--x.json</Key>"),
            )
          : body,
    });
    const listed = await createSecretRecords({ ...deps(), endpoint: proxy.endpoint }).listForLogin("alice");
    expect(listed).toEqual([record("alice--a")]);
    expect(proxy.reads()).toEqual(["_secrets/alice--a.json"]);
  });

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
