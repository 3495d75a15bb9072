// faas-cli 0.18 against the local gateway's /system/logs, /system/scale-function and DELETE /system/secrets (issue #13):
// the exact requests shared/reference/faas-cli-requests.md records, and answers faas-cli's proxy/*.go would take.
// Needs root: a real dockerd, registry and function container (DESIGN §8).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { startGateway } from "../local/gateway.js";
import { createLocalProvider, type LocalProvider, type LocalProviderDeps } from "../local/provider/provider.js";
import { faasCliBody, send, startInfra, until, type Infra } from "../local/provider/test-support.js";

const AUTH = { user: "admin", password: "faas-cli-pw" };
const BASIC = `Basic ${Buffer.from(`${AUTH.user}:${AUTH.password}`).toString("base64")}`;
const FN = "alice--logger";
const timings: Record<string, number> = {};

// What faas-cli 0.18.12 takes from each endpoint (faas-cli-requests.md, "Accepted answers"); anything else it prints
// as "unexpected status code".
const ACCEPTS = { logs: [200], scale: [200, 201, 202], secretRemove: [200, 202] } as const;
// faas-provider logs.Message as faas-cli decodes it: Go's time.Time takes RFC 3339 (with or without fractions).
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;

interface Message {
  name: string;
  namespace: string;
  instance: string;
  timestamp: string;
  text: string;
}

