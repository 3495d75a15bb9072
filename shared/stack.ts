import { constants } from "node:fs";
import { lstat, open } from "node:fs/promises";
import { join } from "node:path";
import { LineCounter, parseDocument, visit } from "yaml";
import { z } from "zod";
import { envsubst } from "./envsubst.js";
import { HttpError, isHttpError } from "./http-error.js";
import { resolveInside } from "./repo-path.js";

/**
 * stack.yml, as faas-cli reads it (anchors §B). The types are the contract between git-tar's stages; the parser
 * (`readStack`) lives below them.
 */

/** One function of a stack, with every field faas-cli knows, defaults filled in. */
export interface StackFunction {
  /** The key under `functions:`, as written. */
  name: string;
  lang: string;
  /** The handler folder as written, relative to the repository root. */
  handler: string;
  image: string;
  fprocess?: string;
  namespace?: string;
  /** `environment`, overlaid by each `environment_file` in order (faas-cli's precedence). */
  environment: Record<string, string>;
  secrets: string[];
  labels: Record<string, string>;
  annotations: Record<string, string>;
  limits?: { memory?: string; cpu?: string };
  requests?: { memory?: string; cpu?: string };
  buildArgs: Record<string, string>;
  buildOptions: string[];
  readonlyRootFilesystem?: boolean;
  skipBuild: boolean;
  constraints: string[];
}

/** A parsed stack file. */
export interface Stack {
  /** The file it came from: "stack.yml" or "stack.yaml". */
  file: string;
  version?: string;
  provider: { name: "openfaas"; gateway?: string };
  /** In the order the file declares them. */
  functions: StackFunction[];
  configuration: { templates: Array<{ name: string; source?: string }>; copy: string[] };
}

/** Largest stack file or environment_file read, in bytes. */
const MAX_FILE_BYTES = 1024 * 1024;
/** Alias expansions allowed per document: stops "billion laughs" while leaving room for shared anchors. */
const MAX_ALIASES = 100;
/** faas-cli's default file, then its fallback; only at the repository root (original-spec §4 step 5). */
const STACK_FILES = ["stack.yml", "stack.yaml"];
/** The original's prefix for every parse failure (original-spec §4 step 8). */
const PREFIX = "parseYAML error : ";

/**
 * Reads and validates the repository's stack file: `${VAR}` substitution from `vars` only (anchors §B), YAML, then
 * every function field faas-cli knows. Refusals are `HttpError(400)` prefixed `parseYAML error : `.
 */
export async function readStack(repoDir: string, vars: Readonly<Record<string, string>>): Promise<Stack> {
  const file = await findStackFile(repoDir);
  try {
    const raw = await readRepoFile(repoDir, file, "stack file");
    return await toStack(repoDir, file, parseYaml(envsubst(raw, vars), file));
  } catch (error) {
    if (isHttpError(error) && !error.message.startsWith(PREFIX))
      throw new HttpError(error.status, PREFIX + error.message, { cause: error });
    throw error;
  }
}

async function findStackFile(repoDir: string): Promise<string> {
  for (const name of STACK_FILES) {
    try {
      await lstat(join(repoDir, name));
      return name;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
  }
  throw new HttpError(400, "unable to find stack.yml");
}

/** Reads a regular file the repository names, refusing anything outside it (symlinks included) or over the cap. */
async function readRepoFile(repoDir: string, path: string, what: string): Promise<string> {
  const real = await resolveInside(repoDir, path, what);
  const handle = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw new HttpError(400, `${what} ${JSON.stringify(path)} must be a regular file`);
    if (stats.size > MAX_FILE_BYTES)
      throw new HttpError(400, `${what} ${JSON.stringify(path)} is ${stats.size} bytes, over the 1 MiB limit`);
    return await handle.readFile("utf8");
  } finally {
    await handle.close();
  }
}

/**
 * Parses one YAML document into Maps (to keep the file's function order), arrays and strings. Like yaml.v2/v3
 * decoding into Go string fields, a plain scalar keeps its source text: `1.50`, `yes` and `0x1F` stay as written.
 */
function parseYaml(text: string, where: string): unknown {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, merge: true, uniqueKeys: true, prettyErrors: false });
  const [error] = doc.errors;
  if (error) {
    const { line, col } = lineCounter.linePos(error.pos[0]);
    throw new HttpError(400, `${where} line ${line}, column ${col}: ${error.message}`);
  }
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

/** Maps become plain objects (own properties only, so a `__proto__` key stays data), recursively. */
function plain(value: unknown): unknown {
  if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [String(k), plain(v)]));
  return Array.isArray(value) ? value.map(plain) : value;
}

