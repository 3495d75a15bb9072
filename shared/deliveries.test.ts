import { createDeliveries, DELIVERY_TTL_MS } from "./deliveries.js";

/** A store on a clock the test moves. */
function store(options: { ttlMs?: number; max?: number } = {}) {
  const clock = { now: 1_000_000 };
  return { clock, deliveries: createDeliveries({ now: () => clock.now, ...options }) };
}

describe("createDeliveries (in memory)", () => {
  it("a new id → claimed; the same id again → refused", async () => {
    const { deliveries } = store();
    await expect(deliveries.claim("a")).resolves.toBe(true);
    await expect(deliveries.claim("a")).resolves.toBe(false);
    await expect(deliveries.claim("b")).resolves.toBe(true);
  });

  it("a released id → claimable again (GitHub's Redeliver after a fault)", async () => {
    const { deliveries } = store();
    await deliveries.claim("a");
    await deliveries.release("a");
    await expect(deliveries.claim("a")).resolves.toBe(true);
    await expect(deliveries.claim("a")).resolves.toBe(false);
  });

  it("remembered for 24 hours by default: refused 1 ms before, claimable at the expiry", async () => {
    const { clock, deliveries } = store();
    await deliveries.claim("a");
    clock.now += DELIVERY_TTL_MS - 1;
    await expect(deliveries.claim("a")).resolves.toBe(false);
    clock.now += 1;
    await expect(deliveries.claim("a")).resolves.toBe(true);
    expect(DELIVERY_TTL_MS).toBe(24 * 60 * 60_000);
  });

  it("a custom TTL → used instead of 24 hours", async () => {
    const { clock, deliveries } = store({ ttlMs: 1000 });
    await deliveries.claim("a");
    clock.now += 999;
    await expect(deliveries.claim("a")).resolves.toBe(false);
    clock.now += 1;
    await expect(deliveries.claim("a")).resolves.toBe(true);
  });

  // Issue #12: a flood of distinct delivery ids must not grow the process's memory without bound.
  it("max 3 → the 4th id evicts the oldest, which is claimable again; the newer ones are still refused", async () => {
    const { deliveries } = store({ max: 3 });
    for (const id of ["a", "b", "c", "d"]) await expect(deliveries.claim(id)).resolves.toBe(true);
    await expect(deliveries.claim("d")).resolves.toBe(false);
    await expect(deliveries.claim("c")).resolves.toBe(false);
    await expect(deliveries.claim("b")).resolves.toBe(false);
    await expect(deliveries.claim("a")).resolves.toBe(true);
  });

  it("max 3 with exactly 3 ids → none evicted", async () => {
    const { deliveries } = store({ max: 3 });
    for (const id of ["a", "b", "c"]) await deliveries.claim(id);
    // A claim of a known id evicts nothing either: all three are still refused.
    for (const id of ["a", "b", "c"]) await expect(deliveries.claim(id)).resolves.toBe(false);
  });

  it("by default at most 10 000 ids: the 10 001st evicts the first", async () => {
    const { deliveries } = store();
    for (let i = 0; i <= 10_000; i++) await deliveries.claim(`id-${i}`);
    await expect(deliveries.claim("id-1")).resolves.toBe(false);
    await expect(deliveries.claim("id-0")).resolves.toBe(true);
  });

  it("expired ids are dropped first, so fresh ones are not evicted early", async () => {
    const { clock, deliveries } = store({ ttlMs: 1000, max: 2 });
    await deliveries.claim("old");
    clock.now += 1000;
    await deliveries.claim("a");
    await deliveries.claim("b");
    await expect(deliveries.claim("a")).resolves.toBe(false);
    await expect(deliveries.claim("b")).resolves.toBe(false);
  });

  it("close → resolves (nothing to let go of)", async () => {
    await expect(store().deliveries.close()).resolves.toBeUndefined();
  });
});
