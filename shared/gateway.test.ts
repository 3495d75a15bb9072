import axios from "axios";
import { pino } from "pino";
import { startRecorder, type Answer, type RecordedRequest } from "../test/support/http-recorder.js";
import { createGateway } from "./gateway.js";
import { verifyHop } from "./hmac.js";

const log = pino({ level: "silent" });
const noWait = () => Promise.resolve();

async function withGateway(
  answer: (req: RecordedRequest, i: number) => Answer,
  test: (gateway: ReturnType<typeof createGateway>, requests: RecordedRequest[]) => Promise<void>,
) {
  const server = await startRecorder(answer);
  const gateway = createGateway({
    url: server.url,
    payloadSecret: "payload",
    auth: { user: "admin", password: "pw" },
    http: axios.create(),
    log,
    sleep: noWait,
  });
  try {
    await test(gateway, server.requests);
  } finally {
    await server.close();
  }
}

describe("gateway client", () => {
  it("invoke → POST /function/<name> with the body signed by the payload secret, no basic auth", () =>
    withGateway(
      () => ({ status: 200, body: "ok" }),
      async (gateway, requests) => {
        const res = await gateway.invoke("github-push", '{"a":1}', { "x-github-event": "push" });
        expect(res.status).toBe(200);
        expect(res.body.toString()).toBe("ok");
        const [req] = requests;
        expect(req?.path).toBe("/function/github-push");
        expect(req?.headers["x-github-event"]).toBe("push");
        expect(req?.headers.authorization).toBeUndefined();
        const signature = req!.headers["x-cloud-signature-256"] as string;
        expect(verifyHop("payload", "github-push", req!.body, signature)).toBe(true);
        // Bound to the function it was sent to: the same hop replayed at git-tar fails.
        expect(verifyHop("payload", "git-tar", req!.body, signature)).toBe(false);
      },
    ));

  // Issue #10: a stage whose own caller gave up abandons its hand-offs instead of waiting for them.
  it("invoke whose signal aborts while the function runs → HttpError 502 at once, not retried", async () => {
    const server = await startRecorder(() => new Promise<Answer>(() => undefined));
    const gateway = createGateway({ url: server.url, payloadSecret: "payload", http: axios.create(), log });
    try {
      const controller = new AbortController();
      const call = gateway.invoke("buildshiprun", "tar", {}, { signal: controller.signal });
      while (server.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
      controller.abort();
      await expect(call).rejects.toMatchObject({ status: 502 });
      expect(server.requests).toHaveLength(1);
    } finally {
      await server.close();
    }
  });

  it("invokeAsync → 202 resolves with the call id", () =>
    withGateway(
      () => ({ status: 202, headers: { "x-call-id": "abc" } }),
      async (gateway, requests) => {
        await expect(gateway.invokeAsync("git-tar", "{}")).resolves.toEqual({ callId: "abc" });
        expect(requests[0]?.path).toBe("/async-function/git-tar");
      },
    ));

  it("invokeAsync 503 twice then 202 → retried, resolves", () =>
    withGateway(
      (_, i) => (i < 2 ? { status: 503 } : { status: 202 }),
      async (gateway, requests) => {
        await gateway.invokeAsync("git-tar", "{}");
        expect(requests).toHaveLength(3);
      },
    ));

  it("invokeAsync 500 on every attempt → HttpError 502 after 1 + 3 attempts", () =>
    withGateway(
      () => ({ status: 500, body: "queue down" }),
      async (gateway, requests) => {
        await expect(gateway.invokeAsync("git-tar", "{}")).rejects.toMatchObject({
          status: 502,
          message: "gateway: async-function/git-tar answered 500: queue down",
        });
        expect(requests).toHaveLength(4);
      },
    ));

  it("invoke answered 500 by the function → returned as is, not retried (it may have had effects)", () =>
    withGateway(
      () => ({ status: 500, body: "boom" }),
      async (gateway, requests) => {
        expect((await gateway.invoke("x", "b")).status).toBe(500);
        expect(requests).toHaveLength(1);
      },
    ));

  it("a 4xx → never retried", () =>
    withGateway(
      () => ({ status: 400, body: "bad" }),
      async (gateway, requests) => {
        await expect(gateway.invokeAsync("git-tar", "{}")).rejects.toMatchObject({ status: 502 });
        expect(requests).toHaveLength(1);
      },
    ));

  it("connection refused → retried, then HttpError 502 'gateway unreachable'", async () => {
    const gateway = createGateway({
      url: "http://127.0.0.1:1/",
      payloadSecret: "p",
      http: axios.create(),
      log,
      sleep: noWait,
    });
    await expect(gateway.invoke("x", "b")).rejects.toMatchObject({
      status: 502,
      message: expect.stringMatching(/^gateway unreachable/),
    });
  });

  it("create: one POST with basic auth and the deployment JSON", () =>
    withGateway(
      () => ({ status: 202 }),
      async (gateway, requests) => {
        await gateway.create({ service: "alex--fn", image: "r/alex/fn:1" });
        expect(requests.map((r) => `${r.method} ${r.path}`)).toEqual(["POST /system/functions"]);
        expect(requests[0]?.headers.authorization).toBe(`Basic ${Buffer.from("admin:pw").toString("base64")}`);
        expect(JSON.parse(requests[0]!.body.toString())).toEqual({ service: "alex--fn", image: "r/alex/fn:1" });
      },
    ));

  it("update: PUT 400 → HttpError with the gateway's status and message", () =>
    withGateway(
      () => ({ status: 400, body: "image is required" }),
      async (gateway) => {
        await expect(gateway.update({ service: "a", image: "" })).rejects.toMatchObject({
          message: "gateway: PUT /system/functions answered 400: image is required",
        });
      },
    ));

  it("create: the function exists meanwhile (500) → HttpError with the provider's text, one POST, never a PUT", () =>
    withGateway(
      () => ({ status: 500, body: "unable to create function: alice--api already exists" }),
      async (gateway, requests) => {
        await expect(gateway.create({ service: "alice--api", image: "r/alice/fns--api:1" })).rejects.toMatchObject({
          status: 502,
          message: "gateway: POST /system/functions answered 500: unable to create function: alice--api already exists",
        });
        expect(requests.map((r) => `${r.method} ${r.path}`)).toEqual(["POST /system/functions"]);
        expect(requests[0]?.headers.authorization).toBe(`Basic ${Buffer.from("admin:pw").toString("base64")}`);
      },
    ));

  it("update: the function is gone (404) → HttpError, one PUT, never a POST", () =>
    withGateway(
      () => ({ status: 404, body: "function alice--api not found" }),
      async (gateway, requests) => {
        await expect(gateway.update({ service: "alice--api", image: "i" })).rejects.toMatchObject({
          message: "gateway: PUT /system/functions answered 404: function alice--api not found",
        });
        expect(requests.map((r) => `${r.method} ${r.path}`)).toEqual(["PUT /system/functions"]);
      },
    ));

  it("list with namespace → GET ?namespace=, parsed", () =>
    withGateway(
      () => ({ status: 200, body: [{ name: "alex-fn", image: "i", labels: { a: "b" } }] }),
      async (gateway, requests) => {
        await expect(gateway.listFunctions("openfaas-fn")).resolves.toEqual([
          { name: "alex-fn", image: "i", labels: { a: "b" } },
        ]);
        expect(requests[0]?.path).toBe("/system/functions?namespace=openfaas-fn");
      },
    ));

  it("info → GET /system/info with basic auth, the provider's name parsed", () =>
    withGateway(
      () => ({
        status: 200,
        body: {
          provider: {
            provider: "faas-netes-ce",
            orchestration: "kubernetes",
            version: { release: "0.18.17", sha: "x" },
          },
          version: { release: "0.27.14", sha: "y" },
          arch: "x86_64",
        },
      }),
      async (gateway, requests) => {
        expect((await gateway.info()).provider.provider).toBe("faas-netes-ce");
        expect(requests.map((r) => `${r.method} ${r.path}`)).toEqual(["GET /system/info"]);
        expect(requests[0]?.headers.authorization).toBe(`Basic ${Buffer.from("admin:pw").toString("base64")}`);
      },
    ));

  it.each([
    [
      "401",
      { status: 401, body: "invalid credentials" },
      "gateway: GET /system/info answered 401: invalid credentials",
    ],
    [
      "200 with a page, not JSON",
      { status: 200, body: "<html>" },
      "gateway: GET /system/info answered without a provider name",
    ],
    [
      "200 without a provider name",
      { status: 200, body: { version: {} } },
      "gateway: GET /system/info answered without a provider name",
    ],
  ])("info answered %s → HttpError 502 naming it", (_, answer, message) =>
    withGateway(
      () => answer,
      async (gateway) => {
        await expect(gateway.info()).rejects.toMatchObject({ status: 502, message });
      },
    ),
  );

  it("remove: 404 → false; 200 → true; body carries functionName", () =>
    withGateway(
      (_, i) => ({ status: i === 0 ? 404 : 200 }),
      async (gateway, requests) => {
        await expect(gateway.remove("alex-gone")).resolves.toBe(false);
        await expect(gateway.remove("alex-fn", "openfaas-fn")).resolves.toBe(true);
        expect(JSON.parse(requests[1]!.body.toString())).toEqual({ functionName: "alex-fn", namespace: "openfaas-fn" });
        expect(requests[1]?.method).toBe("DELETE");
      },
    ));
});
