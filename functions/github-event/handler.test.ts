import examples from "@octokit/webhooks-examples/api.github.com/index.json" with { type: "json" };
import { repoint, startFrontDoor, WEBHOOK_SECRET } from "../../test/support/front-door.js";
import { signPayload } from "../../shared/hmac.js";
import { systemLimits } from "../../local/system-stack.js";
import { countBytesRead, upload } from "../../test/support/oversized-upload.js";

type Example = {
  ref?: string;
  after?: string;
  deleted?: boolean;
  action?: string;
  installation?: { id: number; account?: { login: string; id: number } };
  repositories_removed?: Array<{ name: string }>;
};
const examplesOf = (name: string) =>
  (examples as Array<{ name: string; examples: Example[] }>).find((e) => e.name === name)!.examples;
const pushes = examplesOf("push");
const installations = examplesOf("installation");
const repositoryChanges = examplesOf("installation_repositories");

let door: Awaited<ReturnType<typeof startFrontDoor>>;
beforeEach(async () => {
  door = await startFrontDoor();
});
afterEach(() => door.close());

const statusCalls = () => door.standin.calls.filter((c) => c.path.includes("/statuses/"));

describe("github-event: every push example from @octokit/webhooks-examples", () => {
  it.each(pushes.map((p, i) => [i, p.ref, p.deleted, p.installation?.id ?? "none", p] as const))(
    "push #%s (%s, deleted=%s, installation=%s) → routed",
    async (_, ref, deleted, installation, example) => {
      const res = await door.sendWebhook("push", repoint(example, door.standin.url));
      const statuses = door.standin.statuses();
      if (installation === "none") {
        expect(res.status).toBe(400);
        expect(res.data).toMatch(/installation\.id missing/);
        expect(statusCalls()).toHaveLength(0);
        expect(door.queued).toHaveLength(0);
      } else if (deleted) {
        expect(res.status).toBe(200);
        expect(res.data).toBe(`[github-push]: 200, skipping build for: ${ref}: the ref was deleted`);
        expect(statusCalls()).toHaveLength(0);
        expect(door.queued).toHaveLength(0);
      } else if (ref === "refs/heads/master") {
        expect(res.status).toBe(202);
        expect(statuses).toEqual([
          expect.objectContaining({
            context: "stack-deploy",
            state: "pending",
            description: "codertocat-hello-world stack deploy is in progress",
          }),
        ]);
        expect(door.queued).toHaveLength(1);
        expect(door.queued[0]!.function).toBe("git-tar");
        expect(JSON.parse(door.queued[0]!.body.toString())).toMatchObject({
          owner: "Codertocat",
          repo: "Hello-World",
          sha: example.after,
          branch: "master",
          installationId: 1,
        });
      } else {
        expect(res.status).toBe(200);
        const message = `skipping build for: ${ref} branch, the build branch is: master`;
        expect(res.data).toBe(`[github-push]: 200, ${message}`);
        expect(statuses).toEqual([
          expect.objectContaining({ context: "stack-deploy", state: "success", description: message }),
        ]);
        expect(door.queued).toHaveLength(0);
      }
    },
  );
});

