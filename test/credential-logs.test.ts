// Issue #10: errors never log credentials. Each stage runs as its image does, in a child process built by its own
// composition root (depsFromEnv, so with the logger every function makes), against peers that fail: a gateway that
// answers 500 to the basic-auth /system/* calls or refuses connections, S3 and of-builder that refuse, GitHub that
// mints an installation token and then fails the status calls. Then no line of its log holds a credential.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer as netServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { packBuildContext } from "../shared/build-tar.js";
import type { DeploySpec } from "../shared/deploy-spec.js";
import { signHop } from "../shared/hmac.js";
import { readStack } from "../shared/stack.js";
import { PROJECT_ROOT } from "../local/system-stack.js";
import { startGithub } from "./support/github.js";
import { startRecorder } from "./support/http-recorder.js";

const PAYLOAD_SECRET = "payload-secret-7d1c9e2a4b";
const BASIC_PASSWORD = "basic-auth-password-5f3e8a";
const S3_SECRET = "s3-secret-key-91b2c7d4e6";
const SHA = "6113728f27ae82c7b1a177c8d03f9e96e0adf246";
const stack = await readStack(PROJECT_ROOT, {});

let dir: string;
let github: Awaited<ReturnType<typeof startGithub>>;
let gateway500: Awaited<ReturnType<typeof startRecorder>>;
let builder: Awaited<ReturnType<typeof startRecorder>>;
let refused: string;
let privateKey: string;

/** A port nothing listens on: connections to it are refused. */
async function closedPort(): Promise<number> {
  const server = netServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "credential-logs-"));
  github = await startGithub({ installations: [{ id: 1, account: "alice" }] });
  privateKey = github.app.privateKeyPem;
  const secrets: Record<string, string> = {
    "payload-secret": PAYLOAD_SECRET,
    "github-webhook-secret": "webhook-secret-3a9f",
    "private-key": privateKey,
    "basic-auth-user": "admin",
    "basic-auth-password": BASIC_PASSWORD,
    "s3-access-key": "s3-access-key-4c2d",
    "s3-secret-key": S3_SECRET,
  };
  for (const [name, value] of Object.entries(secrets)) await writeFile(join(dir, name), value);
  gateway500 = await startRecorder(() => ({ status: 500, body: "the provider is down" }));
  builder = await startRecorder(() => ({
    status: 200,
    body: { imageName: "127.0.0.1:5000/alice/fns--api:latest-6113728", status: "success", log: ["#1 DONE 0.1s"] },
  }));
  refused = `http://127.0.0.1:${await closedPort()}/`;
});

afterAll(async () => {
  await Promise.all([github?.close(), gateway500?.close(), builder?.close()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Starts `name` as a child process on a free port, with stack.yml's environment overlaid by `env`. */
async function runStage(name: string, env: Record<string, string>) {
  const fn = stack.functions.find((f) => f.name === name)!;
  const port = await closedPort();
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", "test/support/run-stage.ts", name], {
    cwd: PROJECT_ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      PATH: process.env.PATH,
      NODE_OPTIONS: "",
      ...fn.environment,
      secret_mount_path: dir,
      log_level: "debug",
      http_port: String(port),
      http_host: "127.0.0.1",
      ...env,
    },
  });
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const url = `http://127.0.0.1:${port}`;
  for (
    const deadline = Date.now() + 20_000;
    !(await fetch(`${url}/_/health`).then(
      (r) => r.ok,
      () => false,
    ));
  ) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`${name} did not start:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    post: (body: Buffer | string) =>
      fetch(`${url}/`, {
        method: "POST",
        body,
        headers: { "x-cloud-signature-256": signHop(PAYLOAD_SECRET, name, body) },
      }),
    /** Stops it (SIGTERM) and resolves with everything it wrote. */
    async stop() {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
      return output;
    },
  };
}

/** Every credential the stages hold, in the forms a log line could carry it, found in `log`. */
function credentialsIn(log: string): string[] {
  const tokens = github.standin.calls
    .map((c) => /^token (\S+)$/i.exec(String(c.headers.authorization ?? ""))?.[1])
    .filter((t): t is string => t !== undefined);
  const keyBody = privateKey.split("\n").find((l) => l.length > 40 && !l.startsWith("-----"))!;
  const candidates = {
    "the basic-auth password": BASIC_PASSWORD,
    "the basic-auth header value": Buffer.from(`admin:${BASIC_PASSWORD}`).toString("base64"),
    "Authorization: Basic": "Authorization: Basic",
    'authorization":"Basic': 'authorization":"Basic',
    "the payload secret": PAYLOAD_SECRET,
    "the S3 secret key": S3_SECRET,
    "the private key": keyBody,
    ...Object.fromEntries(tokens.map((t, i) => [`installation token #${i + 1}`, t])),
  };
  return Object.entries(candidates)
    .filter(([, value]) => log.toLowerCase().includes(value.toLowerCase()))
    .map(([what]) => what);
}

