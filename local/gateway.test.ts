// The local gateway as an OpenFaaS provider, on a real dockerd + registry + base image (DESIGN §7, §8). Needs root.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { pino } from "pino";
import { gatewaySchema } from "../test/support/openapi.js";
import { startGateway } from "./gateway.js";
import { createLocalProvider, type LocalProvider, type LocalProviderDeps } from "./provider/provider.js";
import { faasCliBody as stackBody, send, startInfra, until } from "./provider/test-support.js";
import type { Answer, Infra, StackFunction } from "./provider/test-support.js";

const TIMEOUT = 300_000;
const AUTH = { user: "admin", password: "correct horse" };
const BASIC = `Basic ${Buffer.from(`${AUTH.user}:${AUTH.password}`).toString("base64")}`;
const FN = "alice-echo";
const SECRET = "alice-api-key";
const schema = (name: string) => {
  const check = gatewaySchema(name);
  return (value: unknown) => expect(check(value)).toEqual([]);
};
const valid = {
  deployment: schema("FunctionDeployment"),
  status: schema("FunctionStatus"),
  info: schema("GatewayInfo"),
  secret: schema("Secret"),
  secretName: schema("SecretDescription"),
  delete: schema("DeleteFunctionRequest"),
};

const timings: Record<string, number> = {};

