/**
 * `npm start`: the system on one machine (DESIGN §7). What runs today: the local gateway on 127.0.0.1 hosting
 * github-event and github-push with configuration and secrets from `.local/`, and a local GitHub record (the
 * stand-in) that plays GitHub's API, since GitHub is not reachable here. It then sends one signed push webhook
 * through the real front door and prints the commit statuses and the build queued for git-tar.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import axios from "axios";
import examples from "@octokit/webhooks-examples/api.github.com/index.json" with { type: "json" };
import { pino } from "pino";
import type { FunctionHandler } from "../shared/function-handler.js";
import { signPayload } from "../shared/hmac.js";
import * as githubEvent from "../functions/github-event/handler.js";
import * as githubPush from "../functions/github-push/handler.js";
import { startGithubStandin } from "./github-standin/server.js";
import { startGateway, type QueuedRequest } from "./gateway.js";
import { prepareWorkspace } from "./workspace.js";

const log = pino({ name: "local", level: process.env.LOG_LEVEL ?? "warn" });
const port = Number(process.env.OFC_PORT ?? 8080);
const workspace = prepareWorkspace(resolve(process.env.OFC_LOCAL_DIR ?? ".local"));
const demoOwner = "Codertocat";
writeFileSync(join(workspace.secretsDir, "customers"), `${demoOwner}\n`);

const github = await startGithubStandin({
  appId: workspace.appId,
  publicKeyPem: workspace.publicKeyPem,
  installations: [{ id: 1, account: demoOwner }],
});
// The async queue: held here until the stages that consume it exist (git-tar, issue #3; NATS JetStream, issue #5).
const queued: QueuedRequest[] = [];
const functions = new Map<string, FunctionHandler>();
const gateway = await startGateway({
  functions,
  queue: { enqueue: (r) => Promise.resolve(void queued.push(r)) },
  log,
  port,
});

const env = {
  ...process.env,
  gateway_url: gateway.url,
  github_api_url: github.url,
  github_app_id: String(workspace.appId),
  secret_mount_path: workspace.secretsDir,
};
functions.set("github-event", githubEvent.createHandler(githubEvent.depsFromEnv(env)));
functions.set("github-push", githubPush.createHandler(githubPush.depsFromEnv(env)));

// The main job, shown: a signed push webhook, as GitHub would send it, through the real front door.
const push = (examples as Array<{ name: string; examples: Array<{ ref?: string; installation?: unknown }> }>)
  .find((e) => e.name === "push")!
  .examples.find((p) => p.ref === "refs/heads/master" && p.installation)!;
const body = JSON.stringify(push)
  .replaceAll("https://github.com", github.url)
  .replaceAll("https://api.github.com", github.url);
const webhookSecret = readFileSync(join(workspace.secretsDir, "github-webhook-secret"), "utf8");
const res = await axios.post<string>(`${gateway.url}function/github-event`, body, {
  headers: {
    "content-type": "application/json",
    "x-github-event": "push",
    "x-github-delivery": `npm-start-${Date.now()}`,
    "x-hub-signature-256": signPayload(webhookSecret, body),
  },
  responseType: "text",
  validateStatus: () => true,
});

console.log(`\nOpenFaaS Cloud (local)\n`);
console.log(`  gateway            ${gateway.url}  (POST webhooks to ${gateway.url}function/github-event)`);
console.log(`  local GitHub API   ${github.url}  (records commit statuses)`);
console.log(`  config and secrets ${workspace.dir}`);
console.log(`\nDemo push of ${demoOwner}/Hello-World → github-event answered ${res.status}: ${res.data}`);
for (const s of github.statuses()) console.log(`  status ${s.context}: ${s.state}, "${s.description}"`);
for (const q of queued) console.log(`  queued for ${q.function}: ${q.body.toString().slice(0, 120)}…`);
console.log(
  `\ngit-tar, buildshiprun and the builder are not in this build yet; queued builds wait here. Ctrl-C stops.\n`,
);

process.once("SIGINT", () => {
  void Promise.all([gateway.close(), github.close()]).then(() => process.exit(0));
});
