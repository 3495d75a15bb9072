import type { Logger } from "pino";
import type { Customers } from "../../shared/customers.js";
import type { FunctionEvent, Reply } from "../../shared/function-handler.js";
import type { Gateway } from "../../shared/gateway.js";
import { GITHUB_SIGNATURE_HEADER, verifyGithubSignature } from "../../shared/hmac.js";
import { HttpError } from "../../shared/http-error.js";
import { parsePullRequest } from "../../shared/pull-request.js";
import { parseGithubPush } from "../../shared/push.js";
import { parseGithubRerun, wantsRerun } from "../../shared/rerun.js";
import { stageTimer } from "../../shared/stage-timing.js";
import type { Deliveries } from "../../shared/deliveries.js";
import { garbageRequests, parseInstallationEvent } from "./installation.js";

export interface GithubEventDeps {
  webhookSecret: string;
  validateHmac: boolean;
  /** Absent when validate_customers is off. */
  customers?: Customers;
  gateway: Gateway;
  deliveries: Deliveries;
  log: Logger;
  /** A clock in ms for the stage timings (issue #16); Date.now unless a test fixes it. */
  now?: () => number;
}

// Only these events are acted on (issue #2).
const HANDLED = new Set([
  "push",
  "installation",
  "installation_repositories",
  "check_run",
  "check_suite",
  "pull_request",
]);
// Re-runs (issue #17): forwarded to github-push like pushes, for the actions shared/rerun.ts names.
const RERUN_EVENTS = new Set(["check_run", "check_suite"]);
// GitHub still sends the retired integration_ names, with the same bodies, to Apps made before the rename (issue #17).
const ALIASES: ReadonlyMap<string, string> = new Map([
  ["integration_installation", "installation"],
  ["integration_installation_repositories", "installation_repositories"],
]);

