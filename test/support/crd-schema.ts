import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import { unknownFields } from "./k8s-strict.js";

// Custom resources (Gateway API, cert-manager) checked against their published CRD schemas, vendored in
// test/fixtures/crds with their versions (issue #11). Like test/support/k8s-strict.ts for the built-in kinds, a field
// the schema does not define is reported: the API server would prune it without a word. CEL rules
// (x-kubernetes-validations) and string formats are not evaluated (test/fixtures/crds/README.md).

const DIR = join(import.meta.dirname, "..", "fixtures", "crds");

interface Vendored {
  group: string;
  kind: string;
  version: string;
  schema: Record<string, unknown>;
}

type Schema = Record<string, unknown>;

/** Objects that list their properties accept no other key, unless the schema says it keeps unknown fields. */
function closed(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(closed);
  if (schema === null || typeof schema !== "object") return schema;
  const out: Schema = {};
  for (const [key, value] of Object.entries(schema as Schema)) {
    if (key === "properties") {
      out[key] = Object.fromEntries(Object.entries(value as Schema).map(([name, s]) => [name, closed(s)]));
    } else
      out[key] = ["items", "additionalProperties", "anyOf", "oneOf", "allOf", "not"].includes(key)
        ? closed(value)
        : value;
  }
  if (out.properties && out.additionalProperties === undefined && out["x-kubernetes-preserve-unknown-fields"] !== true)
    out.additionalProperties = false;
  return out;
}

// Formats and the x-kubernetes-* keywords are not JSON Schema's; the patterns are Go's RE2 syntax, which the
// non-unicode JavaScript engine reads the same way for what these schemas use.
const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false, unicodeRegExp: false });
let vendored: Map<string, Vendored> | undefined;
const compiled = new Map<string, ValidateFunction>();

/** The vendored schema's validator for a document's apiVersion/kind (compiled once, when first asked for). */
function validatorFor(doc: Record<string, unknown>): ValidateFunction | undefined {
  vendored ??= new Map(
    readdirSync(DIR)
      .filter((f) => f.endsWith(".json"))
      .map((f) => JSON.parse(readFileSync(join(DIR, f), "utf8")) as Vendored)
      .map((crd) => [`${crd.group}/${crd.version}/${crd.kind}`, crd]),
  );
  const key = `${String(doc.apiVersion)}/${String(doc.kind)}`;
  const crd = vendored.get(key);
  if (!crd) return undefined;
  if (!compiled.has(key)) compiled.set(key, ajv.compile(closed(crd.schema) as Schema));
  return compiled.get(key);
}

/** True when test/fixtures/crds holds a schema for this document's apiVersion and kind. */
export function isCustomResource(doc: Record<string, unknown>): boolean {
  return validatorFor(doc) !== undefined;
}

/** `/spec/listeners/0` → `spec.listeners[0]`, as test/support/k8s-strict.ts spells paths. */
function dotted(pointer: string): string {
  let path = "";
  for (const raw of pointer.split("/").slice(1)) {
    const part = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    if (/^\d+$/.test(part)) path += `[${part}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(part)) path += `${path ? "." : ""}${part}`;
    else path += `[${JSON.stringify(part)}]`;
  }
  return path;
}

function explain(error: ErrorObject, kind: string): { unknown: boolean; text: string } {
  const at = dotted(error.instancePath);
  if (error.keyword === "additionalProperties") {
    const field = (error.params as { additionalProperty: string }).additionalProperty;
    const path = /^[A-Za-z_$][\w$]*$/.test(field) ? `${at}${at ? "." : ""}${field}` : `${at}[${JSON.stringify(field)}]`;
    return { unknown: true, text: `${path} is not a field of ${kind}` };
  }
  return { unknown: false, text: `${at || "the document"} ${error.message ?? error.keyword}` };
}

/**
 * Checks a custom resource against its vendored schema: `invalid` lists wrong types, missing required fields, bad
 * enum values and patterns; `unknown` lists keys the schema does not define (metadata checked as ObjectMeta), as
 * `path is not a field of <apiVersion> <Kind>`. Throws for a kind with no vendored schema.
 */
export function checkCustomResource(doc: Record<string, unknown>): { invalid: string[]; unknown: string[] } {
  const validate = validatorFor(doc);
  if (!validate)
    throw new Error(`no vendored schema for ${String(doc.apiVersion)} ${String(doc.kind)} (test/fixtures/crds)`);
  const kind = `${String(doc.apiVersion)} ${String(doc.kind)}`;
  const invalid: string[] = [];
  const unknown: string[] = [];
  if (!validate(doc)) {
    for (const error of validate.errors ?? []) {
      const { unknown: isUnknown, text } = explain(error, kind);
      (isUnknown ? unknown : invalid).push(text);
    }
  }
  // CRD schemas leave metadata open (`type: object`); it is an ObjectMeta like any other kind's.
  if (doc.metadata !== undefined)
    unknown.push(...unknownFields({ apiVersion: "v1", kind: "ConfigMap", metadata: doc.metadata }));
  return { invalid: [...new Set(invalid)], unknown: [...new Set(unknown)] };
}
