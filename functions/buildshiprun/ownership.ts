import { PREVIEW_LABEL, type DeploySpec } from "../../shared/deploy-spec.js";
import type { Gateway } from "../../shared/gateway.js";

const OWNER_ID = "com.openfaas.cloud.git-owner-id";
const OWNER = "com.openfaas.cloud.git-owner";
const REPO = "com.openfaas.cloud.git-repo";
const PRIVATE = "com.openfaas.cloud.git-private";

/** What buildshiprun may do with a function name: create it, update it, or neither (the reason names the holder). */
export type Claim = { action: "create" } | { action: "update" } | { action: "refuse"; reason: string };

/**
 * Who holds a deployed function that this push may not update, or undefined when it may (DESIGN §5, issue #10):
 * only a function carrying the same owner id and repository is ours. The id, not the login, decides: a renamed
 * account keeps its functions and a new account that took the old login gets none. These labels cannot be forged from
 * a stack: toDeployment drops every user label under `com.openfaas.`.
 */
function holderOf(labels: Readonly<Record<string, string>>, spec: DeploySpec): string | undefined {
  const id = labels[OWNER_ID];
  if (!id) return "is a system or operator function";
  const login = labels[OWNER] ?? "another owner";
  const repo = labels[REPO] ?? "";
  if (id !== String(spec.ownerId)) {
    // Another tenant's private repository stays unnamed; the login alone says who holds the name.
    const where = labels[PRIVATE] === "1" ? `${login} (a private repository)` : `${login}/${repo}`;
    const sameLogin = login.toLowerCase() === spec.owner.toLowerCase();
    return `belongs to ${where}${sameLogin ? `, owner id ${id}` : ""}`;
  }
  if (repo.toLowerCase() !== spec.repo.toLowerCase()) return `belongs to ${login}/${repo}`;
  // Main and preview names never meet (shared/naming.ts); should a name ever, one never overwrites the other (issue #17).
  const preview = labels[PREVIEW_LABEL];
  if (preview !== spec.preview) return preview ? `is the preview ${preview}` : "is the main deployment";
  return undefined;
}

/** Looks the function up and decides: create when the name is free, update when it is ours, else refuse. */
export async function claimName(gateway: Pick<Gateway, "getFunction">, spec: DeploySpec): Promise<Claim> {
  const existing = await gateway.getFunction(spec.service);
  if (!existing) return { action: "create" };
  const holder = holderOf(existing.labels ?? {}, spec);
  return holder ? { action: "refuse", reason: `deploy refused: ${spec.service} ${holder}` } : { action: "update" };
}