/** github-event (original-spec §2 with DESIGN §10): authenticate a webhook, then route it. */
export function createEventRouter(deps: GithubEventDeps): (event: FunctionEvent) => Promise<Reply> {
  async function requireCustomer(login: string): Promise<void> {
    if (deps.customers && !(await deps.customers.has(login))) {
      throw new HttpError(403, `Customer: ${JSON.stringify(login)} not found in customers ACL`);
    }
  }

  async function onPush(event: FunctionEvent, delivery: string, log: Logger, began: number): Promise<Reply> {
    const push = parseGithubPush(event.body);
    await requireCustomer(push.repository.owner.login);
    if (!push.installation) {
      throw new HttpError(400, "push event: installation.id missing: the webhook must come from the GitHub App");
    }
    const fields = { repo: push.repository.full_name, ref: push.ref };
    return forward("push", event, { delivery, log: log.child({ sha: push.after }), began, fields });
  }

  async function onRerun(name: string, event: FunctionEvent, delivery: string, log: Logger, began: number) {
    const rerun = parseGithubRerun(name, event.body);
    await requireCustomer(rerun.repository.owner.login);
    const fields = { repo: rerun.repository.full_name, action: rerun.action };
    return forward(name, event, { delivery, log: log.child({ sha: rerun.sha }), began, fields });
  }

  // Removal only ever deletes what that account owns, so it proceeds even for an owner no longer on the list.
  function onPullRequestClosed(event: FunctionEvent, delivery: string, log: Logger, began: number) {
    const pr = parsePullRequest(event.body);
    const fields = { repo: pr.repository.full_name, branch: pr.pull_request.head.ref };
    return forward("pull_request", event, { delivery, log, began, fields });
  }

  /** The signed synchronous hop to github-push; its answer becomes github-event's. */
  async function forward(
    name: string,
    event: FunctionEvent,
    hop: { delivery: string; log: Logger; began: number; fields: Record<string, string> },
  ): Promise<Reply> {
    // Own work (verify, claim, parse) and the synchronous hop to github-push, which logs its own stages, apart.
    const timer = stageTimer(hop.log, now);
    timer.start("github-event", hop.began)();
    const res = await timer.time("github-event.forward", () =>
      deps.gateway.invoke("github-push", event.body, {
        "content-type": "application/json",
        "x-github-event": name,
        "x-github-delivery": hop.delivery,
      }),
    );
    const text = res.body.toString("utf8").trim();
    hop.log.info({ status: res.status, ...hop.fields }, `forwarded ${name} to github-push`);
    if (res.status >= 500) throw new HttpError(502, `[github-push]: ${res.status}, ${text}`);
    if (res.status >= 400) throw new HttpError(res.status, `[github-push]: ${res.status}, ${text}`);
    return { status: res.status, body: `[github-push]: ${res.status}, ${text}` };
  }

  async function onInstallation(name: string, event: FunctionEvent, log: Logger): Promise<Reply> {
    const installation = parseInstallationEvent(event.body);
    const requests = garbageRequests(name, installation);
    // Removals only ever delete what that account owns, so they proceed even for an owner no longer on the list.
    if (requests.length === 0) await requireCustomer(installation.installation.account.login);
    for (const request of requests) {
      await deps.gateway.invokeAsync("garbage-collect", JSON.stringify(request), {
        "content-type": "application/json",
      });
      log.info(request, "garbage collection requested");
    }
    return { status: 200, body: `Message received with event: ${name}` };
  }

  async function claim(delivery: string): Promise<boolean> {
    try {
      return await deps.deliveries.claim(delivery);
    } catch (error) {
      // Without the store a redelivery could build twice: refuse, GitHub shows the failure and can redeliver.
      throw new HttpError(503, "delivery store unavailable: redeliver the webhook later", { cause: error });
    }
  }

  const now = deps.now ?? Date.now;
  return async (event) => {
    const began = now();
    // The GitHub App's "Setup URL" redirect lands here after installation (original-spec §2 step 2).
    if (event.query.setup_action === "install") {
      return { status: 200, body: "Installation completed, please return to the installation guide." };
    }
    if (event.method !== "POST") throw new HttpError(405, "github-event accepts POST webhooks only");
    if (deps.validateHmac) {
      const ok = await verifyGithubSignature(deps.webhookSecret, event.body, event.headers[GITHUB_SIGNATURE_HEADER]);
      if (!ok) throw new HttpError(401, "invalid or missing X-Hub-Signature-256");
    }
    const received = event.headers["x-github-event"] ?? "";
    const name = ALIASES.get(received) ?? received;
    if (!HANDLED.has(name)) return { status: 200, body: `github-event cannot handle event: ${name}` };
    // GitHub sends check events for each of the App's own check runs too; only re-run actions build (issue #17).
    if (RERUN_EVENTS.has(name) && !wantsRerun(name, event.body)) {
      return { status: 200, body: `github-event ignores ${name} actions other than re-runs` };
    }
    // A closed pull request removes its branch's preview (issue #17); its other actions change nothing here.
    if (name === "pull_request" && parsePullRequest(event.body).action !== "closed") {
      return { status: 200, body: "github-event ignores pull_request actions other than closed" };
    }

    const delivery = event.headers["x-github-delivery"];
    if (!delivery) throw new HttpError(400, "missing X-GitHub-Delivery header");
    const log = deps.log.child({ delivery, event: name });
    if (!(await claim(delivery))) {
      log.info("duplicate delivery ignored");
      return { status: 200, body: `delivery ${delivery} was already received: ignored` };
    }
    try {
      if (RERUN_EVENTS.has(name)) return await onRerun(name, event, delivery, log, began);
      if (name === "pull_request") return await onPullRequestClosed(event, delivery, log, began);
      return name === "push" ? await onPush(event, delivery, log, began) : await onInstallation(name, event, log);
    } catch (error) {
      // Released so GitHub's "Redeliver" builds; if even that fails, the id expires with the store's TTL.
      await deps.deliveries
        .release(delivery)
        .catch((err: unknown) => log.warn({ err }, "could not release the delivery"));
      throw error;
    }
  };
}
