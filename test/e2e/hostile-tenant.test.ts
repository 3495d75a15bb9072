import { jest } from "@jest/globals";
import { randomUUID } from "node:crypto";
import { readFileSync, readdirSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import axios from "axios";
import { pino } from "pino";
import { localhostAgent } from "../../local/localhost-lookup.js";
import { loadPorts } from "../../local/ports.js";
import { startLocalCloud, type LocalCloud } from "../../local/runtime.js";
import { RANDOM_SECRETS } from "../../local/workspace.js";
import { functionName } from "../../shared/naming.js";

// Issue #10's hostile-tenant test: mallory's function runs user code twice, in its image build (the node24 template's
// `npm test`, as root, on the host network BuildKit gives builds) and in its deployed container, and each time tries
// every internal service of the local runtime. Every attempt must be refused, each asserted by name, and a control
// request must get through, so a probe that crashed or could not reach the network cannot pass.
jest.setTimeout(600_000);

const PROBE = fileURLToPath(new URL("../fixtures/hostile-tenant/probe", import.meta.url));

let dir: string;
let cloud: LocalCloud;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "hostile-"));
  const { gateway } = await loadPorts(join(dir, "ports.json"));
  cloud = await startLocalCloud({ dir, owners: ["mallory"], log: pino({ level: "silent" }), gatewayPort: gateway });
});
afterAll(async () => {
  await cloud?.close();
  await rm(dir, { recursive: true, force: true });
});

/** The Docker Engine API on the runtime's own socket (the test is the operator here). */
function engine<T>(path: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: cloud.dockerSocket, path: `/v1.41${path}` }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")) as T));
    });
    req.on("error", reject);
    req.end();
  });
}

// What each service answers a tenant without its credentials. The same table holds for the build and the function.
const REFUSED = {
  "nats: CONNECT without credentials": "refused (-ERR 'Authorization Violation')",
  "nats: CONNECT as ofc with a guessed password": "refused (-ERR 'Authorization Violation')",
  "s3: unsigned ListBuckets": "refused (403 AccessDenied)",
  "s3: unsigned GetObject of a build log": "refused (403 AccessDenied)",
  "s3: unsigned PutObject over a build log": "refused (403 AccessDenied)",
  "s3: ListBuckets signed with s3rver's S3RVER/S3RVER": "refused (403 InvalidAccessKeyId)",
  "registry: push (POST /v2/<other owner>/x/blobs/uploads/)": "refused (401)",
  "registry: pull (GET /v2/_catalog)": "refused (401)",
  "registry: pull (GET /v2/base/node/tags/list)": "refused (401)",
  "dockerd: the runtime's API socket": "refused (ENOENT)",
  "dockerd: /var/run/docker.sock": "refused (ENOENT)",
  "dockerd: TCP 127.0.0.1:2375": "refused (ECONNREFUSED)",
  "dockerd: TCP 127.0.0.1:2376": "refused (ECONNREFUSED)",
  "gateway: GET /system/functions": "refused (401)",
  "gateway: GET /system/secrets": "refused (401)",
  "gateway: POST /system/secrets": "refused (401)",
  "gateway: PUT /system/functions (take over a function)": "refused (401)",
  "gateway: GET /system/logs": "refused (401)",
  "gateway: GET /system/info": "refused (401)",
  "gateway: GET /metrics (every tenant's function names)": "refused (401)",
  "prometheus: GET /api/v1/query": "refused (401)",
  "gateway: unsigned hop to buildshiprun": "refused (401)",
  "of-builder: unsigned POST /build": "refused (401)",
  // The edge router is public, but only for owners' functions and the system's public paths (edge-router/
  // system-routes.ts): nothing else of the gateway's may open up through it, whatever the Host or path says.
  "edge: system host, the gateway's /system/functions": "refused (404)",
  "edge: system host, /metrics": "refused (404)",
  "edge: system host, /function/buildshiprun (not a public system path)": "refused (404)",
  "edge: system host, /async-function/github-event": "refused (404)",
  "edge: system host, unsigned POST /pipeline-log over a build log": "refused (401)",
  "edge: system host, GET /pipeline-log of another owner's log without its signature": "refused (404)",
  "edge: another owner's host, /api/%2e%2e/%2e%2e/system/functions": "refused (404)",
  "edge: no owner's host, /function/buildshiprun": "refused (404)",
  "edge: forged X-Forwarded-Host system host, /system/functions": "refused (404)",
  "disk: the GitHub App private key": "refused (ENOENT)",
  "disk: the runtime's secrets folder": "refused (ENOENT)",
  "disk: the provider's secret store": "refused (ENOENT)",
  "control: the public gateway /healthz": "REACHED (200 OK)",
  "control: the edge router's /healthz": "REACHED (200 OK)",
};

// The runtime's credentials (docs/local.md): none may reach a tenant's container.
const SYSTEM_SECRETS = [...RANDOM_SECRETS, "private-key"];

interface ProbeReport {
  build: { nonce: string; results: Record<string, string> } | null;
  runtime: { nonce: string; results: Record<string, string>; process: Record<string, string> };
}

