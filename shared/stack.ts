import { constants } from "node:fs";
import { lstat, open, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { envsubst } from "./envsubst.js";
import { HttpError, isHttpError } from "./http-error.js";
import { resolveInside } from "./repo-path.js";
import { parseYaml, plain } from "./yaml.js";

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

/** Opens a file for reading; readStack's own is `fs.open`, a test's may count what is read. */
export type OpenFile = (path: string, flags: number) => Promise<FileHandle>;

/** Caps on one stack read (issue #10: one push cannot hold git-tar for long). */
export interface ReadStackOptions {
  /** Most functions the stack may declare, checked before any environment_file is read; default 100. */
  maxFunctions?: number;
  openFile?: OpenFile;
}

/** Largest stack file or environment_file read, in bytes. */
const MAX_FILE_BYTES = 1024 * 1024;
const DEFAULT_MAX_FUNCTIONS = 100;
/** environment_file entries across the stack: each is a file to merge. */
const MAX_ENVIRONMENT_FILES = 100;
/** Bytes of environment_files merged into the stack, a file counted each time it is named. */
const MAX_ENVIRONMENT_BYTES = 1024 * 1024;
/** faas-cli's default file, then its fallback; only at the repository root (original-spec §4 step 5). */
export const STACK_FILES = ["stack.yml", "stack.yaml"];
/** The original's prefix for every parse failure (original-spec §4 step 8). */
const PREFIX = "parseYAML error : ";

/** A refusal for going over one of the caps: not a parse error, so it keeps its own words. */
class LimitError extends HttpError {
  constructor(message: string) {
    super(400, message);
  }
}

/**
 * Reads and validates the repository's stack file: `${VAR}` substitution from `vars` only (anchors §B), YAML, then
 * every function field faas-cli knows. Refusals are `HttpError(400)` prefixed `parseYAML error : `, except going
 * over a cap (functions, environment files), which says so plainly. The work is bounded: the file sizes, the YAML
 * nodes after alias expansion, the functions, and the environment_files, each read once (issue #10).
 */
export async function readStack(
  repoDir: string,
  vars: Readonly<Record<string, string>>,
  options: ReadStackOptions = {},
): Promise<Stack> {
  const file = await findStackFile(repoDir);
  const openFile = options.openFile ?? open;
  try {
    const root = await parseStackFile(openFile, repoDir, file, vars);
    const maxFunctions = options.maxFunctions ?? DEFAULT_MAX_FUNCTIONS;
    return await toStack({ repoDir, file, openFile, maxFunctions }, root);
  } catch (error) {
    if (isHttpError(error) && !(error instanceof LimitError) && !error.message.startsWith(PREFIX))
      throw new HttpError(error.status, PREFIX + error.message, { cause: error });
    throw error;
  }
}

/**
 * The stack file's YAML after `${VAR}` substitution, read with readStack's checks (no symlink, the size caps) but not
 * validated: for a caller that only needs a hint from it (git-tar's sparse checkout) and lets readStack refuse later.
 */
export async function readStackYaml(repoDir: string, vars: Readonly<Record<string, string>>): Promise<unknown> {
  return parseStackFile(open, repoDir, await findStackFile(repoDir), vars);
}

async function parseStackFile(
  openFile: OpenFile,
  repoDir: string,
  file: string,
  vars: Readonly<Record<string, string>>,
): Promise<unknown> {
  const text = envsubst(await readRepoFile(openFile, repoDir, file, "stack file"), vars);
  if (Buffer.byteLength(text) > MAX_FILE_BYTES)
    throw new HttpError(400, `${file} is over 1 MiB once its variables are set`);
  return parseYaml(text, file);
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
async function readRepoFile(openFile: OpenFile, repoDir: string, path: string, what: string): Promise<string> {
  return readRegularFile(openFile, await resolveInside(repoDir, path, what), `${what} ${JSON.stringify(path)}`);
}

/**
 * Reads `real` (already resolved inside the repository) unless it is not a regular file or is over the cap; `admit`
 * sees the size first and may refuse it, before a byte is read.
 */
async function readRegularFile(
  openFile: OpenFile,
  real: string,
  shown: string,
  admit?: (size: number) => void,
): Promise<string> {
  const handle = await openFile(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw new HttpError(400, `${shown} must be a regular file`);
    if (stats.size > MAX_FILE_BYTES) throw new HttpError(400, `${shown} is ${stats.size} bytes, over the 1 MiB limit`);
    admit?.(stats.size);
    return await handle.readFile("utf8");
  } finally {
    await handle.close();
  }
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

/** What toStack needs besides the parsed document. */
interface Reading {
  repoDir: string;
  file: string;
  openFile: OpenFile;
  maxFunctions: number;
}

async function toStack(reading: Reading, root: unknown): Promise<Stack> {
  const { file } = reading;
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
  if (functions instanceof Map && functions.size > reading.maxFunctions)
    throw new LimitError(`too many functions in ${file}: ${functions.size}, the limit is ${reading.maxFunctions}`);
  const parsed = stackSchema.safeParse({
    ...(plain(top) as object),
    functions: functions instanceof Map ? new Map([...functions].map(([k, v]) => [String(k), plain(v)])) : functions,
  });
  if (!parsed.success) throw new HttpError(400, describe(parsed.error.issues[0]!));

  const environments = createEnvironments(reading, parsed.data.functions);
  const result: StackFunction[] = [];
  for (const [name, fn] of parsed.data.functions) {
    const { environment_file, build_args, build_options, readonly_root_filesystem, skip_build, ...rest } = fn;
    result.push({
      name,
      ...rest,
      environment: await environments(name, fn.environment, environment_file),
      buildArgs: build_args,
      buildOptions: build_options,
      readonlyRootFilesystem: readonly_root_filesystem,
      skipBuild: skip_build,
    });
  }
  const { version: stackVersion, provider: stackProvider, configuration } = parsed.data;
  return { file, version: stackVersion, provider: stackProvider, functions: result, configuration };
}

/**
 * `environment`, overlaid by each environment_file in order, later files winning (faas-cli compileEnvironment). The
 * stack may name at most MAX_ENVIRONMENT_FILES, adding up to MAX_ENVIRONMENT_BYTES with a file counted each time it
 * is named, and each file is read and parsed once (issue #10): a file named thousands of times is refused before it
 * is read at all, and the merge work is bounded before it starts.
 */
function createEnvironments(reading: Reading, functions: ReadonlyMap<string, { environment_file: string[] }>) {
  const { repoDir, file, openFile } = reading;
  const named = [...functions.values()].reduce((sum, fn) => sum + fn.environment_file.length, 0);
  if (named > MAX_ENVIRONMENT_FILES) {
    throw new LimitError(
      `too many environment files: the functions in ${file} name ${named}, the limit is ${MAX_ENVIRONMENT_FILES}`,
    );
  }
  const tooLarge = () =>
    new LimitError(
      `environment too large: the environment files named in ${file} add up to over 1 MiB (counted each time named)`,
    );
  const files = new Map<string, Promise<{ bytes: number; environment: Record<string, string> }>>();
  let merged = 0;

  async function readEnvironmentFile(real: string, where: string) {
    let bytes = 0;
    const admit = (size: number) => {
      if (merged + size > MAX_ENVIRONMENT_BYTES) throw tooLarge();
      bytes = size;
    };
    // faas-cli reads environment files as they are: no substitution.
    const root = parseYaml(await readRegularFile(openFile, real, where, admit), where);
    const parsed = environmentFileSchema.safeParse(plain(root ?? new Map()));
    if (!parsed.success) throw new HttpError(400, `${where}: ${describe(parsed.error.issues[0]!)}`);
    return { bytes, environment: parsed.data.environment };
  }

  return async (fn: string, inline: Record<string, string>, paths: string[]) => {
    const environment = { ...inline };
    for (const path of paths) {
      const what = `function ${JSON.stringify(fn)}: environment_file`;
      const real = await resolveInside(repoDir, path, what);
      let read = files.get(real);
      if (!read) {
        read = readEnvironmentFile(real, `${what} ${JSON.stringify(path)}`);
        files.set(real, read);
      }
      const { bytes, environment: values } = await read;
      merged += bytes;
      if (merged > MAX_ENVIRONMENT_BYTES) throw tooLarge();
      Object.assign(environment, values);
    }
    return environment;
  };
}
