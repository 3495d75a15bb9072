/**
 * `npm start`: OpenFaaS Cloud on one machine (DESIGN §7), then the main job shown: the sample repository in
 * examples/hello-stack is pushed to the local git host, a signed push webhook goes to github-event, and once the
 * commit's statuses say deployed, its functions are called through the gateway. Runs until Ctrl-C, SIGTERM, SIGHUP
 * or its parent process going away; each of them stops everything it started (issue #18).
 *
 *   OFC_PORT (8080)  OFC_LOCAL_DIR (.local)  OFC_DEMO=0 skips the demo  OFC_OWNERS (extra logins)  LOG_LEVEL (warn)
 *   OFC_GITHUB_APP_ID serves a real GitHub App (docs/github-app.md), with OFC_GITHUB_API_URL, OFC_GITHUB_URL and
 *   OFC_TEMPLATES_URL. OFC_SCM=gitlab runs the demo as a GitLab project (demo/team/hello-stack) pushed through the
 *   local GitLab's system hook to gitlab-event (docs/gitlab.md).
 */
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import axios from "axios";
import { createLogger } from "../shared/log.js";
import { gitlabOwner } from "../shared/naming.js";
import { localhostAgent } from "./localhost-lookup.js";
import { type LocalCloud, startLocalCloud } from "./runtime.js";
import { preflight } from "./preflight.js";
import { describeStartFailure } from "./start-failure.js";
import { lockStateDir } from "./state-lock.js";

const level = process.env.LOG_LEVEL ?? "warn";
const debug = level === "debug" || level === "trace";
const log = createLogger("local", level);
const dir = resolve(process.env.OFC_LOCAL_DIR ?? ".local");
const demoOwner = "demo";
// The GitLab demo's group (issue #19): a subgroup, so its owner key shows how a nested namespace is named.
const demoGroup = "demo/team";
const scm = process.env.OFC_SCM ?? "github";
if (scm !== "github" && scm !== "gitlab") {
  console.error(`npm start: OFC_SCM is "${scm}": expected github or gitlab`);
  process.exit(1);
}
const appId = process.env.OFC_GITHUB_APP_ID;
const realGithub = appId
  ? {
      appId,
      apiUrl: process.env.OFC_GITHUB_API_URL ?? "https://api.github.com",
      templatesUrl: process.env.OFC_TEMPLATES_URL ?? "https://github.com/openfaas/templates.git",
      gitUrl: process.env.OFC_GITHUB_URL ?? "https://github.com",
    }
  : undefined;
// A closed terminal (SIGHUP) turns every later write into EIO: the stop must still run to the end.
for (const stream of [process.stdout, process.stderr]) stream.on("error", () => undefined);

/** The one line a failed start prints (issue #18); the stack only when asked for. */
function failed(line: string, error?: unknown): void {
  console.error(`npm start: ${line}`);
  if (debug && error !== undefined) console.error(error);
  process.exitCode = 1;
}

const problems = preflight();
if (problems.length > 0) {
  failed(`cannot run here: ${problems.join("; ")}`);
  process.exit();
}
const held = lockStateDir(dir);
if ("heldBy" in held) {
  failed(
    `already running (pid ${held.heldBy}) on ${dir}: stop it first (kill ${held.heldBy}), or set OFC_LOCAL_DIR to another folder`,
  );
  process.exit();
}
const lock = held;

