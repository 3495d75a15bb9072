import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "pino";
import type { Gateway } from "../../shared/gateway.js";
import { HttpError } from "../../shared/http-error.js";
import type { BuildRequest } from "../../shared/push.js";
import { SECRETS_FILE } from "../../shared/sealed-secrets/secrets-file.js";

// A SealedSecret is about 1 KiB per value with the cloud's 4096-bit key.
const MAX_SECRETS_FILE_BYTES = 1024 * 1024;

type Who = Pick<BuildRequest, "owner" | "ownerId" | "repo">;
const who = (request: Who) => ({ owner: request.owner, ownerId: request.ownerId, repo: request.repo });

/**
 * Hands the repo's secrets.yml to import-secrets before anything is built (issue #15), over a signed hop. Answers the
 * deployed names it imported ([] without a file). A refusal (a secret of another owner, a tampered value, malformed
 * YAML) is the user's to fix: an HttpError 400 carrying import-secrets' message, which names the secret.
 */
export async function importRepoSecrets(
  gateway: Pick<Gateway, "invoke">,
  request: Who,
  repoDir: string,
  signal?: AbortSignal,
): Promise<string[]> {
  const path = join(repoDir, SECRETS_FILE);
  const size = await stat(path).then(
    (s) => (s.isFile() ? s.size : undefined),
    () => undefined,
  );
  if (size === undefined) return [];
  if (size > MAX_SECRETS_FILE_BYTES) throw new HttpError(400, `${SECRETS_FILE} is over 1 MiB`);
  const body = JSON.stringify({ action: "import", ...who(request), file: await readFile(path, "utf8") });
  const res = await gateway.invoke("import-secrets", body, { "content-type": "application/json" }, { signal });
  const text = res.body.toString("utf8").slice(0, 300);
  // import-secrets refuses a file with 400; any other answer (401, or 404 when it is not deployed) is the cloud's fault.
  if (res.status === 400) throw new HttpError(400, text);
  if (res.status !== 200) throw new HttpError(502, `import-secrets answered ${res.status}: ${text}`);
  return (JSON.parse(res.body.toString("utf8")) as { imported: string[] }).imported;
}

/**
 * After a fully successful deploy: import-secrets removes this repo's secrets that `keep` no longer lists. Like
 * garbage collection, a failure is logged, never the push's: the next push tries again.
 */
export async function pruneRepoSecrets(
  gateway: Pick<Gateway, "invoke">,
  request: Who,
  keep: string[],
  log: Logger,
): Promise<void> {
  try {
    const body = JSON.stringify({ action: "prune", ...who(request), keep });
    const res = await gateway.invoke("import-secrets", body, { "content-type": "application/json" });
    if (res.status >= 300) log.warn({ status: res.status, body: res.body.toString() }, "secret pruning refused");
  } catch (error) {
    log.warn({ err: error }, "secret pruning failed");
  }
}
