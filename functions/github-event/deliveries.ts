/**
 * Remembers X-GitHub-Delivery ids so a redelivered webhook does not build twice. A claim is released when the
 * delivery fails, so GitHub's "Redeliver" still works after a fault. Bounded in time and size.
 */
export interface Deliveries {
  /** `false` when this id was already claimed and not released. */
  claim(id: string): boolean;
  release(id: string): void;
}

export function createDeliveries(deps: { now: () => number; ttlMs?: number; max?: number }): Deliveries {
  const ttl = deps.ttlMs ?? 24 * 60 * 60_000;
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
      evict(now);
      const expires = seen.get(id);
      if (expires !== undefined && expires > now) return false;
      seen.set(id, now + ttl);
      return true;
    },
    release(id) {
      seen.delete(id);
    },
  };
}
