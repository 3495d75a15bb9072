import { parseAllDocuments, stringify } from "yaml";
import { z } from "zod";
import { HttpError } from "../http-error.js";
import { parseYaml, plain } from "../yaml.js";
import { CLUSTER_WIDE_ANNOTATION, NAMESPACE_WIDE_ANNOTATION, scopeOf, type SealedSecret } from "./sealed-secret.js";

/** The repository file git-tar hands to import-secrets (original-spec: `secrets.yml` at the repo root). */
export const SECRETS_FILE = "secrets.yml";

// What kubeseal writes (pkg/apis/sealedsecrets/v1alpha1 types); unknown fields are ignored as the API server would.
const documentSchema = z.object({
  apiVersion: z.literal("bitnami.com/v1alpha1"),
  kind: z.literal("SealedSecret"),
  metadata: z.object({
    name: z.string().min(1),
    namespace: z.string().optional(),
    annotations: z.record(z.string(), z.string()).optional(),
  }),
  spec: z.object({
    // The deprecated whole-Secret `data` blob is refused, as the controller does by default.
    data: z.never({ error: "the deprecated spec.data is not supported: seal with encryptedData" }).optional(),
    encryptedData: z.record(z.string(), z.string()),
  }),
});

/** Each YAML document's own text (with its "---"); the project's bounded parser then reads each one. */
function documentSources(text: string): string[] {
  const documents = parseAllDocuments(text);
  if (!Array.isArray(documents)) return [];
  return documents.map((doc) => text.slice(doc.range[0], doc.range[2]));
}

/** The SealedSecrets of a `secrets.yml` (one or more YAML documents); a 400 names the document and the problem. */
export function parseSecretsFile(text: string): SealedSecret[] {
  const secrets: SealedSecret[] = [];
  documentSources(text).forEach((source, index) => {
    const where = `${SECRETS_FILE} document ${index + 1}`;
    const value = plain(parseYaml(source, `${where}:`));
    if (value === null || value === undefined) return; // An empty document, e.g. after a trailing "---".
    const parsed = documentSchema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new HttpError(400, `${where}: ${issue.path.join(".") || "document"}: ${issue.message}`);
    }
    const { metadata, spec } = parsed.data;
    secrets.push({
      name: metadata.name,
      namespace: metadata.namespace ?? "",
      scope: scopeOf(metadata.annotations ?? {}),
      encryptedData: spec.encryptedData,
    });
  });
  return secrets;
}

/** One SealedSecret as kubeseal prints it: the scope annotation on both the object and its template. */
function render(secret: SealedSecret): string {
  const annotations =
    secret.scope === "strict"
      ? undefined
      : { [secret.scope === "cluster-wide" ? CLUSTER_WIDE_ANNOTATION : NAMESPACE_WIDE_ANNOTATION]: "true" };
  const metadata = {
    name: secret.name,
    ...(secret.scope === "cluster-wide" ? {} : { namespace: secret.namespace }),
    ...(annotations ? { annotations } : {}),
  };
  return stringify({
    apiVersion: "bitnami.com/v1alpha1",
    kind: "SealedSecret",
    metadata,
    spec: { encryptedData: secret.encryptedData, template: { metadata, type: "Opaque" } },
  });
}

/**
 * `secrets.yml` with `secret` in it: the document of the same name replaced, or appended; every other document kept
 * as written. `existing` undefined starts a new file.
 */
export function upsertSecretsFile(existing: string | undefined, secret: SealedSecret): string {
  const parts: string[] = [];
  let replaced = false;
  if (existing !== undefined) {
    // Parsing first refuses a malformed file rather than rewriting it; each non-empty document is one secret.
    const names = parseSecretsFile(existing).map((s) => s.name);
    const sources = documentSources(existing)
      .map((source) => source.replace(/^---[^\n]*\n/, ""))
      .filter((source) => parseYaml(source, SECRETS_FILE) != null);
    for (const [i, source] of sources.entries()) {
      if (names[i] === secret.name && !replaced) {
        parts.push(render(secret));
        replaced = true;
      } else parts.push(source.endsWith("\n") ? source : `${source}\n`);
    }
  }
  if (!replaced) parts.push(render(secret));
  return parts.join("---\n");
}
