import { signPayload, verifyPayload } from "./hmac.js";

/**
 * The hand-off from github-push to git-tar goes through the queue, so a git-tar that crashes, times out or is not
 * running would leave the commit pending for good. github-push therefore passes the queue-worker an X-Callback-Url
 * (anchors §A: the callback carries X-Function-Status and git-tar's own answer headers) and, on the callback, posts
 * an `error` status unless git-tar's answer says it already reported the outcome.
 */

/** The path of github-push (and gitlab-push, issue #19) that receives the queue-worker's callback. */
export const BUILD_RESULT_PATH = "/build-result";

/** Set by git-tar on an answer sent after the commit got its terminal stack-deploy status. */
export const STATUS_POSTED_HEADER = "x-ofc-status-posted";

/** The commit a build result is about. */
export interface CommitRef {
  owner: string;
  repo: string;
  sha: string;
  installationId: number;
}

const canonical = (ref: CommitRef) => `${ref.owner}/${ref.repo}@${ref.sha}#${ref.installationId}`;

/**
 * The callback URL for `ref`: `functionUrl` (github-push through the gateway) + the path, with the commit in the
 * query, signed with the payload secret so nobody else can make github-push mark a commit as failed.
 */
export function buildResultUrl(functionUrl: string, secret: string, ref: CommitRef): string {
  const url = new URL(`${functionUrl.replace(/\/+$/, "")}${BUILD_RESULT_PATH}`);
  url.searchParams.set("owner", ref.owner);
  url.searchParams.set("repo", ref.repo);
  url.searchParams.set("sha", ref.sha);
  url.searchParams.set("installation", String(ref.installationId));
  url.searchParams.set("sig", signPayload(secret, canonical(ref)));
  return url.toString();
}

/** The commit a callback's query names, or undefined when a field is missing or the signature does not match. */
export function readBuildResultRef(
  query: Readonly<Record<string, string | undefined>>,
  secret: string,
): CommitRef | undefined {
  const { owner, repo, sha, installation, sig } = query;
  const installationId = Number(installation);
  if (!owner || !repo || !sha || !Number.isInteger(installationId) || installationId < 1) return undefined;
  const ref = { owner, repo, sha, installationId };
  return verifyPayload(secret, canonical(ref), sig) ? ref : undefined;
}