describe("github-event: every installation and installation_repositories example", () => {
  // GitHub still sends Apps made before the rename the integration_ names with the same bodies (issue #17).
  it.each(
    ["installation", "integration_installation"].flatMap((name) =>
      installations.map((e, i) => [name, i, e.action, e] as const),
    ),
  )("%s #%s (%s) → routed as installation", async (name, _, action, example) => {
    const res = await door.sendWebhook(name, repoint(example, door.standin.url));
    expect(res.status).toBe(200);
    expect(res.data).toBe("Message received with event: installation");
    const gc = door.queued.map((q) => ({ fn: q.function, body: JSON.parse(q.body.toString()) as unknown }));
    expect(gc).toEqual(
      action === "deleted"
        ? [
            {
              fn: "garbage-collect",
              body: {
                functions: [],
                repo: "*",
                owner: example.installation!.account!.login.toLowerCase(),
                ownerId: example.installation!.account!.id,
              },
            },
          ]
        : [],
    );
    expect(statusCalls()).toHaveLength(0);
  });

  it.each(
    ["installation_repositories", "integration_installation_repositories"].flatMap((name) =>
      repositoryChanges.map((e, i) => [name, i, e.action, e] as const),
    ),
  )("%s #%s (%s) → routed as installation_repositories", async (name, _, action, example) => {
    const res = await door.sendWebhook(name, repoint(example, door.standin.url));
    expect(res.status).toBe(200);
    const expected =
      action === "removed"
        ? example.repositories_removed!.map((r) => ({
            functions: [],
            repo: r.name.toLowerCase(),
            owner: example.installation!.account!.login.toLowerCase(),
            ownerId: example.installation!.account!.id,
          }))
        : [];
    expect(door.queued.map((q) => JSON.parse(q.body.toString()) as unknown)).toEqual(expected);
    expect(door.queued.every((q) => q.function === "garbage-collect")).toBe(true);
  });
});

describe("github-event: refused bodies (every example, each forgery) → 4xx, nothing forwarded", () => {
  const all = [
    ...pushes.map((e) => ["push", e] as const),
    ...installations.map((e) => ["installation", e] as const),
    ...repositoryChanges.map((e) => ["installation_repositories", e] as const),
  ];
  const forgeries: Array<[string, (body: string) => { body: string; signature: string | null }, number]> = [
    ["wrong secret", (b) => ({ body: b, signature: signPayload("not-the-secret", b) }), 401],
    ["missing signature", (b) => ({ body: b, signature: null }), 401],
    ["truncated body", (b) => ({ body: b.slice(0, b.length - 10), signature: signPayload(WEBHOOK_SECRET, b) }), 401],
    ["SHA-1-only signature", (b) => ({ body: b, signature: `sha1=${"a".repeat(40)}` }), 401],
    [
      "non-JSON body, correctly signed",
      () => ({ body: "not json{", signature: signPayload(WEBHOOK_SECRET, "not json{") }),
      400,
    ],
  ];
  const cases = all.flatMap(([name, example], i) =>
    forgeries.map(([label, forge, status]) => [name, i, label, status, forge, example] as const),
  );

  it.each(cases)("%s #%s with %s → %s", async (name, _, __, status, forge, example) => {
    const { body, signature } = forge(repoint(example, door.standin.url));
    const res = await door.sendWebhook(name, body, { signature });
    expect(res.status).toBe(status);
    expect(res.data).toMatch(status === 401 ? /^invalid or missing X-Hub-Signature-256$/ : /body is not valid JSON/);
    expect(door.queued).toHaveLength(0);
    expect(statusCalls()).toHaveLength(0);
  });
});