describe("local gateway: OpenFaaS provider API over Docker, faas-cli's requests, proxy, secrets, auth, restart", () => {
  let dir: string;
  let infra: Infra | undefined;
  let deps: LocalProviderDeps;
  let provider: LocalProvider | undefined;
  let gateway: Awaited<ReturnType<typeof startGateway>> | undefined;

  async function open() {
    provider = createLocalProvider(deps);
    const queue = { enqueue: () => Promise.resolve() };
    gateway = await startGateway({ functions: new Map(), queue, log: deps.log, provider, auth: AUTH });
  }
  const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    send(gateway!.url, method, path, body, { authorization: BASIC, ...headers });
  const status = async (name: string) =>
    (await call("GET", `/system/function/${name}`)).json<{ availableReplicas: number }>();
  const ready = (name: string) =>
    until(`${name} ready`, async () => ((await status(name)).availableReplicas === 1 ? true : undefined));
  function faasCliBody(service: string, fn: StackFunction) {
    const body = stackBody(service, infra!.image, fn);
    valid.deployment(JSON.parse(body));
    return body;
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "ofc-gw-"));
    infra = await startInfra(dir);
    const log = pino({ level: "silent" });
    deps = {
      socketPath: infra.socketPath,
      dockerConfig: infra.dockerConfig,
      stateDir: join(dir, "state"),
      log,
      now: () => new Date(),
    };
    await open();
  }, TIMEOUT);

  afterAll(async () => {
    await gateway?.close();
    provider?.close();
    await infra?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
    console.log(`timings (ms): ${JSON.stringify(timings)}`);
  }, TIMEOUT);

  it("GET /healthz without credentials → 200; GET /system/info → GatewayInfo of ofc-local on docker; namespaces → [openfaas-fn]", async () => {
    expect((await call("GET", "/healthz", undefined, { authorization: "" })).status).toBe(200);
    const info = await call("GET", "/system/info");
    expect(info.status).toBe(200);
    valid.info(info.json());
    expect(info.json()).toMatchObject({ provider: { provider: "ofc-local", orchestration: "docker" } });
    const namespaces = await call("GET", "/system/namespaces");
    expect(gatewaySchema("ListNamespaceResponse")(namespaces.json())).toEqual([]);
    expect(namespaces.json()).toEqual(["openfaas-fn"]);
  });

  it.each([
    ["no credentials", ""],
    ["a wrong password", `Basic ${Buffer.from(`${AUTH.user}:wrong`).toString("base64")}`],
  ])(
    "/system/functions with %s → 401 Basic realm, 'invalid credentials'; /function/* needs none",
    async (_, authorization) => {
      const res = await call("GET", "/system/functions", undefined, { authorization });
      expect([res.status, res.headers.get("www-authenticate"), res.text]).toEqual([
        401,
        'Basic realm="Restricted"',
        "invalid credentials",
      ]);
      const fn = await call("POST", "/function/nobody", "x", { authorization });
      expect([fn.status, fn.text]).toEqual([404, "function nobody not found"]);
    },
  );

  it("secrets: POST → 201, again → 409; PUT rawValue → 200; PUT/DELETE unknown → 404; GET lists names", async () => {
    const create = { name: SECRET, value: "first-value" };
    valid.secret(create);
    expect((await call("POST", "/system/secrets", create)).status).toBe(201);
    expect((await call("POST", "/system/secrets", create)).status).toBe(409);
    const update = { name: SECRET, rawValue: Buffer.from("second-value").toString("base64") };
    valid.secret(update);
    expect((await call("PUT", "/system/secrets", update)).status).toBe(200);
    expect((await call("PUT", "/system/secrets", { name: "nope", value: "x" })).status).toBe(404);
    expect((await call("DELETE", "/system/secrets", { name: "nope" })).status).toBe(404);
    expect((await call("POST", "/system/secrets", { name: "../etc", value: "x" })).status).toBe(400);
    const list = await call("GET", "/system/secrets");
    for (const s of list.json<unknown[]>()) valid.secretName(s);
    expect(list.json()).toEqual([{ name: SECRET, namespace: "openfaas-fn" }]);
  });

  it.each([
    ["body not JSON", "{", /not valid JSON/],
    ["no service", JSON.stringify({ image: "x" }), /service: is required/],
    ["no image", JSON.stringify({ service: "a" }), /image: is required/],
    ["service not DNS", JSON.stringify({ service: "A_b", image: "x" }), /\(A_b\) is invalid/],
    [
      "another namespace",
      JSON.stringify({ service: "a", image: "x", namespace: "kube-system" }),
      /namespace must be: openfaas-fn/,
    ],
  ])("POST /system/functions with %s → 400", async (_, body, message) => {
    const res = await call("POST", "/system/functions", body);
    expect(res.status).toBe(400);
    expect(res.text).toMatch(message);
  });

  it("deploy naming a missing secret → 400 naming it; a missing image → 400 with the registry's message", async () => {
    const missingSecret = await call("POST", "/system/functions", faasCliBody("alice-x", { secrets: ["alice-nope"] }));
    expect([missingSecret.status, missingSecret.text]).toEqual([400, "unable to find secret: alice-nope"]);
    const body = JSON.parse(faasCliBody("alice-x", {})) as { image: string };
    body.image = `${infra!.registry}/alice/missing:1`;
    const missingImage = await call("POST", "/system/functions", body);
    expect(missingImage.status).toBe(400);
    expect(missingImage.text).toMatch(/unable to pull image .*alice\/missing:1: .*(manifest unknown|not found)/);
  });

  it("faas-cli deploy: PUT → 404, POST → 202 (pulls the image), ready within 30 s; POST again → 500; list/get → FunctionStatus", async () => {
    const body = faasCliBody(FN, {
      envVars: { GREETING: "hello" },
      secrets: [SECRET],
      labels: { "com.openfaas.cloud.git-owner": "alice" },
      annotations: { "com.openfaas.cloud.git-repo-url": "https://github.com/alice/echo" },
      limits: { memory: "128Mi" },
      readOnly: true,
    });
    expect((await call("PUT", "/system/functions", body)).status).toBe(404);
    const started = performance.now();
    expect((await call("POST", "/system/functions", body)).status).toBe(202);
    timings["POST (pull, create, start)"] = Math.round(performance.now() - started);
    await ready(FN);
    timings["POST → availableReplicas 1"] = Math.round(performance.now() - started);
    const again = await call("POST", "/system/functions", body);
    expect([again.status, again.text]).toEqual([500, `unable to create function: ${FN} already exists`]);

    const list = (await call("GET", "/system/functions")).json<Array<Record<string, unknown>>>();
    for (const s of list) valid.status(s);
    expect(list).toEqual([
      expect.objectContaining({
        name: FN,
        image: infra!.image,
        namespace: "openfaas-fn",
        envProcess: "node /app/server.js",
        envVars: { GREETING: "hello" },
        secrets: [SECRET],
        labels: { "com.openfaas.cloud.git-owner": "alice" },
        annotations: { "com.openfaas.cloud.git-repo-url": "https://github.com/alice/echo" },
        limits: { memory: "128Mi" },
        readOnlyRootFilesystem: true,
        replicas: 1,
        availableReplicas: 1,
        invocationCount: 0,
        createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/),
      }),
    ]);
    valid.status(await status(FN));
    expect((await call("GET", "/system/function/nobody")).status).toBe(404);
  }, 60_000);

  it("POST /function/<fn>/sub/path?x=1 → method, path, query, body, secret, env through the container; counted", async () => {
    const res = await call("POST", `/function/${FN}/sub/path?x=1&secret=${SECRET}&write`, "ping", {
      "content-type": "text/plain",
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-fn")).toBe("echo");
    expect(res.headers.get("x-call-id")).toBeTruthy();
    const echo = res.json();
    expect(echo).toMatchObject({ method: "POST", url: `/sub/path?x=1&secret=${SECRET}&write`, body: "ping" });
    expect(echo).toMatchObject({ secret: "second-value", greeting: "hello", fprocess: "node /app/server.js" });
    expect([echo.port, echo.httpPort]).toEqual([expect.stringMatching(/^\d+$/), echo.port]);
    // readOnlyRootFilesystem: the root is read-only, /tmp is a tmpfs.
    expect([echo.tmp, echo.home]).toEqual(["ok", "EROFS"]);
    const inspected = (await infra!.docker.inspect(`ofc-fn-${FN}`)) as unknown as {
      HostConfig: Record<string, unknown>;
    };
    expect(inspected.HostConfig).toMatchObject({
      NetworkMode: "host",
      ReadonlyRootfs: true,
      Memory: 128 * 2 ** 20,
      CapDrop: ["ALL"],
      SecurityOpt: ["no-new-privileges"],
      PidsLimit: 256,
      Privileged: false,
    });
    expect((await call("GET", `/function/${FN}.openfaas-fn`)).status).toBe(200);
    expect((await status(FN)) as unknown).toMatchObject({ invocationCount: 2 });
  });

  it("POST, then a call at once to the function still starting → held until it answers: 200, not 503 (issue #18); the health path is polled", async () => {
    const body = faasCliBody("alice-slow", {
      envVars: { START_DELAY_MS: "1500" },
      annotations: { "com.openfaas.health.http.path": "/_/health" },
    });
    expect((await call("POST", "/system/functions", body)).status).toBe(202);
    const started = performance.now();
    const [state, first] = await Promise.all([status("alice-slow"), call("GET", "/function/alice-slow")]);
    timings["deploy → first call answered (held)"] = Math.round(performance.now() - started);
    expect(state.availableReplicas).toBe(0);
    expect(first.status).toBe(200);
    // The readiness poll reached the function before the held call did.
    expect(first.json()).toMatchObject({ firstPath: "/_/health", url: "/" });
    expect((await call("DELETE", "/system/functions", { functionName: "alice-slow" })).status).toBe(202);
  }, 60_000);

  it("a function that never answers → a call is held for the readiness timeout, then 503 naming it and where to look", async () => {
    await gateway!.close();
    provider!.close();
    const saved = deps;
    deps = { ...deps, readyTimeoutMs: 1_500 };
    await open();
    try {
      const body = faasCliBody("alice-mute", { envVars: { START_DELAY_MS: "600000" } });
      expect((await call("POST", "/system/functions", body)).status).toBe(202);
      const started = performance.now();
      const held = await call("GET", "/function/alice-mute");
      expect(performance.now() - started).toBeGreaterThan(1_000);
      expect([held.status, held.text]).toEqual([
        503,
        "function alice-mute is not ready: its container did not answer HTTP in time (faas-cli logs alice-mute shows why)",
      ]);
      expect((await call("DELETE", "/system/functions", { functionName: "alice-mute" })).status).toBe(202);
    } finally {
      await gateway!.close();
      provider!.close();
      deps = saved;
      await open();
    }
  }, 60_000);

  it("PUT with a new env var → 200 once the new container answers; no call fails during the switch, a slow one drains", async () => {
    const body = faasCliBody(FN, { envVars: { GREETING: "bonjour" }, secrets: [SECRET], readOnly: true });
    await call("PUT", "/system/secrets", { name: SECRET, value: "third-value" });
    const slow = call("GET", `/function/${FN}?delay=1000`);
    let updating = true;
    const during: Array<Promise<Answer>> = [];
    const load = (async () => {
      while (updating) {
        during.push(call("GET", `/function/${FN}`));
        await sleep(20);
      }
    })();
    const started = performance.now();
    const put = await call("PUT", "/system/functions", body);
    timings["PUT (rolling update)"] = Math.round(performance.now() - started);
    updating = false;
    await load;
    expect(put.status).toBe(200);
    expect((await slow).json()).toMatchObject({ greeting: "hello" });
    const statuses = (await Promise.all(during)).map((r) => r.status);
    expect(statuses.length).toBeGreaterThan(10);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    const after = (await call("GET", `/function/${FN}?secret=${SECRET}`)).json();
    expect(after).toMatchObject({ greeting: "bonjour", secret: "third-value" });
    expect((await status(FN)) as unknown).toMatchObject({ envVars: { GREETING: "bonjour" }, availableReplicas: 1 });
    expect((await infra!.docker.inspect(`ofc-fn-${FN}`)).State.Running).toBe(true);
  }, 60_000);

  it("gateway restart (new gateway, new provider, same deps) → list rebuilt from Docker labels; the function answers", async () => {
    const before = (await call("GET", "/system/functions")).json<Array<Record<string, unknown>>>();
    await gateway!.close();
    provider!.close();
    const started = performance.now();
    await open();
    const after = (await call("GET", "/system/functions")).json<Array<Record<string, unknown>>>();
    timings["restart → list"] = Math.round(performance.now() - started);
    for (const s of after) valid.status(s);
    const stable = { ...before[0] };
    delete stable.invocationCount; // in memory only: a new gateway counts from 0
    delete stable.availableReplicas;
    expect(after).toEqual([expect.objectContaining(stable)]);
    const res = await until("answer", async () => {
      const r = await call("GET", `/function/${FN}`);
      return r.status === 200 ? r : undefined;
    });
    expect(res.json()).toMatchObject({ greeting: "bonjour" });
  }, 60_000);

  it("DELETE {functionName} → 202; then get and invoke → 404, DELETE again → 404; container and secret files gone", async () => {
    const del = { functionName: FN, namespace: "" };
    valid.delete(del);
    expect((await call("DELETE", "/system/functions", del)).status).toBe(202);
    expect((await call("GET", `/system/function/${FN}`)).status).toBe(404);
    expect((await call("GET", `/function/${FN}`)).status).toBe(404);
    expect((await call("DELETE", "/system/functions", del)).status).toBe(404);
    await expect(infra!.docker.inspect(`ofc-fn-${FN}`)).rejects.toMatchObject({ status: 404 });
    expect(existsSync(join(deps.stateDir, "functions", FN))).toBe(false);
    expect((await call("GET", "/system/functions")).json()).toEqual([]);
  });

  it("a gateway without a provider → /system/functions 501 'no provider configured'", async () => {
    const queue = { enqueue: () => Promise.resolve() };
    const bare = await startGateway({ functions: new Map(), queue, log: deps.log });
    const res = await fetch(`${bare.url}system/functions`);
    expect([res.status, await res.text()]).toEqual([501, "no provider configured"]);
    await bare.close();
  });
});
