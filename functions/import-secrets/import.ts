import type { KeyObject } from "node:crypto";
import type { Logger } from "pino";
import { z } from "zod";
import type { FunctionEvent, Reply } from "../../shared/function-handler.js";
import type { Gateway } from "../../shared/gateway.js";
import { QUEUED_HOP_MAX_AGE_MS, requireHop } from "../../shared/hmac.js";
import { HttpError } from "../../shared/http-error.js";
import { parseJsonBody } from "../../shared/json-body.js";
import { ownerIdSchema, type OwnerId } from "../../shared/naming.js";
import { openSealedSecret } from "../../shared/sealed-secrets/sealed-secret.js";
import { parseSecretsFile, SECRETS_FILE } from "../../shared/sealed-secrets/secrets-file.js";
import { refusalFor } from "../../shared/sealed-secrets/tenant.js";
import type { SecretRecord, SecretRecords } from "./records.js";

export interface ImportSecretsDeps {
  payloadSecret: string;
  /** Every sealing key opens (rotation); only this function holds them (docs/secrets.md). */
  privateKeys: KeyObject[];
  /** The newest certificate, published for `seal` and `kubeseal --cert`. */
  certificatePem: string;
  gateway: Pick<Gateway, "listSecrets" | "writeSecret" | "removeSecret">;
  records: SecretRecords;
  log: Logger;
}

const who = {
  owner: z.string().trim().min(1),
  // GitHub's account id or `gitlab-<namespace id>` (issue #19): compared as is, so the two never match.
  ownerId: ownerIdSchema,
  repo: z.string().trim().min(1),
};
/** What git-tar sends: the repo's secrets.yml before the build, the names it still lists after a successful deploy. */
const requestSchema = z.discriminatedUnion("action", [
  z.object({ action: z.literal("import"), ...who, file: z.string().max(1024 * 1024) }),
  z.object({ action: z.literal("prune"), ...who, keep: z.array(z.string()).max(1000) }),
]);
type Who = { owner: string; ownerId: OwnerId; repo: string };

/** Why `record` keeps this push from writing the secret, or undefined when it is this owner's repo's (DESIGN §5). */
function heldBy(record: SecretRecord, request: Who): string | undefined {
  if (record.ownerId !== request.ownerId) return `belongs to another account (owner id ${record.ownerId})`;
  if (record.repo !== request.repo) return `belongs to ${record.owner}/${record.repo}`;
  return undefined;
}

/** import-secrets (issue #15): opens a repo's SealedSecrets for its owner and writes them through the gateway. */
export function createImporter(deps: ImportSecretsDeps): (event: FunctionEvent) => Promise<Reply> {
  async function importFile(request: Who & { file: string }, log: Logger): Promise<Reply> {
    const secrets = parseSecretsFile(request.file);
    const opened = new Map<string, Buffer>();
    // Everything is checked before anything is written: a refused file creates nothing.
    for (const secret of secrets) {
      const refusal = refusalFor(request.owner, secret);
      if (refusal) throw new HttpError(400, `secret ${secret.name} ${refusal}`);
      if (opened.has(secret.name)) throw new HttpError(400, `secret ${secret.name} is in ${SECRETS_FILE} twice`);
      const result = openSealedSecret(deps.privateKeys, secret);
      if (!result.ok) throw new HttpError(400, `secret ${secret.name}: ${result.reason}`);
      opened.set(secret.name, Object.values(result.data)[0]!);
    }
    const existing = new Set(await deps.gateway.listSecrets());
    for (const name of opened.keys()) {
      const record = await deps.records.get(name);
      const holder = record ? heldBy(record, request) : existing.has(name) ? "was made by the operator" : undefined;
      if (holder) throw new HttpError(400, `secret ${name} ${holder}: not imported`);
    }
    for (const [name, value] of opened) {
      // The record first: a secret the gateway then fails to write is still this repo's to prune.
      await deps.records.put({ name, owner: request.owner, ownerId: request.ownerId, repo: request.repo });
      await deps.gateway.writeSecret(existing.has(name) ? "PUT" : "POST", name, value);
    }
    const imported = [...opened.keys()];
    log.info({ secrets: imported }, "secrets imported");
    return { status: 200, body: { imported } };
  }

  async function prune(request: Who & { keep: string[] }, log: Logger): Promise<Reply> {
    const keep = new Set(request.keep);
    const records = await deps.records.listForLogin(request.owner);
    const removed: string[] = [];
    const failed: string[] = [];
    for (const record of records) {
      if (heldBy(record, request) || keep.has(record.name)) continue;
      try {
        await deps.gateway.removeSecret(record.name);
        await deps.records.remove(record.name);
        removed.push(record.name);
      } catch (error) {
        // One secret that cannot be removed must not keep the others; the next push tries again.
        log.warn({ err: error, secret: record.name }, "unable to remove secret");
        failed.push(record.name);
      }
    }
    log.info({ removed, failed }, "secrets pruned");
    return { status: 200, body: { removed, failed } };
  }

  return async (event) => {
    // The certificate is public: `seal` and `kubeseal --cert <url>` fetch it through the edge router.
    if (event.method === "GET") {
      return { status: 200, body: deps.certificatePem, headers: { "content-type": "application/x-pem-file" } };
    }
    requireHop(deps.payloadSecret, "import-secrets", event, { maxAgeMs: QUEUED_HOP_MAX_AGE_MS });
    const parsed = parseJsonBody(requestSchema, event.body, "import-secrets request");
    const request = { ...parsed, owner: parsed.owner.toLowerCase(), repo: parsed.repo.toLowerCase() };
    const log = deps.log.child({ owner: request.owner, ownerId: request.ownerId, repo: request.repo });
    return request.action === "import" ? importFile(request, log) : prune(request, log);
  };
}
