import { constants } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";
import { HttpError } from "../../shared/http-error.js";
import { parseYaml, plain } from "../../shared/yaml.js";

/**
 * A repository's own switch for previews (issue #17), at its root. A file of ours rather than a stack.yml label: a
 * label is per function and would be deployed onto every function, while the switch is per repository; faas-cli
 * ignores a file it does not know, so the stack still deploys with `faas-cli up` unchanged.
 */
export const PREVIEW_FILE = ".openfaas-cloud.yml";
const MAX_BYTES = 64 * 1024;

/**
 * Whether the checkout opts in to previews: `.openfaas-cloud.yml` holds `previews: true`. No file, or `previews`
 * absent or `false`, is off. A file that is not a regular one (a symlink), too big, not YAML or with another value is
 * a 400 naming the file and the rule, which the stack-deploy status carries.
 */
export async function readPreviewOptIn(repoDir: string): Promise<boolean> {
  let text: string;
  try {
    const handle = await open(
      join(repoDir, PREVIEW_FILE),
      constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK,
    );
    try {
      const stats = await handle.stat();
      if (!stats.isFile()) throw new HttpError(400, `${PREVIEW_FILE} must be a regular file`);
      if (stats.size > MAX_BYTES) throw new HttpError(400, `${PREVIEW_FILE} is over ${MAX_BYTES} bytes`);
      text = await handle.readFile("utf8");
    } finally {
      await handle.close();
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return false;
    if (code === "ELOOP") throw new HttpError(400, `${PREVIEW_FILE} must be a regular file, not a symlink`);
    throw error;
  }
  const doc = plain(parseYaml(text, PREVIEW_FILE));
  if (doc === null || doc === undefined) return false;
  if (typeof doc !== "object" || Array.isArray(doc)) throw new HttpError(400, `${PREVIEW_FILE} must be a mapping`);
  const value = (doc as Record<string, unknown>).previews;
  if (value === undefined || value === null || value === "false") return false;
  if (value === "true") return true;
  throw new HttpError(400, `${PREVIEW_FILE}: previews must be true or false (got ${JSON.stringify(value)})`);
}
