// Requests of-builder refuses before any build starts (DESIGN §6). The docker backend points at a socket where no
// daemon listens: a request that got past a refusal would answer 500, not the 4xx asserted here. No root needed.
import { mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BuilderServer } from "./server.js";
import { signHop, signPayload } from "../shared/hmac.js";
import { countBytesRead, upload } from "../test/support/oversized-upload.js";
import { postBuild, signedRawTar, startBuilder, trickleUpload, type RawEntry } from "./test-support.js";

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

const config = (): RawEntry => ({
  path: "com.openfaas.docker.config",
  body: JSON.stringify({ ref: "127.0.0.1:5000/evil/x:1" }),
});
const context: RawEntry[] = [
  { path: "context/", type: "Directory" },
  { path: "context/Dockerfile", body: "FROM scratch\n" },
];

describe("POST /build refusals", () => {
  const tenMinutesAgo = Date.now() - 10 * 60_000;
  it.each([
    ["missing", () => undefined],
    ["without a timestamp (the old form)", (body: Buffer) => signPayload(SECRET, body)],
    ["SHA-1 style", () => "sha1=0000"],
    ["over other bytes", () => signHop(SECRET, "of-builder", "other bytes")],
    ["for another target (re-targeted hop)", (body: Buffer) => signHop(SECRET, "buildshiprun", body)],
    ["10 minutes old (replayed)", (body: Buffer) => signHop(SECRET, "of-builder", body, tenMinutesAgo)],
    ["with another secret", (body: Buffer) => signHop("not-the-secret", "of-builder", body)],
  ])("signature %s → 401 and nothing built", async (_, sign) => {
    const request = signedRawTar(SECRET, [config(), ...context]);
    const signature = sign(request.body);
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

  it.each([
    ["FROM another tenant's image", "FROM 127.0.0.1:5000/bob/api--fn:latest-1234567\n"],
    ["COPY --from another tenant's image", "FROM scratch\nCOPY --from=127.0.0.1:5000/bob/api--fn:1 /home/app /x\n"],
  ])("a Dockerfile with %s (issue #10) → 400 naming it, no build started", async (_, dockerfile) => {
    const entries: RawEntry[] = [
      config(),
      { path: "context/", type: "Directory" },
      { path: "context/Dockerfile", body: dockerfile },
    ];
    const res = await postBuild(main.url, signedRawTar(SECRET, entries));
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toMatch(
      /"127\.0\.0\.1:5000\/bob\/api--fn:[^"]+" is another repository in the build registry/,
    );
    expect((await readdir(work)).sort()).toEqual(["outside", "tmp"]);
  });

  // A fresh, well-formed header over other bytes: it passes the header check, so the body is read (and capped).
  const plausible = () => signHop(SECRET, "of-builder", "not this body");

  it("a body over max_build_mb (with Content-Length) → 413", async () => {
    const body = Buffer.alloc(MAX_BUILD_BYTES + 1);
    const res = await postBuild(main.url, { body, signature: plausible() });
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
      headers: { "X-Cloud-Signature-256": plausible() },
    });
    expect(res.status).toBe(413);
  });
});

// Issue #10: the signature is checked before a request takes a build slot, and a header that cannot be a fresh hop
// for of-builder is refused before any of the body is read (the server's socket byte count shows it).
describe("POST /build: signature before slot", () => {
  const MiB = 1024 * 1024;
  const big = { bytes: 60 * MiB, headers: { "content-type": "application/x-tar" } };

  it.each([
    ["no signature, Content-Length", {}, false],
    ["no signature, chunked", {}, true],
    ["a 10-minute-old signature, Content-Length", { stale: true }, false],
  ])("a 60 MB body with %s → 401 before the body is read", async (_, how, chunked) => {
    const headers: Record<string, string> = { ...big.headers };
    if ("stale" in how) headers["x-cloud-signature-256"] = signHop(SECRET, "of-builder", "x", Date.now() - 600_000);
    const bytesRead = countBytesRead(main.builder.server);
    const outcome = await upload(`${main.url}/build`, { ...big, headers, chunked });
    expect(outcome).toMatchObject({ status: 401 });
    expect(JSON.parse((outcome as { body: string }).body)).toEqual({
      status: "failure",
      error: "invalid message digest or secret",
    });
    expect(bytesRead()).toBeLessThan(MiB);
  });

  it("an unsigned upload that trickles and never ends does not hold the only build slot (max_inflight 1)", async () => {
    const one = await startBuilder({
      socketPath: join(work, "no-dockerd.sock"),
      secret: SECRET,
      tmpDir: tmp,
      maxBuildBytes: MAX_BUILD_BYTES,
      maxInflight: 1,
    });
    const slow = await trickleUpload(one.builder.server, one.url, {
      "content-type": "application/x-tar",
      "x-cloud-signature-256": signHop(SECRET, "of-builder", "what the slow client claims to send"),
    });
    try {
      const res = await postBuild(one.url, signedRawTar(SECRET, [config(), ...context]));
      // It got the slot and ran: no daemon listens here, so the build itself fails (500), but it is not a 429.
      expect(res.status).toBe(500);
      expect(await res.json()).toMatchObject({ status: "failure", error: "unexpected failure" });
      expect(slow.answered()).toBe(false);
    } finally {
      slow.stop();
      await one.builder.shutdown(1000);
    }
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
