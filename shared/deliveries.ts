/**
 * Remembers X-GitHub-Delivery ids (and gitlab-event's X-Gitlab-Event-UUID ids, issue #19) so a redelivered webhook
 * does not build twice. A claim is released when the delivery fails, so GitHub's "Redeliver" still works after a
 * fault. Kept for 24 hours (GitHub lets a delivery be redelivered for 3 days, but automatic retries come within
 * minutes).
 */
export interface Deliveries {
  /** `false` when this id was already claimed and not released. */
  claim(id: string): Promise<boolean>;
  release(id: string): Promise<void>;
  /** Lets go of a connection the store holds; the in-memory store has none. */
  close(): Promise<void>;
}

/** How long a claimed delivery id is remembered. */
export const DELIVERY_TTL_MS = 24 * 60 * 60_000;

/**
 * Delivery ids in this process's memory, bounded in time and size: the default, for a runtime without a shared
 * store. A restart forgets them (jetstream-deliveries.ts does not).
 */
export function createDeliveries(deps: { now: () => number; ttlMs?: number; max?: number }): Deliveries {
  const ttl = deps.ttlMs ?? DELIVERY_TTL_MS;
  const max = deps.max ?? 10_000;
  const seen = new Map<string, number>(); // id → expiry; Map keeps insertion order, oldest first

  function evict(now: number): void {
    for (const [id, expires] of seen) {
      if (expires > now && seen.size <= max) break;
      seen.delete(id);
    }
  }

  return {
    claim(id) {
      const now = deps.now();
      // Every id gets the same TTL and a new one is only ever appended, so expiries are in Map order and evict() has
      // just dropped every expired id: whatever is still there is live.
      evict(now);
      if (seen.has(id)) return Promise.resolve(false);
      seen.set(id, now + ttl);
      return Promise.resolve(true);
    },
    release(id) {
      seen.delete(id);
      return Promise.resolve();
    },
    close: () => Promise.resolve(),
  };
}
