import { realpath } from "node:fs/promises";
import { isAbsolute, relative, resolve, sep } from "node:path";
import { HttpError } from "./http-error.js";

/** True when `path` is `root` itself or lies below it (both already absolute and normalised). */
export function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === "" || (!rel.startsWith(`..${sep}`) && rel !== ".." && !isAbsolute(rel));
}

/**
 * Resolves a path a repository names (a handler folder, an environment_file, a configuration.copy entry) to
 * where it really is, following symlinks, and refuses it unless it stays inside the repository: hostile repos
 * must not make the pipeline read or copy anything outside their own checkout.
 * `what` names the field for the error, e.g. `function "api": handler`.
 */
export async function resolveInside(root: string, path: string, what: string): Promise<string> {
  if (isAbsolute(path))
    throw new HttpError(400, `${what} ${JSON.stringify(path)} must be a path relative to the repository`);
  const realRoot = await realpath(root);
  const lexical = resolve(realRoot, path);
  if (!isInside(realRoot, lexical)) throw new HttpError(400, `${what} ${JSON.stringify(path)} leaves the repository`);
  let real: string;
  try {
    real = await realpath(lexical);
  } catch {
    throw new HttpError(400, `${what} ${JSON.stringify(path)} does not exist in the repository`);
  }
  if (!isInside(realRoot, real))
    throw new HttpError(400, `${what} ${JSON.stringify(path)} leaves the repository through a symlink`);
  return real;
}
