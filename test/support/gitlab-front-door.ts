import axios from "axios";
import { pino, type Logger } from "pino";
import { createCustomers } from "../../shared/customers.js";
import { createDeliveries, type Deliveries } from "../../shared/deliveries.js";
import type { FunctionHandler } from "../../shared/function-handler.js";
import { createGateway } from "../../shared/gateway.js";
import { createGitlab } from "../../shared/gitlab.js";
import { createPendingBuilds } from "../../shared/pending-builds.js";
import { createGitlabApi } from "../../functions/gitlab-event/gitlab-api.js";
import { createHandler as gitlabEvent } from "../../functions/gitlab-event/handler.js";
import { createHandler as gitlabPush } from "../../functions/gitlab-push/handler.js";
import { startGateway, type AsyncQueue, type QueuedRequest } from "../../local/gateway.js";
import type { GitlabStandin } from "../../local/gitlab-standin/server.js";
import { startS3Server } from "../../local/services/s3.js";

export const PAYLOAD_SECRET = "payload-secret-for-tests";
/** gitlab-webhook-secret: what GitLab sends back in X-Gitlab-Token. */
export const GITLAB_WEBHOOK_SECRET = "gitlab-webhook-secret-for-tests";
/** A hook, as the stand-in's pushEvent/projectEvent build it or hand-made: headers and a JSON value or raw bytes. */
export type Hook = { headers: Record<string, string>; body: unknown };

/**
 * gitlab-event and gitlab-push (issue #19) under the local gateway, as test/support/front-door.ts runs GitHub's pair:
 * the real handlers, the signed synchronous hop between them, the production GitLab clients against the given GitLab
 * stand-in (with `apiToken`, which the stand-in must be started with), and the pending-build records in a real S3
 * server. The async queue records what the stages hand on (git-tar, garbage-collect).
 */
export async function startGitlabFrontDoor(options: {
  standin: GitlabStandin;
  apiToken: string;
  /** The customers list; absent turns validate_customers off. */
  customers?: string;
  installationTag?: string;
  buildBranch?: string;
  deliveries?: Deliveries;
  log?: Logger;
}) {
  const log = options.log ?? pino({ level: "silent" });
  const { standin } = options;
  const s3 = await startS3Server();
  const pending = createPendingBuilds({ ...s3, useSSL: false, region: "us-east-1", bucket: "pipeline", log });
  const queued: QueuedRequest[] = [];
  const queue: AsyncQueue = {
    enqueue: (request) => {
      queued.push(request);
      return Promise.resolve();
    },
  };
  const functions = new Map<string, FunctionHandler>();
  const gateway = await startGateway({ functions, queue, log });
  const client = createGateway({
    url: gateway.url,
    payloadSecret: PAYLOAD_SECRET,
    http: axios.create(),
    log,
    sleep: () => Promise.resolve(),
  });
  functions.set(
    "gitlab-event",
    gitlabEvent({
      webhookSecret: GITLAB_WEBHOOK_SECRET,
      api: createGitlabApi({ url: standin.url, token: options.apiToken }),
      installationTag: options.installationTag ?? "openfaas-cloud",
      ...(options.customers !== undefined
        ? { customers: createCustomers({ list: options.customers, http: axios.create(), now: Date.now }) }
        : {}),
      gateway: client,
      deliveries: options.deliveries ?? createDeliveries({ now: Date.now }),
      log,
      now: Date.now,
    }),
  );
  functions.set(
    "gitlab-push",
    gitlabPush({
      payloadSecret: PAYLOAD_SECRET,
      buildBranch: options.buildBranch,
      useChecks: false,
      stage: "gitlab-push",
      selfUrl: `${gateway.url}function/gitlab-push`,
      github: createGitlab({ url: standin.url, token: options.apiToken, log, backoffMs: 1, now: Date.now }),
      gateway: client,
      pending,
      log,
      now: Date.now,
    }),
  );

  /**
   * POSTs a hook to gitlab-event as GitLab sends it: its headers, plus X-Gitlab-Token (the webhook secret unless
   * `token` says otherwise; null leaves it out). A string or Buffer body goes as those bytes, anything else as JSON.
   */
  async function sendHook(hook: Hook, options: { token?: string | null } = {}) {
    const token = options.token === undefined ? GITLAB_WEBHOOK_SECRET : options.token;
    const body = typeof hook.body === "string" || Buffer.isBuffer(hook.body) ? hook.body : JSON.stringify(hook.body);
    return axios.post<string>(`${gateway.url}function/gitlab-event`, body, {
      headers: { ...hook.headers, ...(token === null ? {} : { "X-Gitlab-Token": token }) },
      responseType: "text",
      validateStatus: () => true,
      transformRequest: (data: unknown) => data,
    });
  }

  return {
    gatewayUrl: gateway.url,
    queued,
    pending,
    sendHook,
    async close() {
      await gateway.close();
      await s3.close();
    },
  };
}