describe("no credential in any log line of a failing run", () => {
  it("garbage-collect against a gateway that answers 500, then one that refuses connections", async () => {
    const request = JSON.stringify({ functions: [], repo: "fns", owner: "alice", ownerId: 1001 });
    let log = "";
    for (const gatewayUrl of [`${gateway500.url}/`, refused]) {
      const stage = await runStage("garbage-collect", { gateway_url: gatewayUrl });
      const res = await stage.post(request);
      expect(res.status).toBeGreaterThanOrEqual(500);
      log += await stage.stop();
    }
    // The failures were logged (with their errors), just without the credentials.
    expect(log).toMatch(/"err":\{/);
    expect(log).toMatch(/ECONNREFUSED/);
    expect(credentialsIn(log)).toEqual([]);
  }, 60_000);

  it("buildshiprun: S3 and the gateway refuse connections, GitHub fails every status after minting a token", async () => {
    const spec: DeploySpec = {
      owner: "alice",
      ownerId: 1001,
      repo: "fns",
      repoUrl: "https://github.com/alice/fns",
      sha: SHA,
      branch: "master",
      private: false,
      installationId: 1,
      function: "api",
      service: "alice--api",
      image: "127.0.0.1:5000/alice/fns--api:latest-6113728",
      environment: {},
      secrets: [],
      labels: {},
      annotations: {},
      constraints: [],
    };
    const context = join(dir, "context");
    await rm(context, { recursive: true, force: true });
    await import("node:fs/promises").then((fs) => fs.mkdir(context));
    await writeFile(join(context, "Dockerfile"), "FROM scratch\n");
    await packBuildContext(context, { ref: spec.image, deploy: spec }, join(dir, "build.tar"));
    github.standin.failNext("statuses", 500, 50);
    const stage = await runStage("buildshiprun", {
      gateway_url: refused,
      builder_url: `${builder.url}/`,
      github_api_url: github.standin.url,
      github_app_id: String(github.app.appId),
      s3_url: refused.replace(/^http:\/\/|\/$/g, ""),
      repository_url: "127.0.0.1:5000",
      push_repository_url: "127.0.0.1:5000",
      gateway_public_url: "http://127.0.0.1:8080/",
    });
    const res = await stage.post(await readFile(join(dir, "build.tar")));
    const log = await stage.stop();
    expect(res.status).toBeLessThan(600); // answered, whatever it says: the log is what is checked
    expect(github.standin.tokensIssued).toBeGreaterThan(0); // a token was in play
    expect(log).toMatch(/"level":(40|50)/); // failures were logged
    expect(credentialsIn(log)).toEqual([]);
  }, 60_000);

  it("git-tar: a private clone whose git host takes the installation token, then answers 500", async () => {
    // The git host asks for credentials (as GitHub does for a private repo), then fails once it has them.
    const gitHost = await startRecorder((req) =>
      req.headers.authorization
        ? { status: 500, body: "internal error" }
        : { status: 401, headers: { "www-authenticate": 'Basic realm="GitHub"' } },
    );
    try {
      github.standin.failNext("statuses", 500, 50);
      const stage = await runStage("git-tar", {
        gateway_url: refused,
        github_api_url: github.standin.url,
        github_url: gitHost.url,
        github_app_id: String(github.app.appId),
        templates_url: `${gitHost.url}/openfaas/templates.git`,
      });
      const request = {
        owner: "alice",
        ownerId: 1001,
        repo: "fns",
        fullName: "alice/fns",
        repoUrl: `${gitHost.url}/alice/fns`,
        private: true,
        sha: SHA,
        ref: "refs/heads/master",
        branch: "master",
        installationId: 1,
        deliveryId: "d-1",
      };
      const res = await stage.post(JSON.stringify(request));
      const log = await stage.stop();
      expect(res.status).toBeLessThan(600);
      // The installation token went to the git host (base64 in its Basic header): it was in play.
      const sent = gitHost.requests.map((r) => String(r.headers.authorization ?? "")).filter(Boolean);
      expect(sent.length).toBeGreaterThan(0);
      const basicValues = sent.map((h) => h.replace(/^Basic /i, ""));
      expect(credentialsIn(log)).toEqual([]);
      expect(basicValues.filter((v) => log.includes(v))).toEqual([]);
      expect(log).toMatch(/"level":(40|50)/);
    } finally {
      await gitHost.close();
    }
  }, 60_000);
});
