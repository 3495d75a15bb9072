import examples from "@octokit/webhooks-examples/api.github.com/index.json" with { type: "json" };
import axios from "axios";
import { signHop } from "../../shared/hmac.js";
import { PAYLOAD_SECRET, repoint, startFrontDoor } from "../../test/support/front-door.js";

// Issue #12: only `refs/heads/<build branch>` builds, exactly; a tag or a nested branch whose last segment happens to
// be the build branch's name is another ref.
const masterPush = (examples as Array<{ name: string; examples: Array<Record<string, unknown>> }>)
  .find((e) => e.name === "push")!
  .examples.find((p) => p.ref === "refs/heads/master" && p.installation)!;

let door: Awaited<ReturnType<typeof startFrontDoor>>;
afterEach(() => door.close());

async function push(ref: string) {
  const text = JSON.stringify({ ...(JSON.parse(repoint(masterPush, door.standin.url)) as object), ref });
  return axios.post<string>(`${door.gatewayUrl}function/github-push`, text, {
    headers: {
      "content-type": "application/json",
      "x-github-event": "push",
      "x-github-delivery": "delivery-1",
      "x-cloud-signature-256": signHop(PAYLOAD_SECRET, "github-push", text),
    },
    responseType: "text",
    validateStatus: () => true,
  });
}

describe("github-push: which ref builds", () => {
  it.each([
    ["refs/tags/master", "master"],
    ["refs/heads/x/master", "master"],
    ["refs/heads/feature/master", "master"],
    ["refs/heads/master-old", "master"],
    ["refs/heads/old-master", "master"],
    ["refs/heads/Master", "master"],
    ["refs/remotes/origin/master", "master"],
    ["refs/heads/master/x", "master"],
    ["refs/tags/staging", "staging"],
    ["refs/heads/x/staging", "staging"],
  ])("%s with build branch %s → skipped: success status, nothing queued", async (ref, branch) => {
    door = await startFrontDoor(branch === "master" ? {} : { buildBranch: branch });
    const res = await push(ref);
    const message = `skipping build for: ${ref} branch, the build branch is: ${branch}`;
    expect([res.status, res.data]).toEqual([200, message]);
    expect(door.standin.statuses().map((s) => [s.state, s.description])).toEqual([["success", message]]);
    expect(door.queued).toHaveLength(0);
  });

  it.each([
    ["refs/heads/master", "master"],
    ["refs/heads/staging", "staging"],
    ["refs/heads/release/1.x", "release/1.x"],
  ])("%s with build branch %s → built: pending status, git-tar queued", async (ref, branch) => {
    door = await startFrontDoor(branch === "master" ? {} : { buildBranch: branch });
    const res = await push(ref);
    expect(res.status).toBe(202);
    expect(door.standin.statuses().map((s) => s.state)).toEqual(["pending"]);
    expect(door.queued.map((q) => q.function)).toEqual(["git-tar"]);
  });
});
