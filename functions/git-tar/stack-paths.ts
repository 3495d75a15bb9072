import { SECRETS_FILE } from "../../shared/sealed-secrets/secrets-file.js";
import { readStackYaml, STACK_FILES } from "../../shared/stack.js";
import { plain } from "../../shared/yaml.js";
import { PREVIEW_FILE } from "./preview-settings.js";

/**
 * Read from the checkout before anything else: the stack file, secrets.yml, the refused `template` folder and the
 * previews switch (issue #17).
 */
export const STACK_ROOT_PATHS = [...STACK_FILES, SECRETS_FILE, "template", PREVIEW_FILE];

/**
 * The paths the stack in `repoDir` uses (issue #16): each handler folder, environment_file and configuration.copy
 * entry, after `${VAR}` substitution with `vars`. Only a hint for the checkout: a stack this cannot read (missing,
 * a symlink, too big, malformed) answers `undefined`, the whole tree is checked out, and `readStack` gives its
 * refusal as before; the paths named still go through its repo-path checks.
 */
export async function stackPaths(
  repoDir: string,
  vars: Readonly<Record<string, string>>,
): Promise<string[] | undefined> {
  try {
    return pathsOf(plain(await readStackYaml(repoDir, vars)));
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
