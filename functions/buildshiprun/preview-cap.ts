import { PREVIEW_LABEL, type DeploySpec } from "../../shared/deploy-spec.js";
import type { Gateway } from "../../shared/gateway.js";

const OWNER_ID_LABEL = "com.openfaas.cloud.git-owner-id";
const REPO_LABEL = "com.openfaas.cloud.git-repo";

/**
 * Why a preview may not be created, or undefined when it may (issue #17): max_previews_per_owner bounds the owner's
 * (by id) live preview branches, counted by repository and branch key from the gateway's functions. A branch that is
 * live already is never refused. Two new branches pushed at the same moment may both pass: the cap bounds, it does
 * not meter.
 */
export async function previewCapRefusal(
  gateway: Pick<Gateway, "listFunctions">,
  spec: Pick<DeploySpec, "owner" | "ownerId" | "repo" | "preview">,
  maxPreviews: number,
): Promise<string | undefined> {
  const mine = `${spec.repo.toLowerCase()}/${spec.preview}`;
  const live = new Set<string>();
  for (const fn of await gateway.listFunctions()) {
    const labels = fn.labels ?? {};
    const key = labels[PREVIEW_LABEL];
    if (!key || labels[OWNER_ID_LABEL] !== String(spec.ownerId)) continue;
    live.add(`${(labels[REPO_LABEL] ?? "").toLowerCase()}/${key}`);
  }
  if (live.has(mine) || live.size < maxPreviews) return undefined;
  return (
    `preview refused: ${spec.owner} already has ${live.size} live previews, the cap ` +
    `(max_previews_per_owner=${maxPreviews}); delete a branch or close its pull request`
  );
}
