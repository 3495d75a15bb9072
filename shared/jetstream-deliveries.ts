import { createHash } from "node:crypto";
import { JetStreamApiCodes, JetStreamApiError } from "@nats-io/jetstream";
import { Kvm, type KV } from "@nats-io/kv";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import { DELIVERY_TTL_MS, type Deliveries } from "./deliveries.js";

/** Where the delivery ids live: a NATS server with JetStream, and its credentials when it asks for them. */
export interface JetStreamDeliveriesOptions {
  url: string;
  user?: string;
  password?: string;
  /** The KV bucket; every github-event and gitlab-event replica shares it (gitlab-event prefixes its ids `gitlab-`). */
  bucket?: string;
  ttlMs?: number;
  /** The connection's name, as NATS monitoring shows it: the function's. github-event when absent. */
  client?: string;
  log: Logger;
}

export const DELIVERIES_BUCKET = "github-deliveries";

// KV keys are limited to [-/_=.a-zA-Z0-9]; GitHub's ids (GUIDs) are used as they are, anything else by its hash.
const keyOf = (id: string) =>
  /^[-_a-zA-Z0-9]{1,128}$/.test(id) ? id : `sha256-${createHash("sha256").update(id).digest("hex")}`;

// kv.create answers "wrong last sequence" when the key already holds a value: someone claimed it first.
const alreadyClaimed = (error: unknown) =>
  error instanceof JetStreamApiError &&
  (error.code === JetStreamApiCodes.StreamWrongLastSequence ||
    error.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown);

/**
 * Delivery ids in a JetStream KV bucket (issue #10): a claim is `kv.create`, which only succeeds when the key is
 * absent (or released), so a restarted or second github-event refuses a redelivery the first one took. Keys expire
 * with the bucket's max age (24 h). The connection is opened on the first claim, not at start, and opened again
 * after it closed for good.
 */
export function createJetStreamDeliveries(options: JetStreamDeliveriesOptions): Deliveries {
  let opened: Promise<{ nc: NatsConnection; kv: KV }> | undefined;

  function open() {
    opened ??= (async () => {
      const nc = await connect({
        servers: options.url,
        name: options.client ?? "github-event",
        ...(options.user ? { user: options.user, pass: options.password ?? "" } : {}),
        timeout: 5_000,
      });
      try {
        const kv = await new Kvm(nc).create(options.bucket ?? DELIVERIES_BUCKET, {
          ttl: options.ttlMs ?? DELIVERY_TTL_MS,
          history: 1,
        });
        options.log.debug({ bucket: options.bucket ?? DELIVERIES_BUCKET }, "delivery store connected");
        return { nc, kv };
      } catch (error) {
        await nc.close();
        throw error;
      }
    })();
    opened.catch(() => (opened = undefined));
    return opened;
  }

  /** Runs `work` on the bucket; a connection that has closed for good is dropped so the next call reconnects. */
  async function withKv<T>(work: (kv: KV) => Promise<T>): Promise<T> {
    const { nc, kv } = await open();
    try {
      return await work(kv);
    } catch (error) {
      if (nc.isClosed() && opened) opened = undefined;
      throw error;
    }
  }

  return {
    claim: (id) =>
      withKv(async (kv) => {
        try {
          await kv.create(keyOf(id), new TextEncoder().encode(id));
          return true;
        } catch (error) {
          if (alreadyClaimed(error)) return false;
          throw error;
        }
      }),
    // A delete marker: kv.create on the key succeeds again, so GitHub's "Redeliver" of a failed delivery builds.
    release: (id) => withKv((kv) => kv.delete(keyOf(id))),
    async close() {
      const current = opened;
      opened = undefined;
      const connection = await current?.catch(() => undefined);
      await connection?.nc.close();
    },
  };
}
