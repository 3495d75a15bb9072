// Issue #15 end to end on the local runtime: the demo owner seals a value with the project's seal command (with the
// certificate the edge router publishes), commits secrets.yml and a function printing a hash of the mounted secret;
// a second push dropping the secret removes it; bob's sealed secret in demo's repo fails naming it and creates
// nothing; a function mounting a missing secret fails naming it. No plaintext, raw, hex or base64, in any log line
// (the system functions', of-builder's, the gateway's, the queue-worker's, dockerd's, the function's), the build logs
// and records in S3, or anything sent to GitHub (statuses, check runs), at the level that logs the most.
import { jest } from "@jest/globals";
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Writable } from "node:stream";
import { pathToFileURL } from "node:url";
import axios from "axios";
import { pino } from "pino";
import { localhostAgent } from "../../local/localhost-lookup.js";
import { loadPorts } from "../../local/ports.js";
import { startLocalCloud, type LocalCloud } from "../../local/runtime.js";

jest.setTimeout(900_000);

const PLAINTEXT = "demo-api-token-7f3a9c21e5";
const BOBS_PLAINTEXT = "bobs-db-password-d41d8cd9";
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
const TSX = pathToFileURL(resolve("node_modules/tsx/dist/loader.mjs")).href;

let dir: string;
let cloud: LocalCloud;
let logged = "";
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "e2e-secrets-"));
  const { gateway } = await loadPorts(join(dir, "ports.json"));
  const sink = new Writable({ write: (chunk: Buffer, _, done) => void ((logged += chunk.toString()), done()) });
  cloud = await startLocalCloud({
    dir,
    owners: ["demo", "bob"],
    // trace, the level that logs the most: the runtime's components and (log_level) every system function. The
    // system functions write to the same sink (logDestination), so every line of the runs is read below.
    log: pino({ level: "trace" }, sink),
    logDestination: sink,
    gatewayPort: gateway,
    // Check runs too (they carry the build log's tail), so the grep covers them.
    settings: { use_checks: "true" },
  });
});
afterAll(async () => {
  await cloud?.close();
  await rm(dir, { recursive: true, force: true });
});

const stack = (secrets: string[]) =>
  "version: 1.0\nprovider:\n  name: openfaas\nfunctions:\n  hasher:\n    lang: node20\n    handler: ./hasher\n" +
  `    image: hasher:latest\n${secrets.length ? `    secrets: [${secrets.join(", ")}]\n` : ""}`;
// Prints the SHA-256 of the mounted secret, never the secret.
const HASHER = {
  "hasher/handler.js": `const fs = require("node:fs");
const crypto = require("node:crypto");
module.exports = async () => {
  const path = "/var/openfaas/secrets/demo--api-key";
  if (!fs.existsSync(path)) return { hash: null };
  return { hash: crypto.createHash("sha256").update(fs.readFileSync(path)).digest("hex") };
};
`,
  "hasher/package.json": JSON.stringify({ name: "hasher", version: "1.0.0", private: true, main: "handler.js" }),
};

/** The seal command as a user runs it, in `cwd`, with the certificate fetched from the system host. */
function seal(cwd: string, ...args: string[]): Promise<string> {
  return new Promise((done, fail) =>
    execFile(
      process.execPath,
      ["--import", TSX, resolve("scripts/seal.ts"), ...args],
      { cwd },
      (error, stdout, stderr) => (error ? fail(new Error(stderr)) : done(stdout)),
    ),
  );
}
const auth = () => ({ username: cloud.auth.user, password: cloud.auth.password });
const secretNames = async () =>
  (await axios.get<{ name: string }[]>(`${cloud.gatewayUrl}system/secrets`, { auth: auth() })).data.map((s) => s.name);
/**
 * The forms a value takes when something encodes it: raw, hex, and base64 (and base64url) at each of the three byte
 * alignments it can have inside a longer encoded text, without the edge characters it shares with its neighbours.
 */
