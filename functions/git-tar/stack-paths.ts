import { lstat, readFile } from "node:fs/promises";
import { join } from "node:path";
import { envsubst } from "../../shared/envsubst.js";
import { parseYaml, plain } from "../../shared/yaml.js";

/** Read from the checkout before anything else: the stack file, secrets.yml, and the refused `template` folder. */
export const STACK_ROOT_PATHS = ["stack.yml", "stack.yaml", "secrets.yml", "template"];

// readStack's own cap: a larger file is refused there, after a whole-tree checkout.
const MAX_FILE_BYTES = 1024 * 1024;

/**
 * The paths the stack in `repoDir` uses (issue #16): each handler folder, environment_file and configuration.copy
 * entry, after `${VAR}` substitution with `vars`. Only a hint for the checkout: a stack this cannot read (missing,
 * malformed, too big) answers `undefined`, the whole tree is checked out, and `readStack` gives its refusal as
 * before; the paths named still go through its repo-path checks.
 */
export async function stackPaths(
  repoDir: string,
  vars: Readonly<Record<string, string>>,
): Promise<string[] | undefined> {
  try {
    for (const file of ["stack.yml", "stack.yaml"]) {
      const stats = await lstat(join(repoDir, file)).catch(() => undefined);
      if (!stats) continue;
      if (!stats.isFile() || stats.size > MAX_FILE_BYTES) return undefined;
      const text = envsubst(await readFile(join(repoDir, file), "utf8"), vars);
      return pathsOf(plain(parseYaml(text, file)));
    }
    return undefined;
  } catch {
    return undefined;
  }
}

function pathsOf(root: unknown): string[] | undefined {
  const top = record(root);
  const functions = record(top?.functions);
  if (!top || !functions) return undefined;
  const paths: unknown[] = [];
  for (const fn of Object.values(functions)) {
    const fields = record(fn);
    if (!fields) return undefined;
    paths.push(fields.handler, ...list(fields.environment_file));
  }
  paths.push(...list(record(top.configuration)?.copy));
  return paths.every((p): p is string => typeof p === "string") ? paths : undefined;
}

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function list(value: unknown): unknown[] {
  return value === undefined || value === null ? [] : Array.isArray(value) ? (value as unknown[]) : [value];
}
