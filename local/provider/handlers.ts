import { z } from "zod";
import { HttpError } from "../../shared/http-error.js";
import { parseJsonBody } from "../../shared/json-body.js";
import { checkNamespace, NAMESPACE, parseDeployment } from "./deployment.js";
import type { LogMessage } from "./function-logs.js";
import type { LocalProvider } from "./provider.js";
import { parseSecret } from "./secrets.js";

/** A /system/* request, its body already read. `name` is the `{functionName}` path parameter. */
export interface SystemRequest {
  body: Buffer;
  query: URLSearchParams;
  name?: string;
  /** Aborts when the caller goes away (ends a followed log stream). */
  signal?: AbortSignal;
}

/** What a /system/* handler answers: a status and a JSON body, or none, or a stream of JSON lines (ndjson). */
export interface SystemReply {
  status: number;
  json?: unknown;
  lines?: AsyncIterable<LogMessage>;
}

/** One /system/* endpoint; refusals are thrown as HttpError. */
export type SystemHandler = (request: SystemRequest) => Promise<SystemReply>;

// DeleteFunctionRequest (anchors §A); faas-cli sends `"namespace": ""` for the default.
const deleteSchema = z.object({ functionName: z.string().nullish(), namespace: z.string().nullish() });
// ScaleServiceRequest: Go's uint64 `replicas` refuses a negative or fractional number too.
const scaleSchema = z.object({
  serviceName: z.string().nullish(),
  replicas: z.number().int().nonnegative().nullish(),
  namespace: z.string().nullish(),
});

/**
 * The provider endpoints with the status codes of the OpenAPI document where it has one, else faas-netes':
 * deploy 202, update 200 (404 when absent), delete 202 (404), secrets create 201 (409 when it exists),
 * update 200 (404), delete 202 (404; see deleteSecret), scale 202 (404), logs 200 ndjson (404).
 */
export function createSystemHandlers(provider: LocalProvider) {
  const { functions, secrets } = provider;
  const handlers = {
    async listFunctions({ query }) {
      checkNamespace(query.get("namespace"));
      return { status: 200, json: await functions.list() };
    },
    async getFunction({ query, name = "" }) {
      checkNamespace(query.get("namespace"));
      const status = await functions.get(name);
      if (!status) throw new HttpError(404, `function ${name} not found`);
      return { status: 200, json: status };
    },
    async deployFunction({ body }) {
      await functions.deploy(parseDeployment(body));
      return { status: 202 };
    },
    async updateFunction({ body }) {
      await functions.update(parseDeployment(body));
      return { status: 200 };
    },
    async deleteFunction({ body, query }) {
      const request = parseJsonBody(deleteSchema, body, "DeleteFunctionRequest");
      checkNamespace(request.namespace);
      checkNamespace(query.get("namespace"));
      if (!request.functionName) throw new HttpError(400, "DeleteFunctionRequest: functionName is required");
      await functions.remove(request.functionName);
      // faas-netes answers 202 (pkg/handlers/delete.go); faas-cli takes 200 and 202 alike.
      return { status: 202 };
    },
    listSecrets: sync(({ query }) => {
      checkNamespace(query.get("namespace"));
      return { status: 200, json: secrets.list().map((name) => ({ name, namespace: NAMESPACE })) };
    }),
    createSecret: sync(({ body, query }) => {
      const { name, value } = parseSecret(body, query.get("namespace"));
      secrets.create(name, value);
      return { status: 201 };
    }),
    updateSecret: sync(({ body, query }) => {
      const { name, value } = parseSecret(body, query.get("namespace"));
      secrets.replace(name, value);
      return { status: 200 };
    }),
    deleteSecret: sync(({ body, query }) => {
      secrets.remove(parseSecret(body, query.get("namespace")).name);
      // The OpenAPI document says 204, but faas-cli 0.18 takes only 200 and 202 here ("unexpected status code: 204",
      // proxy/secret.go); faas-netes answers 202 (pkg/handlers/secrets.go), so does this provider.
      return { status: 202 };
    }),
    async scaleFunction({ body, query, name = "" }) {
      const request = parseJsonBody(scaleSchema, body, "ScaleServiceRequest");
      checkNamespace(request.namespace);
      checkNamespace(query.get("namespace"));
      if (request.replicas == null) throw new HttpError(400, "ScaleServiceRequest: replicas is required");
      // The path names the function, as faas-netes reads it (the body's serviceName is the same for faas-cli).
      await functions.scale(localName(name), request.replicas);
      return { status: 202 };
    },
    async logs({ query, signal = new AbortController().signal }) {
      checkNamespace(query.get("namespace"));
      const name = localName(query.get("name") ?? "");
      if (name === "") throw new HttpError(400, "log request: name is required");
      const instance = query.get("instance");
      const lines = await provider.logs({
        name,
        ...(instance ? { instance } : {}),
        ...tailOf(query.get("tail")),
        ...sinceOf(query.get("since")),
        follow: GO_TRUE.has(query.get("follow") ?? ""),
        signal,
      });
      return { status: 200, lines };
    },
    info: sync(() => ({ status: 200, json: provider.info })),
    listNamespaces: sync(() => ({ status: 200, json: [NAMESPACE] })),
  } satisfies Record<string, SystemHandler>;
  return handlers;
}

// What Go's strconv.ParseBool takes as true (faas-provider parses `follow` with it; anything else is false).
const GO_TRUE = new Set(["1", "t", "T", "TRUE", "true", "True"]);

/** `fn` from `fn` or `fn.openfaas-fn` (faas-cli addresses `<name>.<namespace>`); another namespace is a 400. */
function localName(name: string): string {
  const dot = name.lastIndexOf(".");
  if (dot === -1) return name;
  checkNamespace(name.slice(dot + 1));
  return name.slice(0, dot);
}

// faas-provider answers 422 "could not parse the log request" for a `tail` or `since` it cannot parse (logs/handler.go).
function tailOf(tail: string | null): { tail?: number } {
  if (tail === null || tail === "") return {};
  if (!/^-?\d+$/.test(tail))
    throw new HttpError(422, `could not parse the log request: tail "${tail}" is not an integer`);
  // 0 or less means every line (faas-provider logs.Request: "<=0 means unlimited"); faas-cli sends -1.
  return Number(tail) > 0 ? { tail: Number(tail) } : {};
}

function sinceOf(since: string | null): { since?: Date } {
  if (since === null || since === "") return {};
  const date = new Date(since);
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(since) || Number.isNaN(date.getTime())) {
    throw new HttpError(422, `could not parse the log request: since "${since}" is not an RFC 3339 time`);
  }
  return { since: date };
}

/** A handler whose work is synchronous (the secret files), its throws becoming rejections like the others'. */
function sync(work: (request: SystemRequest) => SystemReply): SystemHandler {
  return (request) => new Promise((resolve) => resolve(work(request)));
}

/** The handlers `createSystemHandlers` returns, by name. */
export type SystemHandlers = ReturnType<typeof createSystemHandlers>;
