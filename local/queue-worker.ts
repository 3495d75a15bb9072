import { setTimeout as sleep } from "node:timers/promises";
import { connect } from "@nats-io/transport-node";
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, type JsMsg } from "@nats-io/jetstream";
import type { Logger } from "pino";
import type { QueuedRequest } from "./gateway.js";
import { decodeQueuedRequest, DEFAULT_STREAM, ensureStream } from "./queue.js";
import { natsConnectOptions, type NatsEndpoint } from "./services/nats.js";
import { STAGE_MESSAGE } from "../shared/stage-timing.js";

/** What the gateway's `/function/<name>` answered. */
export interface FunctionResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

export interface QueueWorkerDeps {
  /** The server and its account (it refuses clients without one, issue #10). */
  nats: NatsEndpoint;
  stream?: string;
  /** Calls `/function/<name>` on the gateway; a throw counts as a failed connection. */
  invoke: (req: QueuedRequest) => Promise<FunctionResponse>;
  /** Deliveries per call, the first included (default 5). */
  maxDeliver?: number;
  /** Delay before retry n (1-based) is `backoffMs[n-1]`, the last entry repeating. */
  backoffMs?: number[];
  /** Time the server waits for an ack (or a `working()`) before redelivering (default 15 min, OFC's ack_wait). */
  ackWaitMs?: number;
  concurrency?: number;
  /** How long one pull waits for a message; graceful stop waits this long at most for idle pulls (min 1000). */
  pullExpiresMs?: number;
  callbackTimeoutMs?: number;
  log: Logger;
  now?: () => number;
}

const DURABLE = "queue-worker";
// Hop-by-hop or length headers of the function's answer that must not be replayed on the callback request.
const NOT_FORWARDED = new Set(["connection", "keep-alive", "transfer-encoding", "content-length", "host"]);

/**
 * The queue-worker (anchors §A) on a durable JetStream pull consumer: invokes each queued call, acks only once the
 * function answered (an un-acked call is redelivered after a crash), retries 5xx and failed connections with
 * backoff up to `maxDeliver`, then dead-letters; posts the final outcome to `X-Callback-Url`.
 */