function encodings(value: string): string[] {
  const bytes = Buffer.from(value);
  const forms = [value, bytes.toString("hex"), bytes.toString("hex").toUpperCase()];
  for (const offset of [0, 1, 2]) {
    const b64 = Buffer.concat([Buffer.alloc(offset), bytes])
      .toString("base64")
      .replace(/=+$/, "");
    const end = (offset + bytes.length) % 3 === 0 ? b64.length : b64.length - 1;
    const core = b64.slice([0, 2, 3][offset], end);
    forms.push(core, core.replaceAll("+", "-").replaceAll("/", "_"));
  }
  return [...new Set(forms)];
}
/**
 * Every file under `root` whose path passes `keep`, as text. Files removed while it reads (the pending-build records
 * of builds that just ended) are skipped.
 */
async function readTreeText(root: string, keep: (path: string) => boolean): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  const gone = (error: unknown) => {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  };
  const walk = async (folder: string): Promise<void> => {
    for (const entry of (await readdir(folder, { withFileTypes: true }).catch(gone)) ?? []) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile() && keep(path)) {
        const text = await readFile(path, "latin1").catch(gone);
        if (text !== undefined) files.set(path, text);
      }
    }
  };
  await walk(root);
  return files;
}
async function push(files: Record<string, string>) {
  const sha = await cloud.publish("demo", "fns", files);
  expect((await cloud.sendPush("demo", "fns", sha)).status).toBe(202);
  return { sha, stackStatus: await cloud.waitForStatus("demo", "fns", sha, "stack-deploy", 600_000) };
}

