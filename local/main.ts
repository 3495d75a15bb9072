/**
 * `npm start`: OpenFaaS Cloud on one machine (DESIGN §7), then the main job shown: the sample repository in
 * examples/hello-stack is pushed to the local git host, a signed push webhook goes to github-event, and once the
 * commit's statuses say deployed, its functions are called through the gateway. Runs until Ctrl-C.
 *
 *   OFC_PORT (8080)  OFC_LOCAL_DIR (.local)  OFC_DEMO=0 skips the demo  OFC_OWNERS (extra logins)  LOG_LEVEL (warn)
 *   OFC_GITHUB_APP_ID serves a real GitHub App (docs/github-app.md), with OFC_GITHUB_API_URL, OFC_GITHUB_URL and
 *   OFC_TEMPLATES_URL.
 */
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import axios from "axios";
import { createLogger } from "../shared/log.js";
import { localhostAgent } from "./localhost-lookup.js";
import { startLocalCloud } from "./runtime.js";
import { preflight } from "./preflight.js";

const log = createLogger("local", process.env.LOG_LEVEL ?? "warn");
const problems = preflight();
if (problems.length > 0) {
  console.error(`npm start cannot run here:\n  - ${problems.join("\n  - ")}`);
  process.exit(1);
}

const demoOwner = "demo";
const dir = resolve(process.env.OFC_LOCAL_DIR ?? ".local");
const appId = process.env.OFC_GITHUB_APP_ID;
const realGithub = appId
  ? {
      appId,
      apiUrl: process.env.OFC_GITHUB_API_URL ?? "https://api.github.com",
      templatesUrl: process.env.OFC_TEMPLATES_URL ?? "https://github.com/openfaas/templates.git",
      gitUrl: process.env.OFC_GITHUB_URL ?? "https://github.com",
    }
  : undefined;
const started = Date.now();
console.log("Starting OpenFaaS Cloud on 127.0.0.1 (first run: ~30 s to prepare the base image)…");
const cloud = await startLocalCloud({
  dir,
  owners: [demoOwner, ...(process.env.OFC_OWNERS?.split(",").filter(Boolean) ?? [])],
  log,
  gatewayPort: Number(process.env.OFC_PORT ?? 8080),
  ackWaitMs: 30_000,
  ...(realGithub ? { realGithub } : {}),
});
let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    if (stopping) return;
    stopping = true;
    console.log("\nStopping…");
    void cloud.close().then(() => process.exit(0));
  });
}

console.log(`
OpenFaaS Cloud (local) is up in ${((Date.now() - started) / 1000).toFixed(1)} s
  gateway          ${cloud.gatewayUrl}   (/system/* user "${cloud.auth.user}", password in ${dir}/secrets/basic-auth-password)
  dashboard        http://system.localhost:${cloud.edgePort}/dashboard/${demoOwner}   (sign in as "${demoOwner}" on the local GitHub page: no account needed)
  functions        http://<owner>.localhost:${cloud.edgePort}/<function>   (the edge router)
  GitHub webhooks  ${cloud.gatewayUrl}function/github-event
  build logs       ${cloud.gatewayUrl}function/pipeline-log
  local git host   ${cloud.git.url}/<owner>/<repo>.git
  local GitHub API ${cloud.github.url}   (records commit statuses; ${dir}/github-statuses.jsonl)
  registry         ${cloud.registry}   (user "ofc", password in ${dir}/secrets/registry-password)
  Prometheus       ${cloud.prometheusUrl}   (scrapes ${cloud.gatewayUrl}metrics; same account as /system/*)`);
process.send?.({ ready: true, gatewayUrl: cloud.gatewayUrl, edgePort: cloud.edgePort });

if (realGithub) {
  console.log(
    `\nServing GitHub App ${realGithub.appId} (${realGithub.apiUrl}): forward its webhooks to ${cloud.gatewayUrl}function/github-event`,
  );
} else if (process.env.OFC_DEMO !== "0") {
  const sample = fileURLToPath(new URL("../examples/hello-stack", import.meta.url));
  const sha = await cloud.publish(demoOwner, "hello-stack", sample, "sample stack");
  const pushed = Date.now();
  const res = await cloud.sendPush(demoOwner, "hello-stack", sha);
  console.log(`\nDemo: pushed ${demoOwner}/hello-stack@${sha.slice(0, 7)}; github-event answered ${res.status}`);
  const stack = await cloud.waitForStatus(demoOwner, "hello-stack", sha, "stack-deploy", 300_000);
  console.log(`Commit statuses (${((Date.now() - pushed) / 1000).toFixed(1)} s after the webhook):`);
  for (const s of cloud.github.statuses({ owner: demoOwner, repo: "hello-stack", sha })) {
    console.log(
      `  ${s.context.padEnd(13)} ${s.state.padEnd(8)} ${s.description ?? ""}${s.target_url ? `  ${s.target_url}` : ""}`,
    );
  }
  if (stack.state === "success") {
    // Through the edge router, at the URL the hello status links to.
    const url = `http://${demoOwner}.localhost:${cloud.edgePort}/hello?name=OpenFaaS`;
    const answer = await axios.get<string>(url, {
      responseType: "text",
      validateStatus: () => true,
      httpAgent: localhostAgent(),
    });
    console.log(`\nGET ${url}\n  ${answer.status} ${answer.data.trim()}`);
  }
}
console.log(
  `\nOpen the dashboard: http://system.localhost:${cloud.edgePort}/dashboard/${demoOwner}\nRunning. Ctrl-C stops.`,
);
