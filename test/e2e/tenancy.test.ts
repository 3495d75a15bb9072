import { jest } from "@jest/globals";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import axios from "axios";
import { pino } from "pino";
import type { FunctionStatus } from "../../shared/gateway.js";
import { loadPorts } from "../../local/ports.js";
import { startLocalCloud, type LocalCloud } from "../../local/runtime.js";

// Issue #10: three owners whose logins are built to collide under the original's `<owner>-<fn>` (alice + bob-api is
// alice-bob + api; github + event is the system's github-event), plus a second repository of alice. Every takeover
// ends in a failure status naming the holder, the victim keeps answering with its own reply, and no function gets
// another tenant's or the system's secret. One runtime for the whole file; the steps build on each other.
jest.setTimeout(600_000);

const ALICE = 1001; // sendPush: 1000 + the installation id, in owner order
const MALLORY = 4242;

let dir: string;
let cloud: LocalCloud;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "e2e-tenancy-"));
  const { gateway } = await loadPorts(join(dir, "ports.json"));
  cloud = await startLocalCloud({
    dir,
    owners: ["alice", "alice-bob", "github"],
    log: pino({ level: "silent" }),
    gatewayPort: gateway,
  });
});
afterAll(async () => {
  await cloud?.close();
  await rm(dir, { recursive: true, force: true });
});

/** A stack of node functions, each with its `secrets`. */
const stack = (fns: Record<string, string[]>) =>
  `version: 1.0\nprovider:\n  name: openfaas\nfunctions:\n${Object.entries(fns)
    .map(
      ([f, secrets]) =>
        `  ${f}:\n    lang: node20\n    handler: ./${f}\n    image: ${f}:latest\n` +
        (secrets.length ? `    secrets: [${secrets.join(", ")}]\n` : ""),
    )
    .join("")}`;
/** A function answering `{ reply, secrets }`: its reply and every secret file it was given, with its content. */
const fn = (name: string, reply: string) => ({
  [`${name}/handler.js`]: `const fs = require("node:fs");
const dir = "/var/openfaas/secrets";
module.exports = async () => {
  const secrets = {};
  if (fs.existsSync(dir)) for (const f of fs.readdirSync(dir)) secrets[f] = fs.readFileSync(dir + "/" + f, "utf8");
  return { reply: ${JSON.stringify(reply)}, secrets };
};
`,
  [`${name}/package.json`]: JSON.stringify({ name, version: "1.0.0", private: true, main: "handler.js" }),
});

const auth = () => ({ username: cloud.auth.user, password: cloud.auth.password });
async function call(name: string): Promise<{ status: number; reply?: string; secrets?: Record<string, string> }> {
  const res = await axios.get<{ reply: string; secrets: Record<string, string> }>(
    `${cloud.gatewayUrl}function/${name}`,
    { validateStatus: () => true },
  );
  return res.status === 200 ? { status: 200, ...res.data } : { status: res.status };
}
async function status(name: string): Promise<FunctionStatus & { secrets?: string[] }> {
  const res = await axios.get<FunctionStatus>(`${cloud.gatewayUrl}system/function/${name}`, { auth: auth() });
  return res.data;
}
async function createSecret(name: string, value: string) {
  const res = await axios.post(`${cloud.gatewayUrl}system/secrets`, { name, value }, { auth: auth() });
  expect(res.status).toBe(201);
}
/** The statuses of one context on `sha`, as [state, description]. */
const seen = (owner: string, repo: string, sha: string, context: string) =>
  cloud.github.statuses({ owner, repo, sha, context }).map((s) => [s.state, s.description]);

async function push(owner: string, repo: string, files: Record<string, string>, ownerId?: number) {
  const sha = await cloud.publish(owner, repo, files);
  const res = await cloud.sendPush(owner, repo, sha, undefined, ownerId);
  expect(res.status).toBe(202);
  const stackStatus = await cloud.waitForStatus(owner, repo, sha, "stack-deploy", 300_000);
  return { sha, stackStatus };
}