describe("a hostile tenant's build step and function against the local runtime's internal services", () => {
  let report: ProbeReport;
  let service: string;

  beforeAll(async () => {
    const ports = JSON.parse(readFileSync(join(dir, "ports.json"), "utf8")) as Record<string, number>;
    const nonce = randomUUID();
    // Everything a tenant could learn or guess: the ports are all on 127.0.0.1, the paths are the runtime's.
    const targets = {
      nonce,
      nats: `127.0.0.1:${ports.nats}`,
      s3: `127.0.0.1:${ports.s3}`,
      registry: cloud.registry,
      gateway: `127.0.0.1:${ports.gateway}`,
      builder: `127.0.0.1:${ports.builder}`,
      prometheus: `127.0.0.1:${ports.prometheus}`,
      edge: `127.0.0.1:${ports.edge}`,
      domain: "localhost",
      dockerSocket: cloud.dockerSocket,
      privateKey: join(dir, "secrets", "private-key"),
      secretsDir: join(dir, "secrets"),
      providerSecrets: join(dir, "provider", "secrets"),
      victimOwner: "alice",
      victimFunction: "alice--api",
      victim: "alice/api/0123456789abcdef0123456789abcdef01234567/api",
    };
    const files: Record<string, string> = {
      "stack.yml": [
        "version: 1.0",
        "provider:",
        "  name: openfaas",
        "functions:",
        "  probe:",
        "    lang: node24",
        "    handler: ./probe",
        "    image: probe:latest",
        "",
      ].join("\n"),
      "probe/targets.json": JSON.stringify(targets),
    };
    for (const name of readdirSync(PROBE)) files[`probe/${name}`] = readFileSync(join(PROBE, name), "utf8");

    const sha = await cloud.publish("mallory", "hostile", files);
    expect((await cloud.sendPush("mallory", "hostile", sha)).status).toBe(202);
    const stack = await cloud.waitForStatus("mallory", "hostile", sha, "stack-deploy", 300_000);
    const probe = cloud.github.statuses({ owner: "mallory", repo: "hostile", sha, context: "probe" }).at(-1);
    expect([stack.state, probe?.state, probe?.description]).toEqual(["success", "success", expect.any(String)]);
    // The link is the edge router's pretty URL (http://mallory.localhost:<edge>/probe), which Node's resolver does
    // not resolve; the deployed name is naming's, not the link's last segment.
    const url = probe!.target_url!;
    service = functionName("mallory", "probe");
    expect(url).toBe(`http://mallory.localhost:${cloud.edgePort}/probe`);
    const agent = localhostAgent();
    const res = await axios
      .get<ProbeReport>(url, { httpAgent: agent, validateStatus: () => true, timeout: 120_000 })
      .finally(() => agent.destroy());
    expect(res.status).toBe(200);
    report = res.data;
    // Both runs are this push's, not left over from a cached build layer.
    expect([report.build?.nonce, report.runtime.nonce]).toEqual([nonce, nonce]);
  });

  it("the build step (npm test, as root, host network) → every internal service refused by name; /healthz reached", () => {
    expect(report.build?.results).toEqual(REFUSED);
  });

  it("the deployed function → every internal service refused by name; /healthz reached", () => {
    expect(report.runtime.results).toEqual(REFUSED);
  });

  it("the function's own process → no capabilities, no_new_privs, not root, read-only root", () => {
    expect(report.runtime.process).toEqual({
      "process: effective capabilities": "0000000000000000",
      "process: bounding capabilities": "0000000000000000",
      "process: no_new_privs": "1",
      "process: uid": "1000",
      "process: write to /": "refused (EROFS)",
    });
  });

  it("the container's HostConfig → CapDrop ALL, no-new-privileges, pids and memory limits, read-only root, no host mount, no system credential in its environment", async () => {
    const filters = encodeURIComponent(JSON.stringify({ label: [`com.openfaas.cloud.local.function=${service}`] }));
    const [summary] = await engine<Array<{ Id: string }>>(`/containers/json?filters=${filters}`);
    const container = await engine<{
      HostConfig: Record<string, unknown>;
      Config: { Env: string[]; User: string };
      Mounts: Array<{ Source: string; Destination: string }>;
    }>(`/containers/${summary!.Id}/json`);
    expect(container.HostConfig).toMatchObject({
      CapDrop: ["ALL"],
      SecurityOpt: ["no-new-privileges"],
      PidsLimit: 256,
      Memory: 128 * 2 ** 20,
      MemorySwap: 128 * 2 ** 20,
      ReadonlyRootfs: true,
      Privileged: false,
    });
    expect(container.HostConfig.CapAdd ?? null).toBeNull();
    // mallory's function has no secrets: nothing from the host is mounted, least of all a socket or a secret.
    expect(container.Mounts.filter((m) => m.Destination !== "/tmp")).toEqual([]);
    // No credential of the system's reached the container's environment.
    const environment = container.Config.Env.join("\n");
    for (const name of SYSTEM_SECRETS) {
      const value = readFileSync(join(dir, "secrets", name), "utf8").trim();
      expect({ name, leaked: environment.includes(value) }).toEqual({ name, leaked: false });
    }
  });
});