const expected = (what: string) => ({
  error: (issue: { input?: unknown }) => (issue.input === undefined ? "is required" : `expected ${what}`),
});
/** An absent or null field takes `fallback`, as an absent Go field keeps its zero value. */
const or = <S extends z.ZodType, F>(schema: S, fallback: F) => schema.nullish().transform((v) => v ?? fallback);
const text = z.string(expected("a string"));
const optionalText = or(text, undefined);
const list = or(z.array(z.string(expected("a list of strings")), expected("a list of strings")), []);
/** A null value is "" (what yaml.v2 stores in a Go string). */
const mapValue = or(z.string(expected("a map of strings")), "");
const map = or(z.record(z.string(), mapValue, expected("a map of strings")), {});
/** YAML 1.1 booleans, as yaml.v2 (and yaml.v3 for a typed bool) accept them. */
const TRUE = ["y", "Y", "yes", "Yes", "YES", "on", "On", "ON", "true", "True", "TRUE"];
const FALSE = ["n", "N", "no", "No", "NO", "off", "Off", "OFF", "false", "False", "FALSE"];
const bool = z.union(
  [z.enum(TRUE).transform(() => true), z.enum(FALSE).transform(() => false)],
  expected("true or false"),
);
const resources = or(
  z.object({ memory: optionalText, cpu: optionalText }, expected("a map of memory and cpu")),
  undefined,
);
const template = z.object({ name: text, source: optionalText }, expected("a list of {name, source} maps"));

const functionSchema = z.object(
  {
    lang: text,
    handler: text,
    image: text,
    fprocess: optionalText,
    namespace: optionalText,
    environment: map,
    environment_file: list,
    secrets: list,
    labels: map,
    annotations: map,
    limits: resources,
    requests: resources,
    build_args: map,
    build_options: list,
    readonly_root_filesystem: or(bool, undefined),
    skip_build: or(bool, false),
    constraints: list,
  },
  expected("a map of function fields"),
);

const stackSchema = z.object({
  version: optionalText,
  provider: z.object({ name: z.literal("openfaas"), gateway: optionalText }),
  functions: z
    .map(z.string(), functionSchema, expected("a non-empty map of functions"))
    .refine((functions) => functions.size > 0, "expected a non-empty map of functions"),
  configuration: or(
    z.object(
      { templates: or(z.array(template, expected("a list of {name, source} maps")), []), copy: list },
      expected("a map"),
    ),
    { templates: [], copy: [] },
  ),
});

const environmentFileSchema = z.object({ environment: map }, expected("a map with an environment field"));

/** Names the failing field: `function "api": field "secrets": expected a list of strings`. */
function describe(issue: z.core.$ZodIssue): string {
  const [head, name, field] = issue.path.map(String);
  if (head === "functions" && name !== undefined)
    return `function ${JSON.stringify(name)}:${field === undefined ? "" : ` field ${JSON.stringify(field)}:`} ${issue.message}`;
  const path = issue.path.filter((p) => typeof p === "string").join(".");
  return path === "" ? issue.message : `field ${JSON.stringify(path)}: ${issue.message}`;
}

async function toStack(repoDir: string, file: string, root: unknown): Promise<Stack> {
  if (root !== null && !(root instanceof Map)) throw new HttpError(400, `${file}: expected a map at the top level`);
  const top = (root ?? new Map()) as Map<unknown, unknown>;
  const provider = plain(top.get("provider")) as { name?: unknown } | null | undefined;
  const given = provider?.name ?? "";
  if (given !== "openfaas") {
    const shown = typeof given === "string" ? given : JSON.stringify(given);
    throw new HttpError(
      400,
      `['openfaas'] is the only valid "provider.name" for the OpenFaaS CLI, but you gave: ${shown}`,
    );
  }
  const version = top.get("version");
  if (typeof version === "string" && version !== "" && version !== "1.0")
    throw new HttpError(400, `[1.0] are the only valid versions for the stack file - found: ${version}`);

  const functions = top.get("functions");
  const parsed = stackSchema.safeParse({
    ...(plain(top) as object),
    functions: functions instanceof Map ? new Map([...functions].map(([k, v]) => [String(k), plain(v)])) : functions,
  });
  if (!parsed.success) throw new HttpError(400, describe(parsed.error.issues[0]!));

  const result: StackFunction[] = [];
  for (const [name, fn] of parsed.data.functions) {
    const { environment_file, build_args, build_options, readonly_root_filesystem, skip_build, ...rest } = fn;
    result.push({
      name,
      ...rest,
      environment: await environment(repoDir, name, fn.environment, environment_file),
      buildArgs: build_args,
      buildOptions: build_options,
      readonlyRootFilesystem: readonly_root_filesystem,
      skipBuild: skip_build,
    });
  }
  const { version: stackVersion, provider: stackProvider, configuration } = parsed.data;
  return { file, version: stackVersion, provider: stackProvider, functions: result, configuration };
}

/** `environment`, overlaid by each environment_file in order, later files winning (faas-cli compileEnvironment). */
async function environment(repoDir: string, fn: string, inline: Record<string, string>, files: string[]) {
  let merged = { ...inline };
  for (const path of files) {
    const what = `function ${JSON.stringify(fn)}: environment_file`;
    const where = `${what} ${JSON.stringify(path)}`;
    // faas-cli reads environment files as they are: no substitution.
    const root = parseYaml(await readRepoFile(repoDir, path, what), where);
    const parsed = environmentFileSchema.safeParse(plain(root ?? new Map()));
    if (!parsed.success) throw new HttpError(400, `${where}: ${describe(parsed.error.issues[0]!)}`);
    merged = { ...merged, ...parsed.data.environment };
  }
  return merged;
}