export async function startQueueWorker(deps: QueueWorkerDeps): Promise<{ stop(): Promise<void> }> {
  const stream = deps.stream ?? DEFAULT_STREAM;
  const maxDeliver = deps.maxDeliver ?? 5;
  const backoffMs = deps.backoffMs ?? [1_000, 5_000, 15_000, 30_000];
  const ackWaitMs = deps.ackWaitMs ?? 15 * 60_000;
  const now = deps.now ?? Date.now;
  const concurrency = deps.concurrency ?? 2;
  for (const [key, value] of Object.entries({ maxDeliver, ackWaitMs, concurrency })) {
    if (!Number.isInteger(value) || value < 1)
      throw new TypeError(`[queue-worker] ${key} must be an integer ≥ 1: ${value}`);
  }
  const nc = await connect({
    ...natsConnectOptions(deps.nats),
    name: "ofc-queue-worker",
    maxReconnectAttempts: -1,
  });
  const jsm = await jetstreamManager(nc);
  await ensureStream(jsm, stream);
  const config = {
    ack_policy: AckPolicy.Explicit,
    ack_wait: ackWaitMs * 1e6,
    // One above ours: a delivery cut short by a crash on the last attempt comes back once more and still ends in
    // an ack or a dead letter, instead of staying un-acked in the stream for good.
    max_deliver: maxDeliver + 1,
  };
  const exists = await jsm.consumers.info(stream, DURABLE).then(
    () => true,
    () => false,
  );
  if (exists) await jsm.consumers.update(stream, DURABLE, config);
  else
    await jsm.consumers.add(stream, {
      ...config,
      durable_name: DURABLE,
      deliver_policy: DeliverPolicy.All,
      filter_subject: `${stream}.>`,
    });
  const consumer = await jetstream(nc).consumers.get(stream, DURABLE);

  let stopping = false;
  const handle = async (msg: JsMsg) => {
    const dequeued = now();
    let req: QueuedRequest;
    try {
      req = decodeQueuedRequest(msg);
    } catch (err) {
      deps.log.error({ err, seq: msg.seq }, "unreadable queued message dropped");
      return msg.term();
    }
    const attempt = msg.info.deliveryCount;
    const log = deps.log.child({ callId: req.callId, function: req.function, attempt });
    // From JetStream's store time to this pull (issue #16); the function's own lines carry the same X-Call-Id.
    const queuedMs = Number(msg.timestampNanos / 1_000_000n);
    if (attempt === 1) log.info({ stage: "queue-wait", ms: Math.max(0, dequeued - queuedMs) }, STAGE_MESSAGE);
    // Tell the server the call is still running, so ack wait does not expire under a long call.
    const ticker = setInterval(
      () => {
        try {
          msg.working();
        } catch (err) {
          log.warn({ err }, "could not extend ack wait"); // connection lost: the call will be redelivered
        }
      },
      Math.max(100, Math.floor(ackWaitMs / 3)),
    );
    try {
      const outcome = await Promise.resolve()
        .then(() => deps.invoke(req))
        .catch((err: unknown) => ({ error: String(err) }));
      const status = "status" in outcome ? outcome.status : undefined;
      // Only 5xx and failed connections are retried: a 4xx is the caller's error (STYLE §2.12).
      const retry = status === undefined || status >= 500;
      if (retry && attempt < maxDeliver) {
        const delay = backoffMs[Math.min(attempt, backoffMs.length) - 1] ?? 0;
        log.warn({ status, error: "error" in outcome ? outcome.error : undefined, delay }, "async call failed; retry");
        return msg.nak(delay);
      }
      // The caller learns of it through X-Callback-Url (github-push marks the commit: shared/build-result.ts).
      if (retry)
        log.error(
          { status, error: "error" in outcome ? outcome.error : undefined },
          "async call failed on its last attempt",
        );
      const response = "status" in outcome ? outcome : { status: 503, headers: {}, body: Buffer.alloc(0) };
      if (req.callbackUrl) await postCallback(req, response, (now() - dequeued) / 1000, log, deps.callbackTimeoutMs);
      // No reason text: nats-server 2.9 silently ignores `+TERM <reason>` (reasons came in 2.10), leaving the
      // message pending; a bare +TERM stops redelivery and takes it out of the work-queue stream.
      if (retry) msg.term();
      else await msg.ackAck();
      log.info({ status: response.status }, "async call done");
    } finally {
      clearInterval(ticker);
    }
  };

  const pullExpires = Math.max(1_000, deps.pullExpiresMs ?? 5_000);
  const slot = async () => {
    while (!stopping) {
      const msg = await consumer.next({ expires: pullExpires }).catch(async (err: unknown) => {
        deps.log.warn({ err }, "queue pull failed");
        await sleep(1_000); // e.g. nats-server restarting: do not spin while the client reconnects
        return null;
      });
      if (!msg) continue;
      // Arrived while stopping: hand it straight back rather than leave it to ack wait.
      if (stopping) msg.nak();
      else await handle(msg).catch((err: unknown) => deps.log.error({ err }, "queued call handling failed"));
    }
  };
  const slots = Array.from({ length: concurrency }, () => slot());
  deps.log.info({ stream, consumer: DURABLE, maxDeliver, ackWaitMs }, "queue worker started");

  return {
    async stop() {
      stopping = true;
      await Promise.all(slots);
      await nc.drain();
    },
  };
}

/** POSTs the function's answer to the caller's X-Callback-Url with the queue-worker's headers (anchors §A). */
async function postCallback(
  req: QueuedRequest,
  response: FunctionResponse,
  durationSeconds: number,
  log: Logger,
  timeoutMs = 30_000,
): Promise<void> {
  const added = {
    "X-Function-Status": String(response.status),
    "X-Function-Name": req.function,
    "X-Call-Id": req.callId,
    "X-Duration-Seconds": durationSeconds.toFixed(6),
  };
  const replaced = new Set([...NOT_FORWARDED, ...Object.keys(added).map((k) => k.toLowerCase())]);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(response.headers)) if (!replaced.has(k.toLowerCase())) headers[k] = v;
  Object.assign(headers, added);
  try {
    const res = await fetch(req.callbackUrl ?? "", {
      method: "POST",
      headers,
      body: response.body,
      signal: AbortSignal.timeout(timeoutMs),
    });
    await res.arrayBuffer();
    if (!res.ok) log.warn({ callbackStatus: res.status }, "callback answered non-2xx");
  } catch (err) {
    // Like the CE queue-worker, a failed callback is logged, not retried: the function already ran.
    log.warn({ err }, "callback failed");
  }
}