let cloud: LocalCloud | undefined;
let stopping: string | undefined;
/** Stops what the start began (now, or once the start in progress settles), releases the folder, and exits. */
function stop(why: string, code = 0): void {
  if (stopping !== undefined) {
    console.log(`Still stopping (${stopping}): the Docker daemon gives each function container up to 10 s.`);
    return;
  }
  stopping = why;
  process.exitCode ??= code;
  console.log(`\nStopping (${why})…`);
  if (cloud) void shutdown(cloud);
}
async function shutdown(running: LocalCloud): Promise<void> {
  const started = performance.now();
  await running.close();
  lock.release();
  console.log(`Stopped in ${((performance.now() - started) / 1000).toFixed(1)} s.`);
  process.exit();
}
// npm forwards SIGINT and SIGTERM to its script (`exec` in package.json makes that script this process); a terminal
// that closes sends SIGHUP.
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, () => stop(signal));
// The parent going away without a signal for us (npm killed with SIGKILL, a forking test runner gone): the daemons
// must not outlive it. An IPC channel says so at once; otherwise this process is handed to another parent.
const parent = process.ppid;
const orphaned = setInterval(() => {
  if (process.ppid === parent) return;
  clearInterval(orphaned);
  stop("parent process gone");
}, 500).unref();
process.on("disconnect", () => stop("parent process gone"));
for (const event of ["uncaughtException", "unhandledRejection"] as const) {
  process.on(event, (error: unknown) => {
    failed(`internal error: ${error instanceof Error ? error.message : String(error)}`, error);
    stop("internal error", 1);
  });
}

console.log(`Starting OpenFaaS Cloud on 127.0.0.1 (state in ${dir})`);
const started = performance.now();
try {
  cloud = await startLocalCloud({
    dir,
    owners: [demoOwner, ...(process.env.OFC_OWNERS?.split(",").filter(Boolean) ?? [])],
    // The local GitLab's namespace `demo` and its subgroups are on the customers list (gitlab:demo).
    gitlabNamespaces: [demoOwner],
    log,
    gatewayPort: Number(process.env.OFC_PORT ?? 8080),
    ackWaitMs: 30_000,
    progress: (event) =>
      console.log(
        "note" in event ? `  ${event.note}…` : `  ${event.step.padEnd(24)}${String(event.ms).padStart(6)} ms`,
      ),
    ...(realGithub ? { realGithub } : {}),
  });
} catch (error) {
  // startLocalCloud has stopped whatever it had started.
  lock.release();
  failed(describeStartFailure(error, dir), error);
  process.exit();
}
if (stopping !== undefined) await shutdown(cloud);

const passwordFile = `${dir}/secrets/basic-auth-password`;
console.log(`
OpenFaaS Cloud (local) is up in ${((performance.now() - started) / 1000).toFixed(1)} s
  gateway          ${cloud.gatewayUrl}   (/system/* user "${cloud.auth.user}", password in ${passwordFile})
  dashboard        http://system.localhost:${cloud.edgePort}/dashboard/${demoOwner}   (sign in as "${demoOwner}" on the local GitHub page: no account needed)
  functions        http://<owner>.localhost:${cloud.edgePort}/<function>   (the edge router)
  GitHub webhooks  ${cloud.gatewayUrl}function/github-event
  GitLab hooks     ${cloud.gatewayUrl}function/gitlab-event   (system hook; token in ${dir}/secrets/gitlab-webhook-secret)
  local GitLab     ${cloud.gitlab.url}   (API and git host; records statuses in ${dir}/gitlab-statuses.jsonl)
  build logs       ${cloud.gatewayUrl}function/pipeline-log
  local git host   ${cloud.git.url}/<owner>/<repo>.git
  local GitHub API ${cloud.github.url}   (records commit statuses; ${dir}/github-statuses.jsonl)
  registry         ${cloud.registry}   (user "ofc", password in ${dir}/secrets/registry-password)
  Prometheus       ${cloud.prometheusUrl}   (scrapes ${cloud.gatewayUrl}metrics; same account as /system/*)
  faas-cli         faas-cli login -g ${cloud.gatewayUrl} -u ${cloud.auth.user} --password-stdin < ${passwordFile}`);
process.send?.({ ready: true, gatewayUrl: cloud.gatewayUrl, edgePort: cloud.edgePort, pid: process.pid });

