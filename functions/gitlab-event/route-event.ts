import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import type { Customers } from "../../shared/customers.js";
import type { Deliveries } from "../../shared/deliveries.js";
import type { FunctionEvent, Reply } from "../../shared/function-handler.js";
import type { Gateway } from "../../shared/gateway.js";
import { parseGitlabPush, type GitlabPush } from "../../shared/gitlab-push.js";
import { HttpError } from "../../shared/http-error.js";
import { stageTimer } from "../../shared/stage-timing.js";
import type { GitlabApi, GitlabProject } from "./gitlab-api.js";
import { GITLAB_TOKEN_HEADER, verifyGitlabToken } from "./gitlab-token.js";
import { hookEventName, parseProjectEvent, parsePushEvent, PROJECT_EVENTS, type GitlabPushEvent } from "./payloads.js";
import { carriesTopic, projectOutcome } from "./project-event.js";

export interface GitlabEventDeps {
  /** gitlab-webhook-secret: the system hook's secret token; empty when GitLab is not set up (503). */
  webhookSecret: string;
  /** The GitLab API at gitlab_url with gitlab-api-token; absent when gitlab_url is not set (503). */
  api?: GitlabApi;
  /** installation_tag: the topic a project opts in with. */
  installationTag: string;
  /** Absent when validate_customers is off. */
  customers?: Customers;
  gateway: Gateway;
  deliveries: Deliveries;
  log: Logger;
  /** A clock in ms for the stage timings (issue #16); Date.now unless a test fixes it. */
  now?: () => number;
  /** The delivery id of a hook sent without X-Gitlab-Event-UUID; randomUUID unless a test fixes it. */
  newId?: () => string;
}

const HANDLED = new Set<string>(["push", ...PROJECT_EVENTS]);

