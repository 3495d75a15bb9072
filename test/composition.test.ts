import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { generateKeyPairSync } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as buildshiprun from "../functions/buildshiprun/handler.js";
import * as garbageCollect from "../functions/garbage-collect/handler.js";
import * as gitTar from "../functions/git-tar/handler.js";
import * as githubEvent from "../functions/github-event/handler.js";
import * as githubPush from "../functions/github-push/handler.js";
import * as pipelineLog from "../functions/pipeline-log/handler.js";

// Each function's composition root, fed what a deployment gives it: environment plus secret files.
const roots = {
  buildshiprun,
  "garbage-collect": garbageCollect,
  "git-tar": gitTar,
  "github-event": githubEvent,
  "github-push": githubPush,
  "pipeline-log": pipelineLog,
};
const SECRETS = [
  "github-webhook-secret",
  "payload-secret",
  "basic-auth-user",
  "basic-auth-password",
  "s3-access-key",
  "s3-secret-key",
  "customers",
];

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "secrets-"));
  for (const name of SECRETS) await writeFile(join(dir, name), `${name}-value\n`);
  const { privateKey } = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    privateKeyEncoding: { type: "pkcs1", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  });
  await writeFile(join(dir, "private-key"), privateKey);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const env = () => ({
  secret_mount_path: dir,
  gateway_url: "http://127.0.0.1:8080/",
  gateway_public_url: "https://cloud.example.com/",
  github_app_id: "12345",
  repository_url: "registry.example.com/",
  push_repository_url: "registry.example.com/",
  s3_url: "127.0.0.1:9000",
});

describe("composition roots", () => {
  it.each(Object.keys(roots))("%s: the settings and secrets of a deployment → dependencies built", (name) => {
    const deps = roots[name as keyof typeof roots].depsFromEnv(env());
    expect(deps.log).toBeDefined();
    expect(roots[name as keyof typeof roots].createHandler(deps as never)).toBeInstanceOf(Function);
  });

  it.each(Object.keys(roots))("%s: without its secrets → an error naming the missing payload-secret", (name) => {
    expect(() =>
      roots[name as keyof typeof roots].depsFromEnv({ ...env(), secret_mount_path: join(dir, "nowhere") }),
    ).toThrow(/secret payload-secret: unable to read .*nowhere\/payload-secret/);
  });
});
