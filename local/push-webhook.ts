import examples from "@octokit/webhooks-examples/api.github.com/index.json" with { type: "json" };
import { signPayload } from "../shared/hmac.js";

type Json = Record<string, unknown>;
// GitHub's own push example (an App installation, to the default branch) as the shape every local push takes.
const template = (examples as Array<{ name: string; examples: Json[] }>)
  .find((e) => e.name === "push")!
  .examples.find((p) => p.ref === "refs/heads/master" && p.installation)!;

export interface LocalPush {
  owner: string;
  ownerId: number;
  repo: string;
  sha: string;
  before?: string;
  branch?: string;
  /** The repository's default branch; `branch` unless given (issue #17's previews push another one). */
  defaultBranch?: string;
  cloneUrl: string;
  installationId: number;
  private?: boolean;
}

/** A push webhook as GitHub sends it for the local git host: GitHub's example with this push's facts. */
export function pushWebhook(
  push: LocalPush,
  secret: string,
  delivery: string,
): { body: string; headers: Record<string, string> } {
  const branch = push.branch ?? "master";
  const repository = template.repository as Json;
  const htmlUrl = push.cloneUrl.replace(/\.git$/, "");
  const body = JSON.stringify({
    ...template,
    ref: `refs/heads/${branch}`,
    before: push.before ?? "0".repeat(40),
    after: push.sha,
    created: push.before === undefined,
    // The all-zero SHA is a deleted branch, as GitHub sends it (issue #17).
    deleted: /^0{40}$/.test(push.sha),
    head_commit: { ...(template.head_commit as Json), id: push.sha, tree_id: push.sha },
    commits: [],
    repository: {
      ...repository,
      name: push.repo,
      full_name: `${push.owner}/${push.repo}`,
      private: push.private ?? false,
      owner: { ...(repository.owner as Json), login: push.owner, id: push.ownerId },
      html_url: htmlUrl,
      url: htmlUrl,
      clone_url: push.cloneUrl,
      default_branch: push.defaultBranch ?? branch,
      master_branch: push.defaultBranch ?? branch,
    },
    installation: { ...(template.installation as Json), id: push.installationId },
  });
  return {
    body,
    headers: {
      "content-type": "application/json",
      "x-github-event": "push",
      "x-github-delivery": delivery,
      "x-hub-signature-256": signPayload(secret, body),
    },
  };
}
