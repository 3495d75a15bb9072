import { secretName } from "../naming.js";
import type { SealedSecret } from "./sealed-secret.js";

/**
 * The namespace the cloud seals for, on every provider (faas-netes' function namespace): a strict secret's label is
 * `openfaas-fn/<owner>--<name>`, so the owner is inside what the key was wrapped with.
 */
export const SEALING_NAMESPACE = "openfaas-fn";

/** What `seal` (and `kubeseal --scope strict`) seals for: an owner's secret under its deployed name. */
export function sealingTarget(owner: string, name: string): { name: string; namespace: string; scope: "strict" } {
  return { name: secretName(owner, name), namespace: SEALING_NAMESPACE, scope: "strict" };
}

/**
 * Why `owner` may not import `secret`, or undefined when it may (issue #15): the name must be `<owner>--<name>` and
 * one value, the scope strict in the cloud's namespace. Only a strict label names the owner, so a namespace- or cluster-wide
 * secret copied from another owner's public repository, renamed, would otherwise open.
 */
export function refusalFor(owner: string, secret: SealedSecret): string | undefined {
  const prefix = `${owner.toLowerCase()}--`;
  if (!secret.name.startsWith(prefix)) {
    return `does not belong to ${owner}: a secret's name must be ${prefix}<name> (the seal command computes it)`;
  }
  try {
    secretName(owner, secret.name.slice(prefix.length));
  } catch (error) {
    return (error as Error).message;
  }
  const values = Object.keys(secret.encryptedData).length;
  if (values !== 1) {
    // faas-provider's secrets API (/system/secrets) holds one value per secret, on every provider.
    return `holds ${values} values: an OpenFaaS secret holds exactly one, seal each value as its own secret`;
  }
  if (secret.scope !== "strict") {
    return `is sealed ${secret.scope}: only strict scope binds a secret to its owner, seal with --scope strict`;
  }
  if (secret.namespace !== SEALING_NAMESPACE) {
    return `is sealed for namespace "${secret.namespace}", the cloud seals for "${SEALING_NAMESPACE}"`;
  }
  return undefined;
}
