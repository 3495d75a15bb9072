import { join } from "node:path";
import ts from "typescript";

// Strict field check for Kubernetes manifests: every key of every object must be a field of its Kubernetes type.
// kubernetes-models' validate() cannot do it: its schemas omit additionalProperties: false (the API server itself
// drops unknown fields), so `readinesProbe` passes and the probe silently never exists.
//
// Why TypeScript declarations: kubernetes-models ships its OpenAPI schemas only compiled into AJV validator code, with
// no JSON schema graph left to read. Its .d.ts files are generated from the same OpenAPI definitions and keep the
// graph: an interface per definition ($ref → imported interface), Array<T> for `items`, an index signature for
// `additionalProperties` maps, `string | number` for IntOrString and Quantity, unions for nullable/oneOf. The
// TypeScript checker resolves those references for us, so the walker below only follows types alongside values.

const ROOT = join(import.meta.dirname, "..", "..");

/** Options for reading kubernetes-models' declarations the way an ESM importer in this repository would. */
const OPTIONS: ts.CompilerOptions = {
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  strict: true, // optional fields then carry `| undefined`, which getNonNullableType strips
  noEmit: true,
  skipLibCheck: true,
  types: [],
  lib: ["lib.es5.d.ts"], // Array<T> is all the walker needs from the standard library
};

const host = ts.createCompilerHost(OPTIONS);
// Each kind's declarations import the same ~200 shared files; parse each once across programs.
const parsed = new Map<string, ts.SourceFile | undefined>();
const readSourceFile = host.getSourceFile.bind(host);
const virtual = new Map<string, string>();
host.getSourceFile = (file, language) => {
  const text = virtual.get(file);
  if (text !== undefined) return ts.createSourceFile(file, text, language);
  if (!parsed.has(file)) parsed.set(file, readSourceFile(file, language));
  return parsed.get(file);
};
const fileExists = host.fileExists.bind(host);
host.fileExists = (file) => virtual.has(file) || fileExists(file);

interface Schema {
  checker: ts.TypeChecker;
  type: ts.Type;
}
const schemas = new Map<string, Schema>();

/** The declared type of a top-level kind, e.g. `IDeployment` from `kubernetes-models/apps/v1/Deployment`. */
function schemaFor(apiVersion: unknown, kind: unknown): Schema {
  if (typeof apiVersion !== "string" || typeof kind !== "string" || !/^[A-Za-z0-9./-]+$/.test(apiVersion + kind)) {
    throw new Error(`document lacks a valid apiVersion/kind (got ${String(apiVersion)} ${String(kind)})`);
  }
  const key = `${apiVersion}/${kind}`;
  const cached = schemas.get(key);
  if (cached) return cached;
  // An importer module placed at the repository root, so that node_modules resolves as it does for the tests.
  const file = join(ROOT, `__k8s_strict__${key.replace(/\W/g, "_")}.mts`);
  virtual.set(file, `import type { I${kind} } from "kubernetes-models/${key}";\nexport declare const doc: I${kind};\n`);
  const program = ts.createProgram({ rootNames: [file], options: OPTIONS, host });
  const checker = program.getTypeChecker();
  const module = checker.getSymbolAtLocation(program.getSourceFile(file)!);
  const doc = module && checker.getExportsOfModule(module).find((s) => s.name === "doc");
  const type = doc && checker.getTypeOfSymbol(doc);
  // An unresolved import leaves the error type, which TypeScript reports as `any`.
  if (!type || type.flags & ts.TypeFlags.Any)
    throw new Error(`unknown kind ${kind} in ${apiVersion}: no schema for it`);
  const schema = { checker, type };
  schemas.set(key, schema);
  return schema;
}

/**
 * Every key of `doc` that its Kubernetes schema does not define, as `path is not a field of definition`, e.g.
 * `spec.template.spec.containers[0].readinesProbe is not a field of io.k8s.api.core.v1.Container`. Maps (labels,
 * annotations, ConfigMap data, resource limits) accept any key. Wrong value types are left to kubernetes-models'
 * validate(): the walk only descends where the value's shape matches the schema's.
 */
export function unknownFields(doc: Record<string, unknown>): string[] {
  const { checker, type } = schemaFor(doc.apiVersion, doc.kind);
  const out: string[] = [];
  walk(checker, doc, type, "", out);
  return out;
}

function walk(checker: ts.TypeChecker, value: unknown, declared: ts.Type, path: string, out: string[]): void {
  const type = checker.getNonNullableType(declared);
  // A union stands for nullable, oneOf or IntOrString-like schemas: a value may match any of its members.
  const members = type.isUnion() ? type.types : [type];
  if (Array.isArray(value)) {
    const list = members.find((m) => checker.isArrayType(m));
    const item = list && checker.getTypeArguments(list as ts.TypeReference)[0];
    if (item) value.forEach((v, i) => walk(checker, v, item, `${path}[${i}]`, out));
    return;
  }
  if (value === null || typeof value !== "object") return;
  const objects = members.filter((m) => m.flags & ts.TypeFlags.Object && !checker.isArrayType(m));
  const fields = new Map<string, ts.Type>();
  let mapValue: ts.Type | undefined;
  for (const m of objects) {
    for (const p of checker.getPropertiesOfType(m)) fields.set(p.name, checker.getTypeOfSymbol(p));
    mapValue ??= checker.getIndexTypeOfType(m, ts.IndexKind.String);
  }
  // No fields and no map: a free-form object (RawExtension, FieldsV1), or a scalar schema that validate() rejects.
  if (fields.size === 0 && !mapValue) return;
  for (const [key, v] of Object.entries(value)) {
    const at = /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}${path ? "." : ""}${key}` : `${path}[${JSON.stringify(key)}]`;
    const field = fields.get(key) ?? mapValue;
    if (field) walk(checker, v, field, at, out);
    else out.push(`${at} is not a field of ${definitionName(objects[0]!)}`);
  }
}

/**
 * The OpenAPI definition name of a declared interface: kubernetes-models exports each interface under an alias that
 * spells it (`IContainer as IIoK8sApiCoreV1Container` → io.k8s.api.core.v1.Container).
 */
function definitionName(type: ts.Type): string {
  const symbol = type.aliasSymbol ?? type.getSymbol();
  const file = symbol?.declarations?.[0]?.getSourceFile();
  for (const statement of file?.statements ?? []) {
    if (!ts.isExportDeclaration(statement) || !statement.exportClause || !ts.isNamedExports(statement.exportClause)) {
      continue;
    }
    for (const spec of statement.exportClause.elements) {
      if (spec.propertyName?.text !== symbol?.name) continue;
      const parts = /^I(\w+?)(V\d+(?:(?:alpha|beta)\d+)?)([A-Z]\w*)$/.exec(spec.name.text);
      if (!parts) continue;
      const group = parts[1]!.split(/(?=[A-Z])/).map((word) => word.toLowerCase());
      return [...group, parts[2]!.toLowerCase(), parts[3]].join(".");
    }
  }
  return symbol?.name ?? "an object without fields";
}
