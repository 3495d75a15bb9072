// The seal command (issue #15), run as users run it (`npm run seal`), against a certificate served over HTTP.
import { execFile } from "node:child_process";
import { createPrivateKey } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { createSealingKey } from "../shared/sealed-secrets/certificate.js";
import { openSealedSecret } from "../shared/sealed-secrets/sealed-secret.js";
import { parseSecretsFile } from "../shared/sealed-secrets/secrets-file.js";

const SCRIPT = resolve("scripts/seal.ts");
// `--import tsx` resolves from the working directory, which is a temp folder here: name the loader by its path.
const TSX = pathToFileURL(resolve("node_modules/tsx/dist/loader.mjs")).href;
const pair = createSealingKey(new Date(), 2048);
const keys = [createPrivateKey(pair.privateKeyPem)];
let server: Server;
let certUrl: string;
let dir: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === "/sealed-secrets-cert") res.end(pair.certificatePem);
    else res.writeHead(404).end();
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  certUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/sealed-secrets-cert`;
});
afterAll(() => new Promise<void>((done) => server.close(() => done())));
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "seal-"));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

function seal(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, ["--import", TSX, SCRIPT, ...args], { cwd: dir }, (error, stdout, stderr) =>
      done({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

async function opened(name: string): Promise<string | undefined> {
  const secret = parseSecretsFile(await readFile(join(dir, "secrets.yml"), "utf8")).find((s) => s.name === name);
  const result = secret && openSealedSecret(keys, secret);
  return result?.ok ? Object.values(result.data)[0]!.toString() : undefined;
}

describe("seal", () => {
  it("--cert <url> --owner Alice --name api-key --literal → secrets.yml with alice--api-key, strict, that opens", async () => {
    const run = await seal("--cert", certUrl, "--owner", "Alice", "--name", "api-key", "--literal", "api-key=hunter2");
    expect(run).toMatchObject({ code: 0, stdout: "sealed alice--api-key (strict, openfaas-fn) into secrets.yml\n" });
    const [secret] = parseSecretsFile(await readFile(join(dir, "secrets.yml"), "utf8"));
    expect(secret).toMatchObject({ name: "alice--api-key", namespace: "openfaas-fn", scope: "strict" });
    expect(await opened("alice--api-key")).toBe("hunter2");
    expect(run.stdout + run.stderr).not.toContain("hunter2");
  });

  it("--cert <file> --from-file, then a second secret and a re-seal → both kept, the re-sealed one replaced", async () => {
    await writeFile(join(dir, "cert.pem"), pair.certificatePem);
    await writeFile(join(dir, "db.txt"), "first");
    expect(
      (await seal("--cert", "cert.pem", "--owner", "alice", "--name", "db", "--from-file", "db=db.txt")).code,
    ).toBe(0);
    expect((await seal("--cert", certUrl, "--owner", "alice", "--name", "token", "--literal", "t=x")).code).toBe(0);
    await writeFile(join(dir, "db.txt"), "second");
    expect((await seal("--cert", "cert.pem", "--owner", "alice", "--name", "db", "--from-file", "db.txt")).code).toBe(
      0,
    );
    const names = parseSecretsFile(await readFile(join(dir, "secrets.yml"), "utf8")).map((s) => s.name);
    expect(names).toEqual(["alice--db", "alice--token"]);
    expect(await opened("alice--db")).toBe("second");
  });

  it.each([
    [["--owner", "alice", "--name", "x", "--literal", "a=b"], /usage: seal/],
    [["--cert", "CERT", "--owner", "alice", "--name", "x"], /exactly one --literal or --from-file/],
    [["--cert", "CERT", "--owner", "alice", "--name", "x", "--literal", "a=b", "--literal", "c=d"], /exactly one/],
    [
      ["--cert", "CERT", "--owner", "alice", "--name", "a--b", "--literal", "a=b"],
      /secret name "a--b" must not contain "--"/,
    ],
    [["--cert", "CERT", "--owner", "alice", "--name", "x", "--literal", "=b"], /--literal must be key=value/],
    [["--cert", "missing.pem", "--owner", "alice", "--name", "x", "--literal", "a=b"], /ENOENT/],
  ])("%j → exit 1 with the reason, no file written", async (args, message) => {
    const run = await seal(...args.map((a) => (a === "CERT" ? certUrl : a)));
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(message);
    await expect(readFile(join(dir, "secrets.yml"))).rejects.toThrow(/ENOENT/);
  });

  it("a cert URL answering 404 → exit 1 naming the URL", async () => {
    const run = await seal("--cert", `${certUrl}-nope`, "--owner", "alice", "--name", "x", "--literal", "a=b");
    expect(run).toMatchObject({ code: 1, stderr: expect.stringMatching(/answered 404/) });
  });
});
