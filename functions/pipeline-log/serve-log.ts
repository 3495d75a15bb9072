import type { Logger } from "pino";
import { z } from "zod";
import type { FunctionEvent, Reply } from "../../shared/function-handler.js";
import { requireHop } from "../../shared/hmac.js";
import { HttpError } from "../../shared/http-error.js";
import { parseJsonBody } from "../../shared/json-body.js";
import { verifyLogLink } from "../../shared/log-link.js";
import { logObjectKey, normalizeLogKey, type LogKey, type LogStore } from "../../shared/log-store.js";

export interface PipelineLogDeps {
  payloadSecret: string;
  store: LogStore;
  log: Logger;
}

/** The body buildshiprun posts (original-spec §1.7's PipelineLog, with JSON names). */
const pipelineLog = z.object({
  owner: z.string(),
  repo: z.string(),
  sha: z.string(),
  function: z.string(),
  log: z.string(),
});

/** The same answer whether the log is absent or the link is wrong: a link must not reveal that a log exists. */
const notFound = (k: LogKey) =>
  new HttpError(404, `no build log for ${k.owner}/${k.repo}@${k.sha.slice(0, 7)} ${k.function}`);

/** pipeline-log (original-spec §7): stores build logs (signed POST) and serves them by signed link (GET). */
export function createLogService(deps: PipelineLogDeps): (event: FunctionEvent) => Promise<Reply> {
  async function store(event: FunctionEvent): Promise<Reply> {
    requireHop(deps.payloadSecret, "pipeline-log", event);
    const { log, ...parts } = parseJsonBody(pipelineLog, event.body, "pipeline log");
    const key = normalizeLogKey(parts);
    await deps.store.put(key, log);
    const bytes = Buffer.byteLength(log, "utf8");
    deps.log.info({ key: logObjectKey(key), bytes }, "build log stored");
    return { status: 200, body: `Wrote ${bytes} bytes to ${logObjectKey(key)}` };
  }

  async function serve(event: FunctionEvent): Promise<Reply> {
    const { owner, repo, sha, function: fn, sig } = event.query;
    const key = normalizeLogKey({ owner, repo, sha, function: fn });
    if (!verifyLogLink(deps.payloadSecret, key, sig)) throw notFound(key);
    const text = await deps.store.get(key);
    if (text === undefined) throw notFound(key);
    return { status: 200, body: text, headers: { "content-type": "text/plain; charset=utf-8" } };
  }

  return async (event) => {
    if (event.method === "POST") return store(event);
    if (event.method === "GET") return serve(event);
    return { status: 405, body: `pipeline-log: unknown request: ${event.method}`, headers: { allow: "GET, POST" } };
  };
}
