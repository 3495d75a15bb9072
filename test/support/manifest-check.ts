import { checkCustomResource, isCustomResource } from "./crd-schema.js";
import { unknownFields } from "./k8s-strict.js";

type Model = new (data: unknown) => { validate(): void };

/**
 * Every problem with one Kubernetes document, as `<Kind>: <problem>`: built-in kinds against kubernetes-models'
 * schema plus its strict field walk (test/support/k8s-strict.ts), custom resources against their vendored CRD schema
 * (test/support/crd-schema.ts). A kind neither knows is one problem, never a pass.
 */
export async function manifestProblems(doc: Record<string, unknown>): Promise<string[]> {
  const kind = String(doc.kind);
  if (isCustomResource(doc)) {
    const { invalid, unknown } = checkCustomResource(doc);
    return [...invalid, ...unknown].map((p) => `${kind}: ${p}`);
  }
  const apiVersion = doc.apiVersion;
  if (typeof apiVersion !== "string" || !/^[A-Za-z0-9./]+$/.test(apiVersion + kind))
    return [`${kind}: no valid apiVersion/kind (got ${String(apiVersion)} ${kind})`];
  const module = (await import(`kubernetes-models/${apiVersion}/${kind}`).catch(() => undefined)) as
    Record<string, Model> | undefined;
  const Kind = module?.[kind];
  if (typeof Kind !== "function") return [`${kind}: unknown kind in ${apiVersion}: no schema for it`];
  const problems: string[] = [];
  try {
    new Kind(doc).validate();
  } catch (error) {
    problems.push(`${kind}: ${(error as Error).message}`);
  }
  // kubernetes-models lets a misspelled field through; the strict walk does not.
  problems.push(...unknownFields(doc).map((p) => `${kind}: ${p}`));
  return problems;
}