/** gitlab-event (issue #19, contract §6): authenticate a GitLab hook, then route it. */
export function createEventRouter(deps: GitlabEventDeps): (event: FunctionEvent) => Promise<Reply> {
  const now = deps.now ?? Date.now;

  // `gitlab:<path>` admits that namespace and everything under it: `gitlab:group` admits group/sub, not groupie.
  async function requireCustomer(fullPath: string): Promise<void> {
    if (!deps.customers) return;
    const segments = fullPath.split("/");
    for (let i = 1; i <= segments.length; i++) {
      if (await deps.customers.has(`gitlab:${segments.slice(0, i).join("/")}`)) return;
    }
    throw new HttpError(403, `Customer: ${JSON.stringify(`gitlab:${fullPath}`)} not found in customers ACL`);
  }

  async function onPush(api: GitlabApi, event: FunctionEvent, delivery: string, log: Logger, began: number) {
    const push = parsePushEvent(event.body);
    const claimed = push.project.path_with_namespace;
    // The payload's path refuses early, before any API call; the API's answer is what is then checked and built.
    await requireCustomer(claimed.slice(0, claimed.lastIndexOf("/")));
    const project = await api.project(push.project_id);
    if (!project) {
      log.warn({ projectId: push.project_id }, "the GitLab API token cannot see the project");
      return { status: 200, body: `project ${push.project_id} not found with the GitLab API token: nothing built` };
    }
    await requireCustomer(project.namespace.full_path);
    if (!carriesTopic(project, deps.installationTag)) {
      return { status: 200, body: `To build this project add the topic ${JSON.stringify(deps.installationTag)}` };
    }
    if (!project.default_branch) return { status: 200, body: `${project.path_with_namespace} has no default branch` };
    const body = normalise(project, project.default_branch, push, delivery);
    return forward(body, { delivery, log: log.child({ sha: push.after }), began });
  }

  /** The signed synchronous hop to gitlab-push; its answer becomes gitlab-event's. */
  async function forward(push: GitlabPush, hop: { delivery: string; log: Logger; began: number }): Promise<Reply> {
    const timer = stageTimer(hop.log, now);
    timer.start("gitlab-event", hop.began)();
    const res = await timer.time("gitlab-event.forward", () =>
      deps.gateway.invoke("gitlab-push", JSON.stringify(push), {
        "content-type": "application/json",
        "x-gitlab-event-uuid": hop.delivery,
      }),
    );
    const text = res.body.toString("utf8").trim();
    hop.log.info(
      { status: res.status, repo: push.project.pathWithNamespace, ref: push.ref },
      "forwarded to gitlab-push",
    );
    if (res.status >= 500) throw new HttpError(502, `[gitlab-push]: ${res.status}, ${text}`);
    if (res.status >= 400) throw new HttpError(res.status, `[gitlab-push]: ${res.status}, ${text}`);
    return { status: res.status, body: `[gitlab-push]: ${res.status}, ${text}` };
  }

  // Removals only ever delete what that namespace owns, so they proceed even for one no longer on the list.
  async function onProjectEvent(api: GitlabApi, event: FunctionEvent, log: Logger): Promise<Reply> {
    const projectEvent = parseProjectEvent(event.body);
    const outcome = await projectOutcome(projectEvent, api, deps.installationTag);
    const name = projectEvent.event_name;
    if ("skip" in outcome) {
      log.info({ projectId: projectEvent.project_id }, outcome.skip);
      return { status: 200, body: `${name}: ${outcome.skip}` };
    }
    await deps.gateway.invokeAsync("garbage-collect", JSON.stringify(outcome.request), {
      "content-type": "application/json",
    });
    log.info(outcome.request, "garbage collection requested");
    return { status: 200, body: `${name}: garbage collection requested for ${outcome.path}` };
  }

  async function claim(delivery: string): Promise<boolean> {
    try {
      // Prefixed: the store may be the one github-event's GitHub delivery ids live in.
      return await deps.deliveries.claim(`gitlab-${delivery}`);
    } catch (error) {
      throw new HttpError(503, "delivery store unavailable: redeliver the webhook later", { cause: error });
    }
  }

  return async (event) => {
    const began = now();
    if (event.method !== "POST") throw new HttpError(405, "gitlab-event accepts POST webhooks only");
    const api = deps.api;
    if (!deps.webhookSecret || !api) {
      throw new HttpError(503, "GitLab is not configured: set gitlab_url and the gitlab-webhook-secret secret");
    }
    // Always checked (the original's validate_token defaulted to off: docs/departures.md).
    if (!verifyGitlabToken(deps.webhookSecret, event.headers[GITLAB_TOKEN_HEADER])) {
      throw new HttpError(401, "invalid or missing X-Gitlab-Token");
    }
    const hook = event.headers["x-gitlab-event"] ?? "";
    const name = hookEventName(hook, event.body);
    if (name === undefined || !HANDLED.has(name)) {
      return { status: 200, body: `gitlab-event cannot handle event: ${name ?? hook}: ignored` };
    }

    // Two ids name a delivery: X-Gitlab-Event-UUID is shared by every hook one event fires (a push reaching a system
    // hook and a project hook), Idempotency-Key stays the same when GitLab (or "Resend request") retries one hook.
    // Either one seen before makes it a duplicate, so each way of receiving a push twice builds it once.
    const sent = event.headers["x-gitlab-event-uuid"];
    const keys = [sent, event.headers["idempotency-key"]].filter((key): key is string => Boolean(key));
    const delivery = sent ?? (deps.newId ?? randomUUID)();
    const log = deps.log.child({ delivery, event: name });
    const claimed: string[] = [];
    for (const key of keys) {
      if (!(await claim(key))) {
        log.info({ key }, "duplicate delivery ignored");
        return { status: 200, body: `delivery ${key} was already received: ignored` };
      }
      claimed.push(key);
    }
    try {
      return name === "push" ? await onPush(api, event, delivery, log, began) : await onProjectEvent(api, event, log);
    } catch (error) {
      // Released so a retry or a manual "Resend request" still works.
      for (const key of claimed) {
        await deps.deliveries
          .release(`gitlab-${key}`)
          .catch((err: unknown) => log.warn({ err }, "could not release the delivery"));
      }
      throw error;
    }
  };
}

/** The hop body (shared/gitlab-push.ts): the project as the API describes it, the ref and SHAs from the push. */
function normalise(project: GitlabProject, defaultBranch: string, push: GitlabPushEvent, delivery: string): GitlabPush {
  const body: GitlabPush = {
    project: {
      id: project.id,
      path: project.path,
      pathWithNamespace: project.path_with_namespace,
      webUrl: project.web_url,
      visibility: project.visibility,
      defaultBranch,
      namespace: { id: project.namespace.id, fullPath: project.namespace.full_path },
    },
    ref: push.ref,
    before: push.before,
    after: push.after,
    deliveryId: delivery,
  };
  // The same schema gitlab-push parses with: a project path GitLab allows but a clone URL must not carry is a 400 here.
  return parseGitlabPush(Buffer.from(JSON.stringify(body)));
}
