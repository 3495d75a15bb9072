// Issue #10: every system function refuses a 60 MB unsigned body without buffering it. Each runs as its image does
// (runFunction with stack.yml's environment, so its max_body_bytes), built by its own composition root over secret
// files; the server's socket byte count, not timing, shows how much of a body was read.
import { generateKeyPairSync } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FunctionHandler } from "../shared/function-handler.js";
import { parseByteSize, runFunction, type FunctionServer } from "../shared/function-server.js";
import { signHop } from "../shared/hmac.js";
import { createSealingKey } from "../shared/sealed-secrets/certificate.js";
import { readStack, type StackFunction } from "../shared/stack.js";
import { PROJECT_ROOT } from "../local/system-stack.js";
import { countBytesRead, upload } from "./support/oversized-upload.js";

type Root = { createHandler(deps: never): FunctionHandler; depsFromEnv(env: Record<string, string>): unknown };
const roots: Record<string, () => Promise<Root>> = {
  "build-reaper": () => import("../functions/build-reaper/handler.js"),
  buildshiprun: () => import("../functions/buildshiprun/handler.js"),
  "garbage-collect": () => import("../functions/garbage-collect/handler.js"),
  "git-tar": () => import("../functions/git-tar/handler.js"),
  "github-event": () => import("../functions/github-event/handler.js"),
  "github-push": () => import("../functions/github-push/handler.js"),
  "gitlab-event": () => import("../functions/gitlab-event/handler.js"),
  "gitlab-push": () => import("../functions/gitlab-push/handler.js"),
  "pipeline-log": () => import("../functions/pipeline-log/handler.js"),
  "edge-auth": () => import("../functions/edge-auth/handler.js"),
  "dashboard-api": () => import("../functions/dashboard-api/handler.js"),
  "import-secrets": () => import("../functions/import-secrets/handler.js"),
};
// The login and the dashboard's APIs (issue #13) take GETs from browsers, unsigned: their 1 KiB cap is their refusal.
const BROWSER_FACING = new Set(["edge-auth", "dashboard-api"]);
const MiB = 1024 * 1024;
const SECRET = "payload-secret-for-body-caps";
const functions: StackFunction[] = (await readStack(PROJECT_ROOT, {})).functions;

let secrets: string;
let served: FunctionServer | undefined;
beforeAll(async () => {
  secrets = await mkdtemp(join(tmpdir(), "body-caps-"));
  const { privateKey } = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    privateKeyEncoding: { type: "pkcs1", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  });
  for (const name of [
    "github-webhook-secret",
    "basic-auth-user",
    "basic-auth-password",
    "s3-access-key",
    "oauth-client-secret",
    "gitlab-webhook-secret",
    "gitlab-api-token",
  ])
    await writeFile(join(secrets, name), `${name}-value`);
  await writeFile(join(secrets, "s3-secret-key"), "s3-secret-value");
  await writeFile(join(secrets, "payload-secret"), SECRET);
  await writeFile(join(secrets, "private-key"), privateKey);
  // edge-auth checks that the two halves are one EC P-256 pair; dashboard-api reads the public half.
  const session = generateKeyPairSync("ec", {
    namedCurve: "P-256",
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
  });
  await writeFile(join(secrets, "jwt-private-key"), session.privateKey);
  await writeFile(join(secrets, "jwt-public-key"), session.publicKey);
  // import-secrets reads its sealing key and certificate at start (issue #15).
  const sealing = createSealingKey(new Date(), 2048);
  await writeFile(join(secrets, "sealed-secrets-keys"), `${sealing.privateKeyPem}\n${sealing.certificatePem}`);
});
afterEach(async () => {
  await served?.close(0);
  served = undefined;
});
afterAll(() => rm(secrets, { recursive: true, force: true }));

/** `name` served as its image serves it, on 127.0.0.1, and a counter of the bytes its server read. */
async function serve(name: string) {
  const fn = functions.find((f) => f.name === name)!;
  const root = await roots[name]!();
  const env = { ...fn.environment, secret_mount_path: secrets, http_port: "0", http_host: "127.0.0.1" };
  const handler = root.createHandler(root.depsFromEnv(env) as never);
  const proc = { once: () => undefined, exit: () => undefined } as unknown as Pick<NodeJS.Process, "once" | "exit">;
  served = await runFunction(handler, env, proc);
  return { url: `${served.url}/`, bytesRead: countBytesRead(served.server) };
}

describe("a 60 MB unsigned body → refused before it is buffered", () => {
  it("stack.yml gives every system function a max_body_bytes", () => {
    const unset = functions.filter((f) => parseByteSize(f.environment.max_body_bytes) === undefined);
    expect(unset.map((f) => f.name)).toEqual([]);
  });

  // github-event authenticates GitHub (X-Hub-Signature-256) and build-reaper takes cron-connector's unsigned calls, so
  // their refusal is their cap (25 MB, 1 KiB); gitlab-event (issue #19) refuses a POST without GitLab's X-Gitlab-Token
  // header, and the internal stages one without a fresh X-Cloud-Signature-256 header, before reading anything.
  const WEBHOOKS = new Set(["github-event"]);
  const unsignedRefusal = (name: string) =>
    WEBHOOKS.has(name) || name === "build-reaper" || BROWSER_FACING.has(name) ? 413 : 401;
  it.each(functions.map((f) => [f.name, unsignedRefusal(f.name)] as const))(
    "%s, with Content-Length → %i, under 1 MB of it read",
    async (name, status) => {
      const { url, bytesRead } = await serve(name);
      const headers = { "x-github-event": "push", "x-github-delivery": "d-1" };
      const outcome = await upload(url, { bytes: 60 * MiB, headers });
      expect(outcome).toMatchObject({ status });
      expect(bytesRead()).toBeLessThan(MiB);
    },
  );

  it.each(functions.map((f) => [f.name, unsignedRefusal(f.name)] as const))(
    "%s, chunked → %i, the read stops at once (github-event: at its 25 MB cap)",
    async (name, status) => {
      const { url, bytesRead } = await serve(name);
      const outcome = await upload(url, { bytes: 60 * MiB, chunked: true, headers: { "x-github-event": "push" } });
      expect(outcome).toMatchObject({ status });
      // github-event reads up to GitHub's 25 MB (it needs the whole body for the HMAC), never the rest.
      expect(bytesRead()).toBeLessThan(WEBHOOKS.has(name) ? 26 * MiB : MiB);
    },
  );

  // A header that gets past the precheck (a fresh hop header, wrong as it is; gitlab-event's own token, which is all a
  // GitLab hook carries): then the cap is what stops the read.
  it.each(functions.filter((f) => parseByteSize(f.environment.max_body_bytes)! < 60 * MiB).map((f) => [f.name]))(
    "%s, chunked past its precheck → 413 once its cap is read",
    async (name) => {
      const { url, bytesRead } = await serve(name);
      const cap = parseByteSize(functions.find((f) => f.name === name)!.environment.max_body_bytes)!;
      const headers: Record<string, string> =
        name === "gitlab-event"
          ? { "x-gitlab-token": "gitlab-webhook-secret-value" }
          : { "x-cloud-signature-256": signHop("not-the-secret", name, "x") };
      const outcome = await upload(url, { bytes: 60 * MiB, chunked: true, headers });
      expect(outcome).toMatchObject({ status: 413 });
      expect(bytesRead()).toBeLessThan(cap + MiB);
    },
  );
});
