import { z } from "zod";
import { HttpError } from "../../shared/http-error.js";
import { parseJsonBody } from "../../shared/json-body.js";
import { checkNamespace, NAMESPACE, parseDeployment } from "./deployment.js";
import type { LocalProvider } from "./provider.js";
import { parseSecret } from "./secrets.js";

/** A /system/* request, its body already read. `name` is the `{functionName}` path parameter. */
export interface SystemRequest {
  body: Buffer;
  query: URLSearchParams;
  name?: string;
}

/** What a /system/* handler answers: a status and a JSON body, or none. */
export interface SystemReply {
  status: number;
  json?: unknown;
}

/** One /system/* endpoint; refusals are thrown as HttpError. */
export type SystemHandler = (request: SystemRequest) => Promise<SystemReply>;

// DeleteFunctionRequest (anchors §A); faas-cli sends `"namespace": ""` for the default.
const deleteSchema = z.object({ functionName: z.string().nullish(), namespace: z.string().nullish() });

/**
 * The provider endpoints with the status codes of the OpenAPI document where it has one, else faas-netes':
 * deploy 202, update 200 (404 when absent), delete 202 (404), secrets create 201 (409 when it exists),
 * update 200 (404), delete 204 (404).
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
      return { status: 204 };
    }),
    info: sync(() => ({ status: 200, json: provider.info })),
    listNamespaces: sync(() => ({ status: 200, json: [NAMESPACE] })),
  } satisfies Record<string, SystemHandler>;
  return handlers;
}

/** A handler whose work is synchronous (the secret files), its throws becoming rejections like the others'. */
function sync(work: (request: SystemRequest) => SystemReply): SystemHandler {
  return (request) => new Promise((resolve) => resolve(work(request)));
}

/** The handlers `createSystemHandlers` returns, by name. */
export type SystemHandlers = ReturnType<typeof createSystemHandlers>;
