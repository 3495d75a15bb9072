import type { KeyObject } from "node:crypto";
import { hybridDecrypt, hybridEncrypt } from "./hybrid.js";

/** How far a sealed value may travel (kubeseal --scope): strict binds namespace and name, the others less. */
export type Scope = "strict" | "namespace-wide" | "cluster-wide";

/** One `SealedSecret` (bitnami.com/v1alpha1), the fields kubeseal writes and the controller reads. */
export interface SealedSecret {
  name: string;
  namespace: string;
  scope: Scope;
  /** Key → base64 of kubeseal's per-value ciphertext. */
  encryptedData: Record<string, string>;
}

export const NAMESPACE_WIDE_ANNOTATION = "sealedsecrets.bitnami.com/namespace-wide";
export const CLUSTER_WIDE_ANNOTATION = "sealedsecrets.bitnami.com/cluster-wide";

/** The scope the SealedSecret's own annotations give it; cluster-wide wins, as in the controller. */
export function scopeOf(annotations: Readonly<Record<string, string>>): Scope {
  if (annotations[CLUSTER_WIDE_ANNOTATION] === "true") return "cluster-wide";
  if (annotations[NAMESPACE_WIDE_ANNOTATION] === "true") return "namespace-wide";
  return "strict";
}

/** The RSA-OAEP label of a scope: `namespace/name`, `namespace` or empty (kubeseal's EncryptionLabel). */
export function scopeLabel(scope: Scope, namespace: string, name: string): Buffer {
  if (scope === "cluster-wide") return Buffer.alloc(0);
  return Buffer.from(scope === "namespace-wide" ? namespace : `${namespace}/${name}`);
}

/** Seals each value for `name` in `namespace` under `scope` with the cloud's public key, as `kubeseal` does. */
export function sealSecret(
  publicKey: KeyObject,
  target: { name: string; namespace: string; scope: Scope },
  values: Readonly<Record<string, Buffer>>,
): SealedSecret {
  const label = scopeLabel(target.scope, target.namespace, target.name);
  const encryptedData = Object.fromEntries(
    Object.entries(values).map(([key, value]) => [key, hybridEncrypt(publicKey, value, label).toString("base64")]),
  );
  return { ...target, encryptedData };
}

/** The values of a SealedSecret, or the reason it does not open; the reason names keys, never a value. */
export type Opened = { ok: true; data: Record<string, Buffer> } | { ok: false; reason: string };

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Opens every value with the cloud's private keys and the label of the secret's own scope, namespace and name: a
 * strict secret renamed or moved, a changed byte or a value sealed with another key does not open.
 */
export function openSealedSecret(privateKeys: readonly KeyObject[], secret: SealedSecret): Opened {
  const label = scopeLabel(secret.scope, secret.namespace, secret.name);
  const data: Record<string, Buffer> = {};
  const failed: string[] = [];
  for (const [key, value] of Object.entries(secret.encryptedData)) {
    const sealed = BASE64.test(value) ? Buffer.from(value, "base64") : undefined;
    const opened = sealed && hybridDecrypt(privateKeys, sealed, label);
    if (opened) data[key] = opened;
    else failed.push(key);
  }
  if (failed.length === 0) return { ok: true, data };
  return {
    ok: false,
    reason:
      `value ${failed.map((k) => JSON.stringify(k)).join(", ")} does not open with the cloud's keys: sealed with ` +
      `another certificate, for another ${secret.scope === "strict" ? "name or namespace" : "scope"}, or changed`,
  };
}
