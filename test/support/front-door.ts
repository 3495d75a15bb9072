import axios from "axios";
import { pino, type Logger } from "pino";
import { createCustomers } from "../../shared/customers.js";
import type { FunctionHandler } from "../../shared/function-handler.js";
import { createGateway } from "../../shared/gateway.js";
import { signPayload } from "../../shared/hmac.js";
import { createPendingBuilds } from "../../shared/pending-builds.js";
import { createDeliveries, type Deliveries } from "../../shared/deliveries.js";
import { createHandler as githubEvent } from "../../functions/github-event/handler.js";
import { createHandler as githubPush } from "../../functions/github-push/handler.js";
import { startGateway, type AsyncQueue, type QueuedRequest } from "../../local/gateway.js";
import { startS3Server } from "../../local/services/s3.js";
import type { FunctionLimits } from "../../local/system-stack.js";
import { startGithub } from "./github.js";

export const WEBHOOK_SECRET = "webhook-secret-for-tests";
export const PAYLOAD_SECRET = "payload-secret-for-tests";

/**
 * github-event and github-push running under the local gateway, against the strict GitHub stand-in, with their
 * pending-build records in a real S3 server. The async queue records what the stages hand on (git-tar,
 * garbage-collect); `failQueue` makes it refuse.
 */
export async function startFrontDoor(
  options: {
    customers?: string;
    buildBranch?: string;
    /** system_public_url: statuses link the dashboard (issue #14). */
    systemPublicUrl?: string;
    installations?: Array<{ id: number; account: string }>;
    /** The GitHub stand-in's branch tips, for re-runs (issue #17). */
    branchTip?: (owner: string, repo: string, branch: string) => string | undefined;
    /** use_checks for github-push (issue #17); off unless set. */
    useChecks?: boolean;
    /** enable_previews for github-push (issue #17); off unless set. */
    enablePreviews?: boolean;
    /** github-event's delivery store; an in-memory one by default. */
    deliveries?: Deliveries;
    /** Each in-process function's body cap, as the local runtime sets them from stack.yml. */
    functionLimits?: Record<string, FunctionLimits>;
    log?: Logger;
  } = {},
) {
  const log = options.log ?? pino({ level: "silent" });
  const {
    standin,
    github,
    close: closeGithub,
  } = await startGithub({
    installations: options.installations ?? [
      { id: 1, account: "Codertocat" },
      { id: 2, account: "octocat" },
    ],
    log,
    ...(options.branchTip ? { branchTip: options.branchTip } : {}),
  });
  const s3 = await startS3Server();
  const pending = createPendingBuilds({ ...s3, useSSL: false, region: "us-east-1", bucket: "pipeline", log });
  const queued: QueuedRequest[] = [];
  const state = { failQueue: false };
  const queue: AsyncQueue = {
    enqueue: (request) => {
      if (state.failQueue) return Promise.reject(new Error("queue unavailable"));
      queued.push(request);
      return Promise.resolve();
    },
  };
  const functions = new Map<string, FunctionHandler>();
  const gateway = await startGateway({
    functions,
    queue,
    log,
    ...(options.functionLimits ? { functionLimits: options.functionLimits } : {}),
  });
  const client = createGateway({
    url: gateway.url,
    payloadSecret: PAYLOAD_SECRET,
    http: axios.create(),
    log,
    sleep: () => Promise.resolve(),
  });
  functions.set(
    "github-event",
    githubEvent({
      webhookSecret: WEBHOOK_SECRET,
      validateHmac: true,
      customers: createCustomers({
        list: options.customers ?? "codertocat\noctocat",
        http: axios.create(),
        now: Date.now,
      }),
      gateway: client,
      deliveries: options.deliveries ?? createDeliveries({ now: Date.now }),
      log,
    }),
  );
  functions.set(
    "github-push",
    githubPush({
      payloadSecret: PAYLOAD_SECRET,
      buildBranch: options.buildBranch,
      selfUrl: `${gateway.url}function/github-push`,
      github,
      gateway: client,
      pending,
      ...(options.systemPublicUrl ? { systemPublicUrl: options.systemPublicUrl } : {}),
      ...(options.useChecks ? { useChecks: true } : {}),
      ...(options.enablePreviews ? { enablePreviews: true } : {}),
      log,
      now: Date.now,
    }),
  );

  let deliveries = 0;
  /** POSTs a webhook to github-event as GitHub would: signed, with event and delivery headers. */
  async function sendWebhook(
    event: string,
    body: string | Buffer,
    headers: { signature?: string | null; delivery?: string } = {},
  ) {
    const signature = headers.signature === undefined ? signPayload(WEBHOOK_SECRET, body) : headers.signature;
    return axios.post<string>(`${gateway.url}function/github-event`, body, {
      headers: {
        "content-type": "application/json",
        "x-github-event": event,
        "x-github-delivery": headers.delivery ?? `delivery-${++deliveries}`,
        ...(signature === null ? {} : { "x-hub-signature-256": signature }),
      },
      responseType: "text",
      validateStatus: () => true,
      transformRequest: (data: unknown) => data,
    });
  }

  return {
    standin,
    /** The GitHub client the stages use (the production one, against the stand-in). */
    github,
    queued,
    state,
    gatewayUrl: gateway.url,
    gatewayServer: gateway.server,
    /** github-push's pending-build records. */
    pending,
    /** The S3 server holding them (stop it to see S3 fail). */
    s3,
    sendWebhook,
    async close() {
      await gateway.close();
      await closeGithub();
      await s3.close();
    },
  };
}

/** A webhook example's JSON with github.com URLs re-pointed at the stand-in. */
export function repoint(example: unknown, standinUrl: string): string {
  return JSON.stringify(example)
    .replaceAll("https://api.github.com", standinUrl)
    .replaceAll("https://github.com", standinUrl);
}
