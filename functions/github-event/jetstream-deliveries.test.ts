// Delivery de-duplication that survives a restart (issue #10): github-event's X-GitHub-Delivery claims in a JetStream
// KV bucket on a real nats-server with an account (scripts/install-system-deps.sh installs it).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import examples from "@octokit/webhooks-examples/api.github.com/index.json" with { type: "json" };
import { pino } from "pino";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { natsConnectOptions, startNats, type Nats } from "../../local/services/nats.js";
import { repoint, startFrontDoor } from "../../test/support/front-door.js";
import type { Deliveries } from "../../shared/deliveries.js";
import { createJetStreamDeliveries } from "../../shared/jetstream-deliveries.js";

type Push = { ref?: string; installation?: { id: number } };
const pushes = (examples as Array<{ name: string; examples: Push[] }>).find((e) => e.name === "push")!.examples;
const master = pushes.find((p) => p.ref === "refs/heads/master" && p.installation)!;
const log = pino({ level: "silent" });

let dir: string;
let nats: Nats;
const opened: Deliveries[] = [];
/** A fresh store instance, as a restarted (or second) github-event makes: nothing shared but the server. */
const store = (overrides: { password?: string; bucket?: string } = {}) => {
  const deliveries = createJetStreamDeliveries({
    url: nats.url,
    user: nats.user,
    password: overrides.password ?? nats.password,
    bucket: overrides.bucket ?? "github-deliveries",
    log,
  });
  opened.push(deliveries);
  return deliveries;
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "ofc-deliveries-"));
  nats = await startNats({ dataDir: dir });
});
afterEach(async () => {
  await Promise.all(opened.splice(0).map((d) => d.close()));
});
afterAll(async () => {
  await nats?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("github-event with the JetStream delivery store", () => {
  it("a delivery built, then github-event rebuilt (restart) with a new store → the redelivery is a duplicate", async () => {
    const first = await startFrontDoor({ deliveries: store() });
    const body = repoint(master, first.standin.url);
    const built = await first.sendWebhook("push", body, { delivery: "restart-1" });
    expect(built.status).toBe(202);
    expect(first.queued).toHaveLength(1);
    await first.close();

    const restarted = await startFrontDoor({ deliveries: store() });
    try {
      const again = await restarted.sendWebhook("push", repoint(master, restarted.standin.url), {
        delivery: "restart-1",
      });
      expect(again.status).toBe(200);
      expect(again.data).toBe("delivery restart-1 was already received: ignored");
      expect(restarted.queued).toHaveLength(0);
      // Another delivery id still builds: the store refuses duplicates, not everything.
      const other = await restarted.sendWebhook("push", repoint(master, restarted.standin.url), {
        delivery: "restart-2",
      });
      expect(other.status).toBe(202);
    } finally {
      await restarted.close();
    }
  });

  it("a delivery that failed downstream is released → after a restart its redelivery builds", async () => {
    const first = await startFrontDoor({ deliveries: store() });
    first.state.failQueue = true;
    const failed = await first.sendWebhook("push", repoint(master, first.standin.url), { delivery: "released-1" });
    expect(failed.status).toBe(502);
    await first.close();

    const restarted = await startFrontDoor({ deliveries: store() });
    try {
      const retried = await restarted.sendWebhook("push", repoint(master, restarted.standin.url), {
        delivery: "released-1",
      });
      expect(retried.status).toBe(202);
      expect(restarted.queued).toHaveLength(1);
    } finally {
      await restarted.close();
    }
  });

  it("the store's account is refused (wrong password) → 503, nothing forwarded, never built twice", async () => {
    const door = await startFrontDoor({ deliveries: store({ password: "not-the-password" }) });
    try {
      const res = await door.sendWebhook("push", repoint(master, door.standin.url), { delivery: "no-store-1" });
      expect(res.status).toBe(503);
      expect(res.data).toBe("delivery store unavailable: redeliver the webhook later");
      expect(door.queued).toHaveLength(0);
    } finally {
      await door.close();
    }
  });
});

describe("createJetStreamDeliveries", () => {
  it("the same id claimed at once by two instances → exactly one wins", async () => {
    const [a, b] = [store({ bucket: "race" }), store({ bucket: "race" })];
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => (i % 2 ? a : b).claim("same-id")));
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it("claim → false on repeat; release → claimable again, by another instance too", async () => {
    const [a, b] = [store({ bucket: "cycle" }), store({ bucket: "cycle" })];
    expect(await a.claim("d")).toBe(true);
    expect(await b.claim("d")).toBe(false);
    await a.release("d");
    expect(await b.claim("d")).toBe(true);
    expect(await a.claim("d")).toBe(false);
  });

  it("the bucket keeps a claim for 24 hours (the stream's max age), one value per key", async () => {
    const deliveries = store({ bucket: "ttl" });
    await deliveries.claim("x");
    const nc = await connect(natsConnectOptions(nats));
    try {
      const { config } = await (await jetstreamManager(nc)).streams.info("KV_ttl");
      expect(config.max_age).toBe(24 * 60 * 60 * 1e9);
      expect(config.max_msgs_per_subject).toBe(1);
    } finally {
      await nc.close();
    }
  });

  it.each([
    ["a GUID", "72d3162e-cc78-11e3-81ab-4c9367dc0958"],
    ["characters KV keys cannot hold", "with space/and.dots*>"],
  ])("%s as the id → claimed once", async (_, id) => {
    const deliveries = store({ bucket: "ids" });
    expect(await deliveries.claim(id)).toBe(true);
    expect(await deliveries.claim(id)).toBe(false);
  });
});
