// The local S3 takes only its own random key pair (issue #10); real s3rver behind the front door, the minio client.
import { Client, S3Error } from "minio";
import { startS3Server } from "./s3.js";

let s3: Awaited<ReturnType<typeof startS3Server>>;
beforeAll(async () => {
  s3 = await startS3Server();
  await client(s3).makeBucket("pipeline");
  await client(s3).putObject("pipeline", "alice/repo/log", "alice's build log");
});
afterAll(() => s3.close());

function client(keys: { accessKey: string; secretKey: string }) {
  const [host, port] = s3.endpoint.split(":");
  return new Client({ endPoint: host!, port: Number(port), useSSL: false, region: "us-east-1", ...keys });
}

/** The S3 error code of a refused call (minio's S3Error), or "ok". */
async function outcome(call: Promise<unknown>): Promise<string> {
  try {
    await call;
    return "ok";
  } catch (error) {
    if (error instanceof S3Error) return `${(error as S3Error & { code: string }).code}`;
    throw error;
  }
}

describe("local S3 (s3rver behind a Signature V4 check)", () => {
  it("generated keys → random per server, never s3rver's S3RVER/S3RVER", async () => {
    const other = await startS3Server();
    await other.close();
    expect([s3.accessKey, s3.secretKey]).not.toContain("S3RVER");
    expect(other.accessKey).not.toBe(s3.accessKey);
    expect(other.secretKey).not.toBe(s3.secretKey);
  });

  it("the minio client with the server's keys → list buckets, get, put, list objects work", async () => {
    const ok = client(s3);
    expect((await ok.listBuckets()).map((b) => b.name)).toEqual(["pipeline"]);
    const body = await ok.getObject("pipeline", "alice/repo/log");
    expect(Buffer.concat(await body.toArray()).toString()).toBe("alice's build log");
    await ok.putObject("pipeline", "alice/repo/other", "x");
    const names: string[] = [];
    for await (const item of ok.listObjectsV2("pipeline", "alice/", true)) names.push((item as { name: string }).name);
    expect(names.sort()).toEqual(["alice/repo/log", "alice/repo/other"]);
  });

  it("reads racing rewrites of one object → each read gets one whole version, as from S3 (never a cut-off body)", async () => {
    const ok = client(s3);
    const versions = ["a".repeat(5000), "b".repeat(100), "c".repeat(20000)];
    await ok.putObject("pipeline", "race/record", versions[0]!);
    const reads: Array<Promise<string>> = [];
    const writes: Array<Promise<unknown>> = [];
    for (let i = 0; i < 30; i++) {
      writes.push(ok.putObject("pipeline", "race/record", versions[i % 3]!));
      reads.push(
        ok.getObject("pipeline", "race/record").then(async (body) => Buffer.concat(await body.toArray()).toString()),
      );
    }
    await Promise.all(writes);
    for (const read of await Promise.all(reads)) expect(versions).toContain(read);
  });

  it.each([
    ["s3rver's built-in S3RVER/S3RVER", "InvalidAccessKeyId", () => ({ accessKey: "S3RVER", secretKey: "S3RVER" })],
    [
      "the right access key with a wrong secret",
      "SignatureDoesNotMatch",
      () => ({ accessKey: s3.accessKey, secretKey: "wrong" }),
    ],
  ])("the minio client with %s → %s (403) on list, get and put; nothing written", async (_, code, keys) => {
    const bad = client(keys());
    expect(await outcome(bad.listBuckets())).toBe(code);
    expect(await outcome(bad.getObject("pipeline", "alice/repo/log"))).toBe(code);
    expect(await outcome(bad.putObject("pipeline", "mallory/x", "overwritten"))).toBe(code);
    expect(await outcome(client(s3).statObject("pipeline", "mallory/x"))).toBe("NotFound");
  });

  it.each([
    ["GET", "/"],
    ["GET", "/pipeline/alice/repo/log"],
    ["PUT", "/pipeline/alice/repo/log"],
    ["DELETE", "/pipeline/alice/repo/log"],
  ])("unsigned %s %s → 403 AccessDenied XML, the log unchanged", async (method, path) => {
    const res = await fetch(`http://${s3.endpoint}${path}`, { method, ...(method === "PUT" ? { body: "x" } : {}) });
    expect(res.status).toBe(403);
    expect(await res.text()).toContain("<Code>AccessDenied</Code>");
    const body = await client(s3).getObject("pipeline", "alice/repo/log");
    expect(Buffer.concat(await body.toArray()).toString()).toBe("alice's build log");
  });
});