describe("sealed secrets from the repository (issue #15)", () => {
  let work: string;
  let demoFile: string;
  let bobFile: string;

  beforeAll(async () => {
    work = await mkdtemp(join(dir, "seal-"));
    // The documented address: system.<domain>/sealed-secrets-cert, through the edge router.
    const cert = await axios.get<string>(`http://system.localhost:${cloud.edgePort}/sealed-secrets-cert`, {
      httpAgent: localhostAgent(),
      responseType: "text",
    });
    expect(cert.data).toMatch(/^-----BEGIN CERTIFICATE-----/);
    await writeFile(join(work, "cert.pem"), cert.data);
    await seal(work, "--cert", "cert.pem", "--owner", "demo", "--name", "api-key", "--literal", `api-key=${PLAINTEXT}`);
    demoFile = await readFile(join(work, "secrets.yml"), "utf8");
    await seal(
      work,
      "--cert",
      "cert.pem",
      "--owner",
      "bob",
      "--name",
      "db",
      "--literal",
      `db=${BOBS_PLAINTEXT}`,
      "--file",
      "bob.yml",
    );
    bobFile = await readFile(join(work, "bob.yml"), "utf8");
  });

  it("demo pushes secrets.yml and hasher mounting api-key → success; hasher answers the value's hash", async () => {
    const { stackStatus } = await push({ "stack.yml": stack(["api-key"]), "secrets.yml": demoFile, ...HASHER });
    expect([stackStatus.state, stackStatus.description]).toEqual(["success", "stack is successfully deployed"]);
    expect(await secretNames()).toContain("demo--api-key");
    const res = await axios.get<{ hash: string }>(`${cloud.gatewayUrl}function/demo--hasher`);
    expect(res.data.hash).toBe(sha256(PLAINTEXT));
  });

  it("a second push without secrets.yml and the mount → success, demo--api-key removed", async () => {
    const { stackStatus } = await push({ "stack.yml": stack([]), ...HASHER });
    expect(stackStatus.state).toBe("success");
    expect(await secretNames()).not.toContain("demo--api-key");
  });

  it("bob's sealed secret in demo's repo → failure naming it; no secret created", async () => {
    const { stackStatus } = await push({ "stack.yml": stack([]), "secrets.yml": bobFile, ...HASHER });
    expect(stackStatus.state).toBe("failure");
    expect(stackStatus.description).toMatch(/^secret bob--db does not belong to demo/);
    expect((await secretNames()).filter((n) => n.startsWith("bob--") || n.startsWith("demo--"))).toEqual([]);
  });

  it("bob's secret renamed to demo--db in demo's repo → failure: it does not open", async () => {
    const renamed = bobFile.replaceAll("bob--db", "demo--db");
    const { stackStatus } = await push({ "stack.yml": stack([]), "secrets.yml": renamed, ...HASHER });
    expect([stackStatus.state, stackStatus.description]).toEqual([
      "failure",
      expect.stringMatching(/^secret demo--db: value "db" does not open with the cloud's keys/),
    ]);
    expect(await secretNames()).not.toContain("demo--db");
  });

  it("a function mounting a secret that does not exist → its status names the secret", async () => {
    const { sha, stackStatus } = await push({ "stack.yml": stack(["api-key"]), ...HASHER });
    expect(stackStatus.state).toBe("failure");
    const fnStatus = cloud.github.statuses({ owner: "demo", repo: "fns", sha, context: "hasher" }).at(-1);
    expect([fnStatus?.state, fnStatus?.description]).toEqual(["failure", expect.stringContaining("demo--api-key")]);
  });

  it("encodings: a plaintext embedded at any offset in a hex or base64 text is found (the grep's control)", () => {
    for (const prefix of ["", "x", "xy", "xyz"]) {
      const embedded = Buffer.from(`${prefix}${PLAINTEXT}!`);
      for (const text of [embedded.toString("base64"), embedded.toString("base64url"), embedded.toString("hex")]) {
        expect(encodings(PLAINTEXT).some((form) => text.includes(form))).toBe(true);
      }
    }
  });

  it("no plaintext or sealing key in any log line, status, check run, GitHub call or stored build log", async () => {
    const fnLogs = await axios.get<string>(`${cloud.gatewayUrl}system/logs`, {
      params: { name: "demo--hasher", follow: "false" },
      auth: auth(),
      responseType: "text",
      validateStatus: () => true,
    });
    // S3 (build logs, build records, secret records) and every daemon's and container's log file in the state dir.
    const s3 = await readTreeText(join(dir, "s3"), () => true);
    const logFiles = await readTreeText(dir, (path) => path.endsWith(".log"));
    const github = [cloud.github.statuses(), cloud.github.checkRuns(), cloud.github.calls].map((r) =>
      JSON.stringify(r),
    );
    const sources: Record<string, string> = {
      "the runtime's and system functions' log": logged,
      "GitHub statuses, check runs and calls": github.join("\n"),
      "GitHub record file": await readFile(join(dir, "github-statuses.jsonl"), "utf8"),
      "demo--hasher's log": String(fnLogs.data),
      "S3 objects": [...s3.values()].join("\n"),
      "log files": [...logFiles.values()].join("\n"),
    };

    // Controls: an empty or partial capture cannot pass. Each source holds what these runs must have put there.
    const lines = logged.split("\n").filter(Boolean);
    const names = new Set(lines.map((line) => (JSON.parse(line) as { name?: string }).name));
    for (const name of ["github-event", "github-push", "git-tar", "import-secrets", "buildshiprun", "garbage-collect"])
      expect(names).toContain(name);
    expect(logged).toMatch(/"name":"import-secrets".*"demo--api-key".*"msg":"secrets imported"/);
    expect(logged).toMatch(/"name":"buildshiprun".*"function":"hasher".*"msg":"function finished"/);
    expect(logged).toMatch(/"component":"of-builder"/);
    expect(logged).toMatch(/"msg":"async call done"/); // the queue-worker
    expect(logged).toMatch(/"level":20,/); // debug lines are captured
    expect(cloud.github.checkRuns().map((run) => run.name)).toContain("hasher");
    expect(cloud.github.statuses({ context: "stack-deploy" }).length).toBeGreaterThanOrEqual(5);
    expect([...s3.keys()].some((path) => path.includes(join("demo", "fns")) && path.includes("hasher"))).toBe(true);
    expect(sources["S3 objects"]).toContain("buildshiprun: build succeeded");
    expect(fnLogs.status).toBe(200);
    expect(logFiles.size).toBeGreaterThan(0);

    const keys = await readFile(join(dir, "secrets", "sealed-secrets-keys"), "utf8");
    const keyLines = keys
      .match(/-----BEGIN [A-Z ]*PRIVATE KEY-----([\s\S]*?)-----END/g)
      ?.flatMap((block) => block.split("\n").filter((line) => /^[A-Za-z0-9+/]{64}$/.test(line)));
    expect(keyLines?.length).toBeGreaterThan(10);
    const needles = [...encodings(PLAINTEXT), ...encodings(BOBS_PLAINTEXT), ...keyLines!];
    const found = Object.entries(sources).flatMap(([source, text]) =>
      needles.filter((needle) => text.includes(needle)).map((needle) => `${source}: ${needle}`),
    );
    expect(found).toEqual([]);
  });
});