try {
  if (realGithub) {
    console.log(
      `\nServing GitHub App ${realGithub.appId} (${realGithub.apiUrl}): forward its webhooks to ${cloud.gatewayUrl}function/github-event`,
    );
  } else if (process.env.OFC_DEMO !== "0") await (scm === "gitlab" ? gitlabDemo(cloud) : demo(cloud));
} catch (error) {
  // The system is up; only the demo went wrong. Say so and keep serving.
  console.error(`npm start: the demo failed: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`);
  if (debug) console.error(error);
}
if (stopping === undefined) {
  console.log(
    `\nOpen the dashboard: http://system.localhost:${cloud.edgePort}/dashboard/${demoOwner}\nRunning (pid ${process.pid}). Ctrl-C stops it, and everything it started.`,
  );
}

/** The demo: a push of examples/hello-stack through the real pipeline, its statuses, and its function answering. */
async function demo(running: LocalCloud): Promise<void> {
  const sample = fileURLToPath(new URL("../examples/hello-stack", import.meta.url));
  const sha = await running.publish(demoOwner, "hello-stack", sample, "sample stack");
  const pushed = Date.now();
  const res = await running.sendPush(demoOwner, "hello-stack", sha);
  console.log(`\nDemo: pushed ${demoOwner}/hello-stack@${sha.slice(0, 7)}; github-event answered ${res.status}`);
  const stack = await running.waitForStatus(demoOwner, "hello-stack", sha, "stack-deploy", 300_000);
  console.log(`Commit statuses (${((Date.now() - pushed) / 1000).toFixed(1)} s after the webhook):`);
  for (const s of running.github.statuses({ owner: demoOwner, repo: "hello-stack", sha })) {
    console.log(
      `  ${s.context.padEnd(13)} ${s.state.padEnd(8)} ${s.description ?? ""}${s.target_url ? `  ${s.target_url}` : ""}`,
    );
  }
  if (stack.state !== "success") return;
  // Through the edge router, at the URL the hello status links to.
  const url = `http://${demoOwner}.localhost:${running.edgePort}/hello?name=OpenFaaS`;
  const answer = await axios.get<string>(url, {
    responseType: "text",
    validateStatus: () => true,
    httpAgent: localhostAgent(),
  });
  console.log(`\nGET ${url}\n  ${answer.status} ${answer.data.trim()}`);
}

/**
 * The GitLab demo (OFC_SCM=gitlab, issue #19): examples/hello-stack as the project demo/team/hello-stack carrying the
 * opt-in topic, pushed through the local GitLab's system hook; its commit statuses, then both functions answering at
 * the owner key of demo/team.
 */
async function gitlabDemo(running: LocalCloud): Promise<void> {
  const sample = fileURLToPath(new URL("../examples/hello-stack", import.meta.url));
  const { project, sha } = await running.publishGitlab(`${demoGroup}/hello-stack`, sample, {
    topics: ["openfaas-cloud"],
    message: "sample stack",
  });
  const pushed = Date.now();
  const res = await running.gitlabPush(project, { after: sha });
  console.log(
    `\nDemo (GitLab): pushed ${project.pathWithNamespace}@${sha.slice(0, 7)} (project ${project.id}); gitlab-event answered ${res.status}`,
  );
  const stack = await running.waitForGitlabStatus(project.id, sha, "stack-deploy", 300_000);
  console.log(`Commit statuses (${((Date.now() - pushed) / 1000).toFixed(1)} s after the hook):`);
  for (const s of running.gitlab.statuses({ projectId: project.id, sha })) {
    console.log(
      `  ${s.name.padEnd(13)} ${s.state.padEnd(8)} ${s.description ?? ""}${s.target_url ? `  ${s.target_url}` : ""}`,
    );
  }
  if (stack.state !== "success") return;
  const owner = gitlabOwner(demoGroup);
  for (const fn of ["hello", "echo"]) {
    const url = `http://${owner}.localhost:${running.edgePort}/${fn}${fn === "hello" ? "?name=GitLab" : ""}`;
    const answer = await axios.post<string>(url, fn === "echo" ? "from GitLab" : "", {
      responseType: "text",
      validateStatus: () => true,
      httpAgent: localhostAgent(),
    });
    console.log(`\nPOST ${url}\n  ${answer.status} ${answer.data.trim()}`);
  }
}