describe("faas-cli 0.18's logs, scale and secret remove requests against the local gateway", () => {
  let dir: string;
  let infra: Infra | undefined;
  let provider: LocalProvider | undefined;
  let gateway: Awaited<ReturnType<typeof startGateway>> | undefined;
  let deps: LocalProviderDeps;
  const queue = { enqueue: () => Promise.resolve() };
  const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    send(gateway!.url, method, path, body, { authorization: BASIC, ...headers });
  const status = async () =>
    (await call("GET", `/system/function/${FN}`)).json<{ replicas: number; availableReplicas: number }>();
  /** The ndjson body as faas-cli's decoder reads it: one JSON object per line, each a logs.Message. */
  function messages(text: string): Message[] {
    const lines = text.split("\n").filter((l) => l !== "");
    return lines.map((line) => {
      const message = JSON.parse(line) as Message;
      expect(Object.keys(message).sort()).toEqual(["instance", "name", "namespace", "text", "timestamp"]);
      expect(message.timestamp).toMatch(RFC3339);
      return message;
    });
  }

  /** Waits until the daemon has the line: Docker copies a container's output to its log asynchronously. */
  const logged = (text: string) =>
    until(`"${text}" in the log`, async () => {
      const res = await call("GET", `/system/logs?name=${FN}&tail=20`);
      return res.text.includes(JSON.stringify(text)) ? true : undefined;
    });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "ofc-cli-"));
    let started = performance.now();
    infra = await startInfra(dir);
    timings["services + image"] = Math.round(performance.now() - started);
    deps = {
      socketPath: infra.socketPath,
      dockerConfig: infra.dockerConfig,
      stateDir: join(dir, "state"),
      log: pino({ level: "silent" }),
      now: () => new Date(),
    };
    provider = createLocalProvider(deps);
    gateway = await startGateway({ functions: new Map(), queue, log: deps.log, provider, auth: AUTH });
    started = performance.now();
    expect((await call("POST", "/system/functions", faasCliBody(FN, infra.image, {}))).status).toBe(202);
    await until("ready", async () => ((await status()).availableReplicas === 1 ? true : undefined));
    timings["deploy → ready"] = Math.round(performance.now() - started);
  }, 300_000);

  afterAll(async () => {
    await gateway?.close();
    provider?.close();
    await infra?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
    console.log(`timings (ms): ${JSON.stringify(timings)}`);
  }, 120_000);

  it("`faas-cli logs <fn> --tail=false` → 200 ndjson of {name, namespace, instance, timestamp, text}: stdout and stderr lines", async () => {
    await call("POST", `/function/${FN}/first?stderr=first-error`, "x");
    await call("GET", `/function/${FN}/second`);
    await logged("GET /second");
    // The request recorded from faas-cli: follow=false, name, tail=-1, and only the authorization header.
    const res = await send(gateway!.url, "GET", `/system/logs?follow=false&name=${FN}&tail=-1`, undefined, {
      authorization: BASIC,
    });
    expect(ACCEPTS.logs).toContain(res.status);
    expect(res.headers.get("content-type")).toBe("application/x-ndjson");
    const lines = messages(res.text);
    const texts = lines.map((m) => m.text);
    expect(texts).toEqual(expect.arrayContaining(["POST /first?stderr=first-error", "first-error", "GET /second"]));
    expect(texts.indexOf("GET /second")).toBeGreaterThan(texts.indexOf("first-error"));
    const container = await infra!.docker.inspect(`ofc-fn-${FN}`);
    for (const m of lines) {
      expect([m.name, m.namespace, m.instance]).toEqual([FN, "openfaas-fn", container.Id.slice(0, 12)]);
    }
    // Sorted by time, as the daemon stores them.
    expect(lines.map((m) => m.timestamp)).toEqual(lines.map((m) => m.timestamp).sort());
  });

  it("`faas-cli logs <fn> --since 1m --lines 5 --tail=false` (name with .openfaas-fn too) → the last 5 lines, none before since", async () => {
    for (let i = 0; i < 8; i++) await call("GET", `/function/${FN}/n${i}`);
    await logged("GET /n7");
    const since = new Date(Date.now() - 60_000).toISOString().replace(/\.\d+Z$/, "Z");
    for (const name of [FN, `${FN}.openfaas-fn`]) {
      const query = `follow=false&name=${name}&since=${encodeURIComponent(since)}&tail=5`;
      const res = await call("GET", `/system/logs?${query}`);
      expect(ACCEPTS.logs).toContain(res.status);
      const lines = messages(res.text);
      expect(lines.map((m) => m.text)).toEqual(["GET /n3", "GET /n4", "GET /n5", "GET /n6", "GET /n7"]);
      for (const m of lines) expect(Date.parse(m.timestamp)).toBeGreaterThanOrEqual(Date.parse(since));
    }
    const future = encodeURIComponent(new Date(Date.now() + 3_600_000).toISOString());
    expect((await call("GET", `/system/logs?name=${FN}&since=${future}`)).text).toBe("");
  });

  it("logs: unknown function → 404 naming it; bad tail or since → 422; another namespace → 400; no credentials → 401", async () => {
    const unknown = await call("GET", "/system/logs?follow=false&name=nobody&tail=-1");
    // faas-cli prints: server returned unexpected status code: 404 - function nobody not found
    expect([unknown.status, unknown.text]).toEqual([404, "function nobody not found"]);
    expect((await call("GET", `/system/logs?name=${FN}&tail=five`)).status).toBe(422);
    expect((await call("GET", `/system/logs?name=${FN}&since=yesterday`)).status).toBe(422);
    expect((await call("GET", `/system/logs?name=${FN}&namespace=kube-system`)).status).toBe(400);
    expect((await call("GET", `/system/logs?name=${FN}`, undefined, { authorization: "" })).status).toBe(401);
  });

  it("`faas-cli logs <fn>` (follow=true) → lines arrive as the function writes them; the stream ends when the client goes away", async () => {
    const client = new AbortController();
    const res = await fetch(`${gateway!.url}system/logs?follow=true&name=${FN}&tail=1`, {
      headers: { authorization: BASIC },
      signal: client.signal,
    });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    let received = "";
    const started = performance.now();
    await call("GET", `/function/${FN}/followed`);
    while (!received.includes("GET /followed")) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`stream ended early: ${received}`);
      received += Buffer.from(value).toString("utf8");
    }
    timings["follow: call → line"] = Math.round(performance.now() - started);
    expect(messages(received.slice(0, received.lastIndexOf("\n") + 1)).at(-1)?.text).toBe("GET /followed");
    client.abort();
    // The gateway is still answering, and the Docker log request was let go (no error, nothing stuck).
    expect((await call("GET", "/system/functions")).status).toBe(200);
  });

  it("`scale` {serviceName, replicas: 0} → 202, container stopped, replicas 0; logs still read; a call scales it from zero", async () => {
    const asked = performance.now();
    const json = { "content-type": "application/json" };
    const res = await call("POST", `/system/scale-function/${FN}`, { serviceName: FN, replicas: 0 }, json);
    expect(ACCEPTS.scale).toContain(res.status);
    expect(res.status).toBe(202);
    timings["scale to 0: answered"] = Math.round(performance.now() - asked);
    expect(await status()).toMatchObject({ replicas: 0, availableReplicas: 0 });
    // Stopped in the background: SIGTERM, which the test server exits on.
    await until(
      "stopped",
      async () => ((await infra!.docker.inspect(`ofc-fn-${FN}`)).State.Running ? undefined : true),
      20_000,
    );
    const logs = await call("GET", `/system/logs?follow=false&name=${FN}&tail=1`);
    expect([logs.status, messages(logs.text).length]).toEqual([200, 1]);

    const started = performance.now();
    const woken = await call("GET", `/function/${FN}/woken`);
    timings["scale from zero: call answered"] = Math.round(performance.now() - started);
    expect([woken.status, woken.json().url]).toEqual([200, "/woken"]);
    expect(await status()).toMatchObject({ replicas: 1, availableReplicas: 1 });
  }, 60_000);

  it("`scale` to 3 → 202 and one container (one per function: replicas 1); 1 after 0 → running again", async () => {
    const body = (replicas: number) => ({ serviceName: FN, replicas, namespace: "openfaas-fn" });
    expect((await call("POST", `/system/scale-function/${FN}`, body(3))).status).toBe(202);
    expect(await status()).toMatchObject({ replicas: 1, availableReplicas: 1 });
    expect((await call("POST", `/system/scale-function/${FN}`, body(0))).status).toBe(202);
    expect((await call("POST", `/system/scale-function/${FN}`, body(1))).status).toBe(202);
    expect((await status()).replicas).toBe(1);
    await until("available again", async () => ((await status()).availableReplicas === 1 ? true : undefined));
    expect((await infra!.docker.inspect(`ofc-fn-${FN}`)).State.Running).toBe(true);
  }, 60_000);

  it("a followed log stream outlives its container: scaled to 0 and back, the next call's line still arrives", async () => {
    const client = new AbortController();
    const res = await fetch(`${gateway!.url}system/logs?follow=true&name=${FN}&tail=1`, {
      headers: { authorization: BASIC },
      signal: client.signal,
    });
    const reader = res.body!.getReader();
    const body = { serviceName: FN, replicas: 0 };
    expect((await call("POST", `/system/scale-function/${FN}`, body)).status).toBe(202);
    await until("stopped", async () =>
      (await infra!.docker.inspect(`ofc-fn-${FN}`)).State.Running ? undefined : true,
    );
    expect((await call("GET", `/function/${FN}/after-restart`)).status).toBe(200);
    let received = "";
    while (!received.includes("GET /after-restart")) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`stream ended: ${received}`);
      received += Buffer.from(value).toString("utf8");
    }
    client.abort();
    // Each line once, though the stream was attached twice.
    const lines = messages(received.slice(0, received.lastIndexOf("\n") + 1));
    expect(lines.filter((m) => m.text === "GET /after-restart")).toHaveLength(1);
    const seen = lines.map((m) => `${m.timestamp} ${m.text}`);
    expect(new Set(seen).size).toBe(seen.length);
  }, 30_000);

  it("scaled to 0, then the gateway restarts (new provider) → still 0 and stopped; a call wakes it", async () => {
    expect((await call("POST", `/system/scale-function/${FN}`, { serviceName: FN, replicas: 0 })).status).toBe(202);
    await until("stopped", async () =>
      (await infra!.docker.inspect(`ofc-fn-${FN}`)).State.Running ? undefined : true,
    );
    await gateway!.close();
    provider!.close();
    provider = createLocalProvider(deps);
    gateway = await startGateway({ functions: new Map(), queue, log: deps.log, provider, auth: AUTH });
    expect(await status()).toMatchObject({ replicas: 0, availableReplicas: 0 });
    expect((await infra!.docker.inspect(`ofc-fn-${FN}`)).State.Running).toBe(false);
    expect((await call("GET", `/function/${FN}/again`)).status).toBe(200);
    expect(await status()).toMatchObject({ replicas: 1, availableReplicas: 1 });
  }, 30_000);

  it.each([
    ["an unknown function", 404, "nobody", { serviceName: "nobody", replicas: 1 }, "function nobody not found"],
    ["negative replicas", 400, FN, { serviceName: FN, replicas: -1 }, /ScaleServiceRequest/],
    ["no replicas", 400, FN, { serviceName: FN }, "ScaleServiceRequest: replicas is required"],
    ["another namespace", 400, FN, { serviceName: FN, replicas: 1, namespace: "kube-system" }, /namespace must be/],
  ])("`scale` of %s → %d", async (_, code, name, body, text) => {
    const res = await call("POST", `/system/scale-function/${name}`, body);
    expect(res.status).toBe(code);
    expect(res.text).toMatch(text);
  });

  it("`faas-cli secret remove s2` → DELETE {name} answered 202 (faas-cli refuses the spec's 204); again → 404", async () => {
    expect((await call("POST", "/system/secrets", { name: "s2", value: "v" })).status).toBe(201);
    const headers = { "content-type": "application/json" };
    const removed = await call("DELETE", "/system/secrets", JSON.stringify({ name: "s2" }), headers);
    expect(ACCEPTS.secretRemove).toContain(removed.status);
    expect(removed.status).toBe(202);
    expect((await call("GET", "/system/secrets")).json()).toEqual([]);
    // faas-cli prints "Not found" for a 404 (proxy/secret.go).
    expect((await call("DELETE", "/system/secrets", JSON.stringify({ name: "s2" }), headers)).status).toBe(404);
  });
});