describe("tenancy on one machine: alice, alice-bob and github", () => {
  beforeAll(async () => {
    // Each owner's own secret, the victim's, and the names `<owner>-<secret>` would have mounted.
    await createSecret("alice--bob-db", "alice's own db");
    await createSecret("alice-bob--db", "alice-bob's db");
    await createSecret("alice-bob-db", "what alice + bob-db meant in the original");
    await createSecret("github--webhook-secret", "github's own");
    await createSecret("github-webhook-secret", "the system's webhook secret");
  });

  it("alice-bob pushes api → alice-bob--api answers its own reply", async () => {
    const { stackStatus } = await push("alice-bob", "fns", { "stack.yml": stack({ api: [] }), ...fn("api", "ab v1") });
    expect(stackStatus.state).toBe("success");
    expect(await call("alice-bob--api")).toMatchObject({ status: 200, reply: "ab v1", secrets: {} });
  });

  it("alice pushes bob-api with secret bob-db → alice--bob-api with alice--bob-db only; alice-bob--api untouched", async () => {
    const victim = await status("alice-bob--api");
    const { sha, stackStatus } = await push("alice", "fns", {
      "stack.yml": stack({ "bob-api": ["bob-db"] }),
      ...fn("bob-api", "alice's bob-api"),
    });
    expect(stackStatus.state).toBe("success");
    expect(seen("alice", "fns", sha, "bob-api").at(-1)).toEqual(["success", "deployed: alice--bob-api"]);
    expect(await call("alice--bob-api")).toEqual({
      status: 200,
      reply: "alice's bob-api",
      secrets: { "alice--bob-db": "alice's own db" },
    });
    expect(await call("alice-bob--api")).toMatchObject({ status: 200, reply: "ab v1" });
    const after = await status("alice-bob--api");
    expect([after.image, after.labels]).toEqual([victim.image, victim.labels]);
  });

  it("alice's second repo declaring bob-api too → failure naming alice/fns, the first keeps answering", async () => {
    const { sha, stackStatus } = await push("alice", "second", {
      "stack.yml": stack({ "bob-api": [] }),
      ...fn("bob-api", "from the second repo"),
    });
    expect([stackStatus.state, stackStatus.description]).toEqual([
      "failure",
      "deploy failed: bob-api failed to be deployed via buildshiprun",
    ]);
    expect(seen("alice", "second", sha, "bob-api").at(-1)).toEqual([
      "failure",
      "deploy refused: alice--bob-api belongs to alice/fns",
    ]);
    expect(await call("alice--bob-api")).toMatchObject({ reply: "alice's bob-api" });
    expect((await status("alice--bob-api")).labels).toMatchObject({ "com.openfaas.cloud.git-repo": "fns" });
  });

  it("github pushes event with secret webhook-secret → github--event with github--webhook-secret only", async () => {
    const { sha, stackStatus } = await push("github", "fns", {
      "stack.yml": stack({ event: ["webhook-secret"] }),
      ...fn("event", "github's event"),
    });
    expect(stackStatus.state).toBe("success");
    expect(seen("github", "fns", sha, "event").at(-1)).toEqual(["success", "deployed: github--event"]);
    expect((await status("github--event")).secrets).toEqual(["github--webhook-secret"]);
    expect(await call("github--event")).toEqual({
      status: 200,
      reply: "github's event",
      secrets: { "github--webhook-secret": "github's own" },
    });
  });

  it("a function seeded at the gateway under another owner id → alice's push refused naming it, the seed unchanged", async () => {
    const image = (await status("alice-bob--api")).image;
    const seeded = {
      service: "alice--web",
      image,
      labels: {
        "com.openfaas.cloud.git-owner": "mallory",
        "com.openfaas.cloud.git-owner-id": String(MALLORY),
        "com.openfaas.cloud.git-repo": "tools",
      },
    };
    const created = await axios.post(`${cloud.gatewayUrl}system/functions`, seeded, { auth: auth() });
    expect(created.status).toBe(202);
    const before = await status("alice--web");

    const { sha, stackStatus } = await push("alice", "fns", {
      "stack.yml": stack({ "bob-api": ["bob-db"], web: [] }),
      ...fn("bob-api", "alice's bob-api"),
      ...fn("web", "alice's web"),
    });
    expect([stackStatus.state, stackStatus.description]).toEqual([
      "failure",
      "deploy failed: web failed to be deployed via buildshiprun",
    ]);
    expect(seen("alice", "fns", sha, "web").at(-1)).toEqual([
      "failure",
      "deploy refused: alice--web belongs to mallory/tools",
    ]);
    const after = await status("alice--web");
    expect([after.image, after.labels]).toEqual([before.image, before.labels]);
    expect(after.labels).toMatchObject({ "com.openfaas.cloud.git-owner-id": String(MALLORY) });
  });

  it("a new account that took the login alice (another owner id) → refused, alice's function keeps answering", async () => {
    const { sha, stackStatus } = await push(
      "alice",
      "fns",
      { "stack.yml": stack({ "bob-api": [] }), ...fn("bob-api", "the new alice") },
      5555,
    );
    expect(stackStatus.state).toBe("failure");
    expect(seen("alice", "fns", sha, "bob-api").at(-1)).toEqual([
      "failure",
      `deploy refused: alice--bob-api belongs to alice/fns, owner id ${ALICE}`,
    ]);
    expect(await call("alice--bob-api")).toMatchObject({ reply: "alice's bob-api" });
  });

  it("after all that, the system's github-event still takes pushes: alice-bob's next push deploys", async () => {
    const { stackStatus } = await push("alice-bob", "fns", { "stack.yml": stack({ api: [] }), ...fn("api", "ab v2") });
    expect(stackStatus.state).toBe("success");
    expect(await call("alice-bob--api")).toMatchObject({ reply: "ab v2" });
    // Every tenant function is still where its owner put it; the seed and the system's names were never touched.
    const list = await axios.get<FunctionStatus[]>(`${cloud.gatewayUrl}system/functions`, { auth: auth() });
    const owners = Object.fromEntries(
      list.data.map((f) => [f.name, f.labels?.["com.openfaas.cloud.git-owner-id"] ?? "none"]),
    );
    expect(owners).toEqual({
      "alice--bob-api": String(ALICE),
      "alice--web": String(MALLORY),
      "alice-bob--api": "1002",
      "github--event": "1003",
    });
  });
});
