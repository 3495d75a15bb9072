import { readFileSync } from "node:fs";
import { Ajv, type ErrorObject } from "ajv";
import { parse } from "yaml";

const SPEC = new URL("../fixtures/openapi/openfaas-gateway.yml", import.meta.url);

/**
 * Validates JSON against a schema of the OpenFaaS gateway's own OpenAPI document (components/schemas/<name>), so
 * what this project sends to a gateway, and what its local gateway answers, is checked against the real contract.
 */
export function gatewaySchema(name: string): (value: unknown) => ErrorObject[] {
  const doc = parse(readFileSync(SPEC, "utf8")) as { components: { schemas: Record<string, unknown> } };
  // OpenAPI 3.0 schema objects are JSON Schema plus `example`, `nullable` and friends: not strict. Its formats are
  // declared, so none is "unknown" (ajv warned once per schema use, about 1,400 lines in a test run: issue #18).
  const ajv = new Ajv({ strict: false, allErrors: true, formats: OPENAPI_FORMATS });
  ajv.addSchema({ $id: "gateway", components: nullableRefs(doc.components) });
  const validate = ajv.getSchema(`gateway#/components/schemas/${name}`);
  if (!validate) throw new Error(`no schema ${name} in the gateway OpenAPI document`);
  return (value) => (validate(value) ? [] : (validate.errors ?? []));
}

// The formats the gateway's document uses: OpenAPI 3.0's own (data types table) and its two of its own making.
const OPENAPI_FORMATS = {
  "date-time": /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)$/i,
  byte: /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/,
  binary: true,
  int64: { type: "number", validate: Number.isInteger },
  integer: { type: "number", validate: Number.isInteger },
  double: { type: "number", validate: Number.isFinite },
  // GatewayInfo's release: a source build says "dev" (as the local provider does), not a version number.
  semver: true,
} as const;

/** OpenAPI 3.0's `nullable` beside a `$ref` (no `type`) is not JSON Schema: express it as `anyOf [ref, null]`. */
function nullableRefs(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(nullableRefs);
  if (node === null || typeof node !== "object") return node;
  const { nullable, ...rest } = node as Record<string, unknown>;
  const mapped = Object.fromEntries(Object.entries(rest).map(([k, v]) => [k, nullableRefs(v)]));
  if (nullable === true && mapped.type === undefined) return { anyOf: [mapped, { type: "null" }] };
  return nullable === undefined ? mapped : { ...mapped, nullable };
}
