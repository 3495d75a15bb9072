import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { createServer, request, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HttpError } from "../shared/http-error.js";
import { receiveSignedBody, tooLarge, type BodyVerifier } from "./request-body.js";

// receiveSignedBody on a real HTTP request: what reaches the file and the verifier, and where the cap falls.
const MAX = 1000;

/** A verifier that matches when it was fed exactly `expected`, and records what it was fed. */
function verifierFor(expected: Buffer): BodyVerifier & { fed: Buffer[] } {
  const fed: Buffer[] = [];
  return {
    fed,
    update: (chunk) => void fed.push(Buffer.from(chunk)),
    matches: () => Buffer.concat(fed).equals(expected),
  };
}

let work: string;
let server: Server;
let outcome: Promise<{ bytes: number; signed: boolean }>;
let verifier: ReturnType<typeof verifierFor>;

beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), "request-body-"));
  verifier = verifierFor(Buffer.from("the signed body"));
  server = createServer((req: IncomingMessage, res) => {
    outcome = receiveSignedBody(req, join(work, "body"), { maxBytes: MAX, verifier });
    outcome.then(
      () => res.end("ok"),
      (error: unknown) => {
        res.statusCode = error instanceof HttpError ? error.status : 500;
        res.end(error instanceof Error ? error.message : "");
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
});
afterEach(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await rm(work, { recursive: true, force: true });
});

/** Posts `chunks`, with a Content-Length of their sum unless `chunked`; resolves to the answer. */
function post(chunks: Buffer[], opts: { chunked?: boolean } = {}): Promise<{ status: number; text: string }> {
  const total = chunks.reduce((n, c) => n + c.length, 0);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port: (server.address() as AddressInfo).port,
        method: "POST",
        path: "/build",
        headers: opts.chunked ? { "transfer-encoding": "chunked" } : { "content-length": String(total) },
      },
      (res) => {
        let text = "";
        res.on("data", (c: Buffer) => (text += c.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    // A refusal may come (and the socket close) before the rest of the body is written.
    req.on("error", reject);
    for (const chunk of chunks) req.write(chunk);
    req.end();
  });
}

describe("receiveSignedBody", () => {
  it("the body → written to the file unchanged, mode 0600, every byte fed to the verifier; signed when it matches", async () => {
    const res = await post([Buffer.from("the signed "), Buffer.from("body")], { chunked: true });
    expect(res).toEqual({ status: 200, text: "ok" });
    await expect(outcome).resolves.toEqual({ bytes: 15, signed: true });
    expect(await readFile(join(work, "body"), "utf8")).toBe("the signed body");
    expect((await stat(join(work, "body"))).mode & 0o777).toBe(0o600);
    expect(Buffer.concat(verifier.fed).toString()).toBe("the signed body");
  });

  it("a body the verifier does not match → received, signed: false", async () => {
    await post([Buffer.from("other bytes")]);
    await expect(outcome).resolves.toEqual({ bytes: 11, signed: false });
  });

  it("exactly max bytes, declared or chunked → accepted", async () => {
    expect((await post([Buffer.alloc(MAX)])).status).toBe(200);
    await expect(outcome).resolves.toMatchObject({ bytes: MAX });
    expect((await post([Buffer.alloc(MAX - 1), Buffer.alloc(1)], { chunked: true })).status).toBe(200);
    await expect(outcome).resolves.toMatchObject({ bytes: MAX });
  });

  it("a Content-Length over max → 413 naming max_build_mb, before anything is fed to the verifier", async () => {
    const res = await post([Buffer.alloc(MAX + 1)]);
    expect(res).toEqual({ status: 413, text: `the build tar is over max_build_mb (${MAX / (1024 * 1024)} MB)` });
    expect(verifier.fed).toEqual([]);
  });

  // The declared size is refused before any byte is read: the first MAX bytes, sent well before the last one, are
  // never fed to the verifier (the streaming cap alone would feed them, then refuse the last byte).
  it("a Content-Length over max, the body sent slowly → 413 before its first bytes are read", async () => {
    const req = request({
      host: "127.0.0.1",
      port: (server.address() as AddressInfo).port,
      method: "POST",
      headers: { "content-length": String(MAX + 1) },
    });
    req.on("error", () => {});
    const status = new Promise<number>((resolve) => req.on("response", (res) => resolve(res.statusCode ?? 0)));
    req.write(Buffer.alloc(MAX));
    await new Promise((resolve) => setTimeout(resolve, 200));
    req.end(Buffer.alloc(1));
    expect(await status).toBe(413);
    expect(verifier.fed).toEqual([]);
  });

  it("a chunked body one byte over max → 413; the chunk that crosses it never reaches the verifier", async () => {
    const res = await post([Buffer.alloc(MAX), Buffer.alloc(1)], { chunked: true });
    expect(res.status).toBe(413);
    expect(Buffer.concat(verifier.fed).length).toBeLessThanOrEqual(MAX);
  });

  it("no body → 400: a build tar was expected", async () => {
    expect(await post([])).toEqual({ status: 400, text: "the request has no body: expected a build tar" });
  });

  it("a client that closes the connection before the body ends → rejects", async () => {
    const req = request({
      host: "127.0.0.1",
      port: (server.address() as AddressInfo).port,
      method: "POST",
      headers: { "content-length": "500" },
    });
    req.on("error", () => {});
    req.write(Buffer.alloc(100));
    await new Promise((resolve) => setTimeout(resolve, 100));
    req.destroy();
    await expect(outcome).rejects.toThrow("the client closed the connection before the body ended");
  });
});

describe("tooLarge", () => {
  it("→ a 413 naming max_build_mb in MB", () => {
    const error = tooLarge(50 * 1024 * 1024);
    expect(error).toBeInstanceOf(HttpError);
    expect([error.status, error.message]).toEqual([413, "the build tar is over max_build_mb (50 MB)"]);
  });
});
