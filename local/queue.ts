import { connect, headers as natsHeaders, type MsgHdrs } from "@nats-io/transport-node";
import {
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  type JetStreamManager,
  type JsMsg,
} from "@nats-io/jetstream";
import type { Logger } from "pino";
import type { AsyncQueue, QueuedRequest } from "./gateway.js";
import { natsConnectOptions, type NatsEndpoint } from "./services/nats.js";

/** The stream OpenFaaS's queue-worker reads by default (anchors §A: subject `faas-request`). */
export const DEFAULT_STREAM = "faas-request";

// The request travels as the message: the payload is the exact body bytes, the metadata and the caller's headers
// are NATS headers. Caller headers get a prefix so that no header a caller sends can pose as queue metadata.
const FUNCTION = "Ofc-Function";
const PATH = "Ofc-Path";
const QUERY = "Ofc-Query";
const CALLBACK = "Ofc-Callback-Url";
const HEADER = "Ofc-Header-";
const MSG_ID = "Nats-Msg-Id";

// A retried enqueue carries the same call id; JetStream drops a second publish with the same Nats-Msg-Id
// seen within this window (its own default is 2 minutes).
const DUPLICATE_WINDOW_NS = 10 * 60 * 1e9;

/**
 * The async queue on NATS JetStream (DESIGN §7): `enqueue` resolves once JetStream has stored the request on file,
 * so a 202 from the gateway means the call survives a restart. One subject per function
 * (`<stream>.<function>`) under one stream, so a function's backlog can be counted, filtered or purged alone.
 */
export async function createJetStreamQueue(deps: {
  /** The server and its account (it refuses clients without one, issue #10). */
  nats: NatsEndpoint;
  stream?: string;
  log: Logger;
}): Promise<AsyncQueue & { close(): Promise<void> }> {
  const stream = deps.stream ?? DEFAULT_STREAM;
  // Reconnect forever: a nats-server restart must not leave the gateway without its queue.
  const nc = await connect({ ...natsConnectOptions(deps.nats), name: "ofc-gateway", maxReconnectAttempts: -1 });
  await ensureStream(await jetstreamManager(nc), stream);
  const js = jetstream(nc);
  return {
    async enqueue(request) {
      const subject = `${stream}.${functionSubject(request.function)}`;
      const ack = await js.publish(subject, request.body, {
        msgID: request.callId,
        headers: encodeHeaders(request),
      });
      const log = deps.log.child({ callId: request.callId, function: request.function });
      if (ack.duplicate) log.info({ seq: ack.seq }, "async call already queued; duplicate dropped");
      else log.debug({ seq: ack.seq }, "async call queued");
    },
    close: () => nc.drain(),
  };
}

/**
 * Drops every call still queued, as a NATS Streaming restart does on OpenFaaS Community Edition (its store is in
 * memory): for tests of what happens to a push whose queued call is lost (issue #11). Resolves to the count dropped.
 */
export async function dropQueued(nats: NatsEndpoint, stream = DEFAULT_STREAM): Promise<number> {
  const nc = await connect({ ...natsConnectOptions(nats), name: "ofc-queue-purge" });
  try {
    return (await (await jetstreamManager(nc)).streams.purge(stream)).purged;
  } finally {
    await nc.close();
  }
}

/** Creates the file-backed work-queue stream `<stream>` over `<stream>.>`, unless it exists. */
export async function ensureStream(jsm: JetStreamManager, stream: string): Promise<void> {
  const exists = await jsm.streams.info(stream).then(
    () => true,
    () => false,
  );
  if (exists) return;
  await jsm.streams.add({
    name: stream,
    subjects: [`${stream}.>`],
    storage: StorageType.File,
    // Work queue: a message leaves the stream once the worker acks (or terms) it.
    retention: RetentionPolicy.Workqueue,
    duplicate_window: DUPLICATE_WINDOW_NS,
  });
}

/** The QueuedRequest a message carries; throws on a message not written by `enqueue`. */
export function decodeQueuedRequest(msg: JsMsg): QueuedRequest {
  const h = msg.headers;
  const fn = h?.get(FUNCTION);
  const callId = h?.get(MSG_ID);
  if (!h || !fn || !callId) throw new Error(`message ${msg.seq} on ${msg.subject} has no ${FUNCTION} or ${MSG_ID}`);
  const headers: Record<string, string> = {};
  for (const key of h.keys()) if (key.startsWith(HEADER)) headers[key.slice(HEADER.length)] = h.get(key);
  const callbackUrl = h.get(CALLBACK);
  return {
    callId,
    function: fn,
    path: h.get(PATH) || "/",
    query: Object.fromEntries(new URLSearchParams(h.get(QUERY))),
    headers,
    body: Buffer.from(msg.data),
    ...(callbackUrl ? { callbackUrl } : {}),
  };
}

function encodeHeaders(request: QueuedRequest): MsgHdrs {
  const h = natsHeaders();
  h.set(FUNCTION, request.function);
  h.set(PATH, request.path);
  h.set(QUERY, new URLSearchParams(request.query).toString());
  if (request.callbackUrl) h.set(CALLBACK, request.callbackUrl);
  for (const [name, value] of Object.entries(request.headers)) h.set(HEADER + name, value);
  return h;
}

/**
 * A function name (`[-a-zA-Z_0-9.]+`, anchors §A; `name.namespace`) as subject tokens: a dot starts a new token,
 * and NATS rejects empty tokens, so `.fn`, `fn.` and `a..b` cannot be queued.
 */
function functionSubject(name: string): string {
  if (!/^[-a-zA-Z_0-9]+(\.[-a-zA-Z_0-9]+)*$/.test(name)) {
    throw new TypeError(`function name "${name}" cannot be queued: it must match [-a-zA-Z_0-9]+ with single dots`);
  }
  return name;
}