describe("github-event: front-door rules", () => {
  const master = pushes.find((p) => p.ref === "refs/heads/master" && p.installation)!;

  it("?setup_action=install → 200 with the original text, before anything else", async () => {
    const axios = (await import("axios")).default;
    const res = await axios.get<string>(`${door.gatewayUrl}function/github-event?setup_action=install`, {
      responseType: "text",
    });
    expect(res.status).toBe(200);
    expect(res.data).toBe("Installation completed, please return to the installation guide.");
  });

  it.each([["issues"], ["ping"], ["integration"], ["constructor"], [""]])(
    "signed %j event → 200 cannot handle, nothing forwarded",
    async (name) => {
      const res = await door.sendWebhook(name, repoint(master, door.standin.url));
      expect(res.status).toBe(200);
      expect(res.data).toBe(`github-event cannot handle event: ${name}`);
      expect(door.queued).toHaveLength(0);
      expect(statusCalls()).toHaveLength(0);
    },
  );

  it("an unknown event with a bad signature → 401 (the signature is checked first)", async () => {
    const res = await door.sendWebhook("issues", "{}", { signature: "sha256=00" });
    expect(res.status).toBe(401);
  });

  it("owner not on the customers list → 403 with the original text, nothing forwarded", async () => {
    await door.close();
    door = await startFrontDoor({ customers: "alexellis" });
    const res = await door.sendWebhook("push", repoint(master, door.standin.url));
    expect(res.status).toBe(403);
    expect(res.data).toBe('Customer: "Codertocat" not found in customers ACL');
    expect(door.queued).toHaveLength(0);
    expect(statusCalls()).toHaveLength(0);
  });

  it("same X-GitHub-Delivery twice → built once", async () => {
    const body = repoint(master, door.standin.url);
    const first = await door.sendWebhook("push", body, { delivery: "d-1" });
    const second = await door.sendWebhook("push", body, { delivery: "d-1" });
    expect([first.status, second.status]).toEqual([202, 200]);
    expect(second.data).toBe("delivery d-1 was already received: ignored");
    expect(door.queued).toHaveLength(1);
  });

  it("a delivery that failed downstream → redelivery of the same id is built", async () => {
    const body = repoint(master, door.standin.url);
    door.state.failQueue = true;
    const failed = await door.sendWebhook("push", body, { delivery: "d-2" });
    expect(failed.status).toBe(502);
    door.state.failQueue = false;
    const retried = await door.sendWebhook("push", body, { delivery: "d-2" });
    expect(retried.status).toBe(202);
    expect(door.queued).toHaveLength(1);
  });

  it("missing X-GitHub-Delivery → 400", async () => {
    const axios = (await import("axios")).default;
    const body = repoint(master, door.standin.url);
    const res = await axios.post(`${door.gatewayUrl}function/github-event`, body, {
      headers: {
        "content-type": "application/json",
        "x-github-event": "push",
        "x-hub-signature-256": signPayload(WEBHOOK_SECRET, body),
      },
      validateStatus: () => true,
    });
    expect(res.status).toBe(400);
    expect(door.queued).toHaveLength(0);
  });

  it("uninstall by an owner no longer on the list → still garbage-collected (removal only touches their own)", async () => {
    await door.close();
    door = await startFrontDoor({ customers: "someone-else" });
    const deleted = installations.find((e) => e.action === "deleted")!;
    const res = await door.sendWebhook("installation", repoint(deleted, door.standin.url));
    expect(res.status).toBe(200);
    expect(door.queued).toHaveLength(1);
  });

  it("GET without setup_action → 405", async () => {
    const axios = (await import("axios")).default;
    const res = await axios.get(`${door.gatewayUrl}function/github-event`, { validateStatus: () => true });
    expect(res.status).toBe(405);
  });
});

// Issue #10: GitHub caps payloads at 25 MB, and so does github-event (stack.yml max_body_bytes, which the local
// gateway applies in-process): a larger body is refused before it is buffered. The gateway's socket byte count shows
// how much of it was read.
describe("github-event: body cap", () => {
  const MiB = 1024 * 1024;
  let bytesRead: () => number;
  beforeEach(async () => {
    await door.close();
    door = await startFrontDoor({ functionLimits: await systemLimits() });
    bytesRead = countBytesRead(door.gatewayServer);
  });

  it("stack.yml caps github-event at GitHub's 25 MB", async () => {
    expect((await systemLimits())["github-event"]?.bodyBytes).toBe(25 * MiB);
  });

  const headers = { "x-github-event": "push", "x-github-delivery": "big-1" };

  it("a 60 MB unsigned body with Content-Length → 413 before any of the body is read, nothing forwarded", async () => {
    const outcome = await upload(`${door.gatewayUrl}function/github-event`, { bytes: 60 * MiB, headers });
    expect(outcome).toMatchObject({ status: 413, body: `request body over ${25 * MiB} bytes` });
    expect(bytesRead()).toBeLessThan(MiB);
    expect(door.queued).toHaveLength(0);
  });

  it("a 60 MB unsigned chunked body → 413 once 25 MB are read; the rest never is", async () => {
    const outcome = await upload(`${door.gatewayUrl}function/github-event`, {
      bytes: 60 * MiB,
      chunked: true,
      headers,
    });
    expect(outcome).toMatchObject({ status: 413 });
    expect(bytesRead()).toBeLessThan(26 * MiB);
    expect(door.queued).toHaveLength(0);
  });
});
