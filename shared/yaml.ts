import { isAlias, isCollection, isPair, LineCounter, parseDocument, visit, type Document } from "yaml";
import { HttpError } from "./http-error.js";

/** Alias expansions allowed per document: stops "billion laughs" while leaving room for shared anchors. */
const MAX_ALIASES = 100;
/** Nodes a document may expand to: `maxAliasCount` still lets one big node be aliased 100 times (issue #10). */
const MAX_NODES = 100_000;

/**
 * Parses one YAML document a repository wrote into Maps (to keep the file's function order), arrays and strings,
 * with bounded work: aliases and merges are capped before any value is built. Like yaml.v2/v3 decoding into Go
 * string fields, a plain scalar keeps its source text: `1.50`, `yes` and `0x1F` stay as written. Refusals are
 * `HttpError(400)`s starting with `where`.
 */
export function parseYaml(text: string, where: string): unknown {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, merge: true, uniqueKeys: true, prettyErrors: false });
  const [error] = doc.errors;
  if (error) {
    const { line, col } = lineCounter.linePos(error.pos[0]);
    throw new HttpError(400, `${where} line ${line}, column ${col}: ${error.message}`);
  }
  checkExpandedSize(doc, where);
  visit(doc, {
    Scalar(_, node) {
      if (["number", "boolean", "bigint"].includes(typeof node.value)) node.value = node.source ?? String(node.value);
    },
  });
  try {
    return doc.toJS({ mapAsMap: true, maxAliasCount: MAX_ALIASES }) as unknown;
  } catch (cause) {
    throw new HttpError(400, `${where}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/**
 * Refuses a document whose nodes, each alias (and `<<` merge) counted as the whole node it stands for, are over
 * MAX_NODES: what turning it into values would cost. Each anchored node is measured once, where it is defined
 * (YAML puts the anchor before its aliases); counting stops at the limit.
 */
function checkExpandedSize(doc: Document, where: string): void {
  const anchored = new Map<unknown, number>();
  let nodes = 0;
  const count = (n: number) => {
    nodes += n;
    if (nodes > MAX_NODES) throw new HttpError(400, `${where}: over ${MAX_NODES} YAML nodes once aliases are expanded`);
  };
  const walk = (node: unknown): void => {
    if (isAlias(node)) {
      // An alias to a node still being measured (a cycle) stands for an endless expansion.
      return count(anchored.get(node.resolve(doc)) ?? MAX_NODES + 1);
    }
    const before = nodes;
    count(1);
    if (isPair(node)) {
      walk(node.key);
      walk(node.value);
    } else if (isCollection(node)) {
      for (const item of node.items) walk(item);
    }
    if ((node as { anchor?: string } | null)?.anchor) anchored.set(node, nodes - before);
  };
  walk(doc.contents);
}

/** Maps become plain objects (own properties only, so a `__proto__` key stays data), recursively. */
export function plain(value: unknown): unknown {
  if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [String(k), plain(v)]));
  return Array.isArray(value) ? value.map(plain) : value;
}
