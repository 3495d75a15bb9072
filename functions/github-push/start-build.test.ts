import { pino } from "pino";
import type { FunctionEvent } from "../../shared/function-handler.js";
import type { Gateway } from "../../shared/gateway.js";
import type { CommitStatus, Github } from "../../shared/github.js";
import { signHop } from "../../shared/hmac.js";
import { HttpError } from "../../shared/http-error.js";
import type { PendingBuilds } from "../../shared/pending-builds.js";
import { createBuildStarter, type GithubPushDeps } from "./start-build.js";

// The build starter on its own, with stand-ins that record what it sends (handler.test.ts has the same rules behind
// the local gateway, with the stand-in GitHub and S3). Self-contained: it runs inside github-push's image build.
const SECRET = "payload-secret";

function starter(
  opts: { handOff?: () => Promise<unknown>; statusFails?: boolean; putFails?: boolean; removeFails?: boolean } = {},
) {
  const lines: Array<Record<string, unknown>> = [];
  const statuses: CommitStatus[] = [];
  const queued: Array<{ name: string; body: string; headers: Record<string, string> | undefined }> = [];
  const removed: unknown[] = [];
  const github = {
    setStatus: (status: CommitStatus) => {
      statuses.push(status);
      return opts.statusFails ? Promise.reject(new HttpError(502, "GitHub: 403")) : Promise.resolve();
    },
  } as Partial<Github> as Github;
  const gateway = {
    invokeAsync: (name: string, body: Buffer | string, headers?: Record<string, string>) => {
      queued.push({ name, body: body.toString(), headers });
      return (opts.handOff ?? (() => Promise.resolve({})))() as Promise<{ callId?: string }>;
    },
  } as Partial<Gateway> as Gateway;
  const pending = {
    put: () => (opts.putFails ? Promise.reject(new Error("s3: down")) : Promise.resolve()),
    remove: (ref: unknown) => {
      removed.push(ref);
      return opts.removeFails ? Promise.reject(new Error("s3: down")) : Promise.resolve();
    },
  } as Partial<PendingBuilds> as PendingBuilds;
  const deps: GithubPushDeps = {
    payloadSecret: SECRET,
    selfUrl: "http://gateway:8080/function/github-push",
    github,
    gateway,
    pending,
    log: pino(
      { level: "info" },
      { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
    ),
    now: () => Date.parse("2026-11-30T12:00:00Z"),
  };
  return { start: createBuildStarter(deps), statuses, queued, removed, lines };
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

/** A signed hop to github-push; `headers` replaces the event and delivery headers. */
function hop(payload: unknown, headers: Record<string, string> = { "x-github-event": "push" }): FunctionEvent {
  const body = Buffer.from(JSON.stringify(payload));
  return {
    body,
    headers: { ...headers, "x-cloud-signature-256": signHop(SECRET, "github-push", body) },
    method: "POST",
    query: {},
    path: "/",
  };
}

async function refusal(promise: Promise<unknown>): Promise<HttpError> {
  const error = await promise.then(
    () => new Error("expected a refusal"),
    (e: unknown) => e,
  );
  if (!(error instanceof HttpError)) throw error;
  return error;
}

describe("createBuildStarter", () => {
  it("no X-GitHub-Event header → 400 naming the (empty) event", async () => {
    const { start, queued } = starter();
    const error = await refusal(start(hop(push(), {})));
    expect([error.status, error.message]).toEqual([400, "github-push cannot handle event: "]);
    expect(queued).toEqual([]);
  });

  it("a push without installation.id → 400 naming it, no status, nothing queued", async () => {
    const { start, statuses, queued } = starter();
    const error = await refusal(start(hop(push(null))));
    expect([error.status, error.message]).toEqual([400, "push event: installation.id missing"]);
    expect([statuses, queued]).toEqual([[], []]);
  });

  it("a build → git-tar gets the request as JSON; no X-GitHub-Delivery → an empty delivery id", async () => {
    const { start, queued } = starter();
    expect(await start(hop(push()))).toMatchObject({ status: 202 });
    expect(queued).toHaveLength(1);
    expect(queued[0]?.name).toBe("git-tar");
    expect(queued[0]?.headers?.["content-type"]).toBe("application/json");
    expect(JSON.parse(queued[0]?.body ?? "")).toMatchObject({ deliveryId: "", owner: "alice", installationId: 7 });
  });

  it("the hand-off fails with a fault (not an HttpError) → failure status and 502 saying 'internal error', its cause kept", async () => {
    const fault = new TypeError("socket hang up");
    const { start, statuses, removed } = starter({ handOff: () => Promise.reject(fault) });
    const error = await refusal(start(hop(push())));
    expect([error.status, error.message, error.cause]).toEqual([
      502,
      "unable to start the build: internal error",
      fault,
    ]);
    expect(statuses.map((s) => [s.state, s.description])).toEqual([
      ["pending", "alice-fns stack deploy is in progress"],
      ["failure", "unable to start the build: internal error"],
    ]);
    expect(removed).toEqual([{ owner: "alice", repo: "fns", sha: "a".repeat(40) }]);
  });

  it("the hand-off fails with an HttpError → its message in the status and the 502", async () => {
    const { start, statuses } = starter({ handOff: () => Promise.reject(new HttpError(502, "queue full")) });
    const error = await refusal(start(hop(push())));
    expect([error.status, error.message]).toEqual([502, "unable to start the build: queue full"]);
    expect(statuses.at(-1)?.description).toBe("unable to start the build: queue full");
  });

  it("GitHub refuses a status → the build still starts, and a warning says which status was lost", async () => {
    const { start, queued, lines } = starter({ statusFails: true });
    expect(await start(hop(push()))).toMatchObject({ status: 202 });
    expect(queued).toHaveLength(1);
    expect(lines).toContainEqual(
      expect.objectContaining({ msg: "could not post the commit status", state: "pending" }) as unknown,
    );
  });

  it("the pending-build record cannot be stored → the build still starts, and a warning says so", async () => {
    const { start, queued, lines } = starter({ putFails: true });
    expect(await start(hop(push()))).toMatchObject({ status: 202 });
    expect(queued).toHaveLength(1);
    expect(lines).toContainEqual(
      expect.objectContaining({
        msg: "could not record the pending build",
        err: expect.objectContaining({ message: "s3: down" }) as unknown,
      }),
    );
  });

  it("the failed hand-off's record cannot be removed → still the 502, and a warning", async () => {
    const { start, lines } = starter({ handOff: () => Promise.reject(new Error("x")), removeFails: true });
    expect((await refusal(start(hop(push())))).status).toBe(502);
    expect(lines).toContainEqual(
      expect.objectContaining({
        msg: "could not remove the pending-build record",
        err: expect.objectContaining({ message: "s3: down" }) as unknown,
      }),
    );
  });
});
