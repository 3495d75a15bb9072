import { pino } from "pino";
import type { FunctionEvent } from "../../shared/function-handler.js";
import type { Gateway, Invocation } from "../../shared/gateway.js";
import { signPayload } from "../../shared/hmac.js";
import { HttpError } from "../../shared/http-error.js";
import { createDeliveries, type Deliveries } from "../../shared/deliveries.js";
import { createEventRouter, type GithubEventDeps } from "./route-event.js";

// The router on its own, with the real delivery store and a gateway that records what github-event sends on
// (handler.test.ts has the same rules behind the local gateway, with the stand-in GitHub). Self-contained: it runs
// inside github-event's image build.
const SECRET = "webhook-secret";

interface Sent {
  kind: "invoke" | "invokeAsync";
  name: string;
  body: string;
  headers: Record<string, string> | undefined;
}

function recordingGateway(answer: Invocation = { status: 202, body: Buffer.from("queued"), headers: {} }) {
  const sent: Sent[] = [];
  const gateway = {
    invoke: (name: string, body: Buffer | string, headers?: Record<string, string>) => {
      sent.push({ kind: "invoke", name, body: body.toString(), headers });
      return Promise.resolve(answer);
    },
    invokeAsync: (name: string, body: Buffer | string, headers?: Record<string, string>) => {
      sent.push({ kind: "invokeAsync", name, body: body.toString(), headers });
      return Promise.resolve({});
    },
  } as Partial<Gateway> as Gateway;
  return { gateway, sent };
}

