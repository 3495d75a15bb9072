import type { Logger } from "pino";
import type { Customers } from "../../shared/customers.js";
import type { FunctionEvent, Reply } from "../../shared/function-handler.js";
import type { Gateway } from "../../shared/gateway.js";
import { GITHUB_SIGNATURE_HEADER, verifyGithubSignature } from "../../shared/hmac.js";
import { HttpError } from "../../shared/http-error.js";
import { parseGithubPush } from "../../shared/push.js";
import { stageTimer } from "../../shared/stage-timing.js";
import type { Deliveries } from "./deliveries.js";
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

// Only these events are acted on (issue #2); integration_installation is GitHub's retired alias.
const HANDLED = new Set(["push", "installation", "installation_repositories"]);

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
    // Own work (verify, claim, parse) and the synchronous hop to github-push, which logs its own stages, apart.
    const timer = stageTimer(log.child({ sha: push.after }), now);
    timer.start("github-event", began)();
    const res = await timer.time("github-event.forward", () =>
      deps.gateway.invoke("github-push", event.body, {
        "content-type": "application/json",
        "x-github-event": "push",
        "x-github-delivery": delivery,
      }),
    );
    const text = res.body.toString("utf8").trim();
    log.info({ status: res.status, repo: push.repository.full_name, ref: push.ref }, "forwarded push to github-push");
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
    const name = event.headers["x-github-event"] ?? "";
    if (!HANDLED.has(name)) return { status: 200, body: `github-event cannot handle event: ${name}` };

    const delivery = event.headers["x-github-delivery"];
    if (!delivery) throw new HttpError(400, "missing X-GitHub-Delivery header");
    const log = deps.log.child({ delivery, event: name });
    if (!(await claim(delivery))) {
      log.info("duplicate delivery ignored");
      return { status: 200, body: `delivery ${delivery} was already received: ignored` };
    }
    try {
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
