// Requests of-builder refuses before any build starts (DESIGN §6). The docker backend points at a socket where no
// daemon listens: a request that got past a refusal would answer 500, not the 4xx asserted here. No root needed.
import { mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BuilderServer } from "./server.js";
import { postBuild, signedRawTar, startBuilder, type RawEntry } from "./test-support.js";

const SECRET = "of-builder-test-secret";
const MAX_BUILD_BYTES = 8 * 1024 * 1024;

let work: string;
let tmp: string;
let outside: string;
let main: { builder: BuilderServer; url: string };

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "ofb-refusals-"));
  tmp = join(work, "tmp");
  outside = join(work, "outside");
  await mkdir(tmp);
  await mkdir(outside);
  const socketPath = join(work, "no-dockerd.sock");
  main = await startBuilder({ socketPath, secret: SECRET, tmpDir: tmp, maxBuildBytes: MAX_BUILD_BYTES });
});

afterAll(async () => {
  await main?.builder.shutdown(1000);
  if (work) await rm(work, { recursive: true, force: true });
});

afterEach(async () => {
  // Every request's temp folder is gone, whatever happened (DESIGN §6).
  expect(await readdir(tmp)).toEqual([]);
});

describe("POST /build refusals", () => {
  const config = (): RawEntry => ({
    path: "com.openfaas.docker.config",
    body: JSON.stringify({ ref: "127.0.0.1:5000/evil/x:1" }),
  });
  const context: RawEntry[] = [
    { path: "context/", type: "Directory" },
    { path: "context/Dockerfile", body: "FROM scratch\n" },
  ];

  it.each([
    ["missing", undefined],
    ["over other bytes", "sha256=" + "0".repeat(64)],
    ["SHA-1 style", "sha1=0000"],
  ])("signature %s → 401 and nothing built", async (_, signature) => {
    const request = signedRawTar(SECRET, [config(), ...context]);
    const res = await fetch(`${main.url}/build`, {
      method: "POST",
      body: request.body,
      headers: signature ? { "X-Cloud-Signature-256": signature } : {},
    });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ status: "failure", error: "invalid message digest or secret" });
  });

  it.each([
    ["path traversal ../x", [{ path: "../x", body: "pwned" }], /"\.\."/],
    ["path traversal context/../../x", [{ path: "context/../../x", body: "pwned" }], /"\.\."/],
    [
      "symlink escape (absolute)",
      [
        { path: "context/out", type: "SymbolicLink", linkpath: "OUTSIDE" },
        { path: "context/out/pwned", body: "x" },
      ],
      /symlink/,
    ],
    [
      "symlink escape (relative)",
      [
        { path: "context/up", type: "SymbolicLink", linkpath: "../../../outside" },
        { path: "context/up/pwned", body: "x" },
      ],
      /symlink/,
    ],
    [
      "10,001 files",
      Array.from({ length: 10_000 }, (_, i) => ({ path: `context/f${i}`, body: "" })),
      /more than 10000 entries/,
    ],
    ["1 GB declared-size entry", [{ path: "context/big", size: 1024 ** 3 }], /declares more than 8388608 bytes/],
  ] as [string, RawEntry[], RegExp][])(
    "%s → 400 with the reason, nothing written outside",
    async (_, entries, reason) => {
      const hostile = entries.map((e) => (e.linkpath === "OUTSIDE" ? { ...e, linkpath: outside } : e));
      const res = await postBuild(main.url, signedRawTar(SECRET, [config(), ...context, ...hostile]));
      const answer = (await res.json()) as { status: string; error: string };
      expect(res.status).toBe(400);
      expect(answer.status).toBe("failure");
      expect(answer.error).toMatch(reason);
      expect(await readdir(outside)).toEqual([]);
      expect((await readdir(work)).sort()).toEqual(["outside", "tmp"]);
    },
  );

  it("a body over max_build_mb (with Content-Length) → 413", async () => {
    const body = Buffer.alloc(MAX_BUILD_BYTES + 1);
    const res = await postBuild(main.url, { body, signature: "sha256=" + "0".repeat(64) });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: string }).error).toMatch(/max_build_mb/);
  });

  it("a chunked body that grows past max_build_mb → 413", async () => {
    const chunk = new Uint8Array(1024 * 1024);
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 64) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const res = await fetch(`${main.url}/build`, {
      method: "POST",
      body: stream,
      duplex: "half",
      headers: { "X-Cloud-Signature-256": "sha256=" + "0".repeat(64) },
    });
    expect(res.status).toBe(413);
  });
});

describe("GET /healthz", () => {
  it.each([
    ["GET", 200, "OK"],
    ["POST", 405, ""],
    ["PUT", 405, ""],
  ])("%s → %i %j", async (method, status, text) => {
    const res = await fetch(`${main.url}/healthz`, { method });
    expect(res.status).toBe(status);
    expect(await res.text()).toBe(text);
  });
});

describe("GET /healthz", () => {
  it.each([
    ["GET", 200, "OK"],
    ["POST", 405, ""],
    ["PUT", 405, ""],
  ])("%s → %i %j", async (method, status, text) => {
    const res = await fetch(`${main.url}/healthz`, { method });
    expect(res.status).toBe(status);
    expect(await res.text()).toBe(text);
  });

  it("another path → 404; GET /build → 405", async () => {
    expect((await fetch(`${main.url}/nope`)).status).toBe(404);
    expect((await fetch(`${main.url}/build`)).status).toBe(405);
  });
});