function router(overrides: Partial<GithubEventDeps> = {}) {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino(
    { level: "info" },
    { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
  );
  const { gateway, sent } = recordingGateway();
  const deps: GithubEventDeps = {
    webhookSecret: SECRET,
    validateHmac: true,
    gateway,
    deliveries: createDeliveries({ now: Date.now }),
    log,
    ...overrides,
  };
  return { route: createEventRouter(deps), sent, lines };
}

let deliveryCount = 0;
function webhook(name: string | undefined, payload: unknown, extra: Partial<FunctionEvent> = {}): FunctionEvent {
  const body = Buffer.from(JSON.stringify(payload));
  const headers: Record<string, string> = {
    "x-hub-signature-256": signPayload(SECRET, body),
    "x-github-delivery": `delivery-${++deliveryCount}`,
  };
  if (name !== undefined) headers["x-github-event"] = name;
  return { body, headers, method: "POST", query: {}, path: "/", ...extra };
}

const push = (installation: { id: number } | null = { id: 7 }) => ({
  ref: "refs/heads/main",
  after: "a".repeat(40),
  repository: {
    name: "fns",
    full_name: "alice/fns",
    clone_url: "https://github.com/alice/fns.git",
    html_url: "https://github.com/alice/fns",
    private: false,
    default_branch: "main",
    owner: { login: "alice", id: 1001 },
  },
  ...(installation ? { installation } : {}),
});
const installation = (action: string, login = "alice") => ({
  action,
  installation: { id: 7, account: { login, id: 1001 } },
});

/** The HttpError a route rejected with, or a failure when it resolved. */
async function refusal(promise: Promise<unknown>): Promise<HttpError> {
  const error = await promise.then(
    () => new Error("expected a refusal"),
    (e: unknown) => e,
  );
  if (!(error instanceof HttpError)) throw error;
  return error;
}

describe("createEventRouter: forwarding a push", () => {
  it("a push → github-push gets the same bytes as JSON with the event and delivery headers; its trimmed answer", async () => {
    const { gateway, sent } = recordingGateway({ status: 202, body: Buffer.from("  queued\n"), headers: {} });
    const { route } = router({ gateway });
    const event = webhook("push", push());
    expect(await route(event)).toEqual({ status: 202, body: "[github-push]: 202, queued" });
    expect(sent).toEqual([
      {
        kind: "invoke",
        name: "github-push",
        body: event.body.toString(),
        headers: {
          "content-type": "application/json",
          "x-github-event": "push",
          "x-github-delivery": event.headers["x-github-delivery"],
        },
      },
    ]);
  });

  it("a push without installation.id → 400 naming the GitHub App, nothing forwarded", async () => {
    const { route, sent } = router();
    const error = await refusal(route(webhook("push", push(null))));
    expect([error.status, error.message]).toEqual([
      400,
      "push event: installation.id missing: the webhook must come from the GitHub App",
    ]);
    expect(sent).toEqual([]);
  });

  it.each([
    [500, 502],
    [503, 502],
    [400, 400],
    [401, 401],
  ])("github-push answers %i → %i naming github-push's status and text", async (status, expected) => {
    const { gateway } = recordingGateway({ status, body: Buffer.from(" it said no \n"), headers: {} });
    const { route } = router({ gateway });
    const error = await refusal(route(webhook("push", push())));
    expect([error.status, error.message]).toEqual([expected, `[github-push]: ${status}, it said no`]);
  });

  it("github-push answers 399 or 200 → passed on as they are", async () => {
    for (const status of [200, 399]) {
      const { gateway } = recordingGateway({ status, body: Buffer.from("fine"), headers: {} });
      const { route } = router({ gateway });
      expect(await route(webhook("push", push()))).toEqual({ status, body: `[github-push]: ${status}, fine` });
    }
  });
});

describe("createEventRouter: installations", () => {
  it("an uninstall → garbage-collect queued with a JSON request for every function of the owner", async () => {
    const { route, sent } = router();
    expect(await route(webhook("installation", installation("deleted")))).toEqual({
      status: 200,
      body: "Message received with event: installation",
    });
    expect(sent).toEqual([
      {
        kind: "invokeAsync",
        name: "garbage-collect",
        body: JSON.stringify({ functions: [], repo: "*", owner: "alice", ownerId: 1001 }),
        headers: { "content-type": "application/json" },
      },
    ]);
  });

  // Issue #17: GitHub still sends Apps made before the rename the retired integration_ names, with the same bodies.
  it.each([
    ["integration_installation", { ...installation("deleted") }, { functions: [], repo: "*" }],
    [
      "integration_installation_repositories",
      { ...installation("removed"), repositories_removed: [{ name: "Fns" }] },
      { functions: [], repo: "fns" },
    ],
  ])("%s → handled as its current name: garbage-collect queued", async (name, payload, request) => {
    const { route, sent } = router();
    expect(await route(webhook(name, payload))).toEqual({
      status: 200,
      body: `Message received with event: ${name.replace("integration_", "")}`,
    });
    expect(sent.map((s) => [s.name, JSON.parse(s.body) as unknown])).toEqual([
      ["garbage-collect", { ...request, owner: "alice", ownerId: 1001 }],
    ]);
  });

  it.each(["integration", "constructor", "__proto__"])("event %j → cannot handle, nothing sent", async (name) => {
    const { route, sent } = router();
    expect(await route(webhook(name, installation("deleted")))).toEqual({
      status: 200,
      body: `github-event cannot handle event: ${name}`,
    });
    expect(sent).toEqual([]);
  });

  it("a new installation by an owner not on the customers list → 403 (it removes nothing, so the list applies)", async () => {
    const { route, sent } = router({ customers: { has: (login) => Promise.resolve(login === "bob") } });
    const error = await refusal(route(webhook("installation", installation("created"))));
    expect([error.status, error.message]).toEqual([403, 'Customer: "alice" not found in customers ACL']);
    expect(sent).toEqual([]);
    expect(await route(webhook("installation", installation("created", "bob")))).toMatchObject({ status: 200 });
  });
});

describe("createEventRouter: front-door refusals", () => {
  it("not a POST → 405 saying POST webhooks only", async () => {
    const { route } = router();
    const error = await refusal(route(webhook("push", push(), { method: "GET" })));
    expect([error.status, error.message]).toEqual([405, "github-event accepts POST webhooks only"]);
  });

  it("no X-GitHub-Event header → 200 cannot handle an empty event name, nothing forwarded", async () => {
    const { route, sent } = router();
    expect(await route(webhook(undefined, push()))).toEqual({
      status: 200,
      body: "github-event cannot handle event: ",
    });
    expect(sent).toEqual([]);
  });

  it("validate_hmac off → an unsigned push is forwarded (the operator's choice); on → 401", async () => {
    const event = webhook("push", push());
    const unsigned = { ...event, headers: { ...event.headers, "x-hub-signature-256": undefined } };
    const error = await refusal(router().route(unsigned));
    expect([error.status, error.message]).toEqual([401, "invalid or missing X-Hub-Signature-256"]);
    const { route, sent } = router({ validateHmac: false });
    expect(await route(unsigned)).toMatchObject({ status: 202 });
    expect(sent).toHaveLength(1);
  });

  it("no X-GitHub-Delivery header → 400 naming it", async () => {
    const { route } = router();
    const event = webhook("push", push());
    const headers = { ...event.headers, "x-github-delivery": undefined };
    const error = await refusal(route({ ...event, headers }));
    expect([error.status, error.message]).toEqual([400, "missing X-GitHub-Delivery header"]);
  });

  it("the delivery store down → 503 asking for a redelivery, its error as the cause, nothing forwarded", async () => {
    const down = new Error("nats: connection refused");
    const deliveries: Deliveries = {
      claim: () => Promise.reject(down),
      release: () => Promise.resolve(),
      close: () => Promise.resolve(),
    };
    const { route, sent } = router({ deliveries });
    const error = await refusal(route(webhook("push", push())));
    expect([error.status, error.message, error.cause]).toEqual([
      503,
      "delivery store unavailable: redeliver the webhook later",
      down,
    ]);
    expect(sent).toEqual([]);
  });

  it("a failed push whose delivery cannot be released → the push's error, and a warning naming the delivery", async () => {
    const { gateway } = recordingGateway({ status: 500, body: Buffer.from("boom"), headers: {} });
    const real = createDeliveries({ now: Date.now });
    const deliveries: Deliveries = {
      claim: (id) => real.claim(id),
      release: () => Promise.reject(new Error("nats: gone")),
      close: () => real.close(),
    };
    const { route, lines } = router({ gateway, deliveries });
    const event = webhook("push", push());
    const error = await refusal(route(event));
    expect([error.status, error.message]).toEqual([502, "[github-push]: 500, boom"]);
    expect(lines).toContainEqual(
      expect.objectContaining({
        msg: "could not release the delivery",
        delivery: event.headers["x-github-delivery"],
        err: expect.objectContaining({ message: "nats: gone" }) as unknown,
      }),
    );
  });
});
