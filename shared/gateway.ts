import type { AxiosInstance, AxiosResponse, Method } from "axios";
import type { Logger } from "pino";
import { CLOUD_SIGNATURE_HEADER, signHop } from "./hmac.js";
import { HttpError } from "./http-error.js";

/** FunctionDeployment, the body of POST/PUT /system/functions (anchors §A, faas-provider types). */
export interface FunctionDeployment {
  service: string;
  image: string;
  namespace?: string;
  envProcess?: string;
  envVars?: Record<string, string>;
  constraints?: string[];
  secrets?: string[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  limits?: { memory?: string; cpu?: string };
  requests?: { memory?: string; cpu?: string };
  readOnlyRootFilesystem?: boolean;
}

/** FunctionStatus, as GET /system/functions lists it. */
export interface FunctionStatus {
  name: string;
  image: string;
  namespace?: string;
  labels?: Record<string, string> | null;
  annotations?: Record<string, string> | null;
  replicas?: number;
  availableReplicas?: number;
  invocationCount?: number;
}

/** One line of GET /system/logs (faas-provider logs.Message), as faas-cli decodes it. */
export interface LogMessage {
  name: string;
  namespace?: string;
  instance?: string;
  timestamp: string;
  text: string;
}

/** GatewayInfo, the body of GET /system/info (anchors §A): the gateway's version and what its provider says it is. */
export interface GatewayInfo {
  provider: { provider: string; orchestration: string; version: { release: string; sha: string } };
  version: { release: string; sha: string };
  arch: string;
}

/** A gateway answer to a function invocation: whatever the function (or the gateway) said. */
export interface Invocation {
  status: number;
  body: Buffer;
  headers: Record<string, string>;
}

export interface Gateway {
  /** Synchronous `/function/<name>`, body signed with the payload secret; `signal` abandons it (no retry after). */
  invoke(
    name: string,
    body: Buffer | string,
    headers?: Record<string, string>,
    options?: { signal?: AbortSignal },
  ): Promise<Invocation>;
  /** `/async-function/<name>`: resolves once the gateway queued it (202), else throws HttpError 502. */
  invokeAsync(name: string, body: Buffer | string, headers?: Record<string, string>): Promise<{ callId?: string }>;
  listFunctions(namespace?: string): Promise<FunctionStatus[]>;
  /** GET /system/function/<name>; undefined when the function does not exist. */
  getFunction(name: string, namespace?: string): Promise<FunctionStatus | undefined>;
  /** POST /system/functions only: a function that exists meanwhile is a refusal (HttpError 502), never an update. */
  create(deployment: FunctionDeployment): Promise<void>;
  /** PUT /system/functions only: a function that is gone is a refusal (HttpError 502), never a create. */
  update(deployment: FunctionDeployment): Promise<void>;
  /** DELETE /system/functions; `false` when the function was already gone. */
  remove(name: string, namespace?: string): Promise<boolean>;
  /** GET /system/info (basic auth); throws HttpError 502 unless it answers 200 with a provider name. */
  info(): Promise<GatewayInfo>;
  /**
   * GET /system/logs?name=…&follow=false (basic auth): the function's log lines, oldest first; `tail` keeps the last
   * so many, `since` only newer ones. Undefined when the gateway knows no such function (404).
   */
  logs(name: string, options?: { tail?: number; since?: Date; namespace?: string }): Promise<LogMessage[] | undefined>;
  /** GET /system/secrets (basic auth): the secrets' names; providers never list values. */
  listSecrets(): Promise<string[]>;
  /**
   * POST (create) or PUT (update) /system/secrets (basic auth), issue #15. The value goes as `rawValue` (bytes) and
   * never into an error or a log line.
   */
  writeSecret(method: "POST" | "PUT", name: string, value: Buffer): Promise<void>;
  /** DELETE /system/secrets; `false` when the secret was already gone. */
  removeSecret(name: string): Promise<boolean>;
}

export interface GatewayDeps {
  url: string;
  payloadSecret: string;
  auth?: { user: string; password: string };
  http: AxiosInstance;
  log: Logger;
  /** Waits between retries; tests pass one that does not. */
  sleep?: (ms: number) => Promise<void>;
  /** Attempts after the first one, for retryable failures. */
  retries?: number;
  baseDelayMs?: number;
}

type Retryable = (status: number) => boolean;
// /system/* calls are idempotent (GET, PUT, DELETE) or refused cleanly (POST on conflict): any 5xx may be retried.
const anyServerError: Retryable = (status) => status >= 500;
// A sync invocation that answered 500 ran the function, which may have had effects: only retry when the
// gateway says it never reached the function (502/503/504).
const unreachable: Retryable = (status) => status === 502 || status === 503 || status === 504;

/** Client for the OpenFaaS gateway every stage goes through (DESIGN §2). */
export function createGateway(deps: GatewayDeps): Gateway {
  const base = deps.url.endsWith("/") ? deps.url : `${deps.url}/`;
  const retries = deps.retries ?? 3;
  const baseDelay = deps.baseDelayMs ?? 200;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const authHeader: Record<string, string> = deps.auth
    ? { authorization: `Basic ${Buffer.from(`${deps.auth.user}:${deps.auth.password}`).toString("base64")}` }
    : {};

  async function send(
    method: Method,
    path: string,
    retryable: Retryable,
    options: {
      data?: Buffer | string;
      headers?: Record<string, string>;
      params?: Record<string, string>;
      signal?: AbortSignal;
    } = {},
  ): Promise<AxiosResponse<Buffer>> {
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await deps.http.request<Buffer>({
          method,
          url: base + path,
          data: options.data,
          headers: options.headers,
          params: options.params,
          responseType: "arraybuffer",
          validateStatus: () => true,
          maxBodyLength: Infinity,
          maxContentLength: Infinity,
          // The gateway is an internal peer: no redirects to follow (axios then skips follow-redirects, a
          // measurable cost per hop in bench/github-event) and no proxy from the environment.
          maxRedirects: 0,
          proxy: false,
          ...(options.signal ? { signal: options.signal } : {}),
        });
        res.data = Buffer.from(res.data);
        if (attempt >= retries || !retryable(res.status) || options.signal?.aborted) return res;
        deps.log.warn({ path, status: res.status, attempt }, "gateway answered with a retryable status");
      } catch (error) {
        // No response at all (refused, reset, timed out): the gateway may be restarting, so try again.
        // An abandoned call (the caller's signal) is not a gateway fault: no retry.
        const final = attempt >= retries || options.signal?.aborted === true;
        if (final || (error as { response?: unknown }).response !== undefined) {
          throw new HttpError(502, `gateway unreachable: ${method} ${path}: ${(error as Error).message}`, {
            cause: error,
          });
        }
        deps.log.warn({ path, err: (error as Error).message, attempt }, "gateway unreachable");
      }
      await sleep(baseDelay * 2 ** attempt);
    }
  }

  // Signed for the function it is sent to: the same bytes cannot be replayed against another stage.
  function signed(target: string, body: Buffer | string, headers: Record<string, string> = {}): Record<string, string> {
    return {
      "content-type": "application/octet-stream",
      ...headers,
      [CLOUD_SIGNATURE_HEADER]: signHop(deps.payloadSecret, target, body),
    };
  }

  async function writeFunction(method: "POST" | "PUT", deployment: FunctionDeployment, retryable: Retryable) {
    const headers = { ...authHeader, "content-type": "application/json" };
    const res = await send(method, "system/functions", retryable, { data: JSON.stringify(deployment), headers });
    if (res.status < 200 || res.status >= 300) throw failed(`${method} /system/functions`, res);
  }

  function failed(what: string, res: AxiosResponse<Buffer>): HttpError {
    const text = res.data.toString("utf8").trim().slice(0, 300);
    return new HttpError(502, `gateway: ${what} answered ${res.status}${text ? `: ${text}` : ""}`);
  }

  return {
    async invoke(name, body, headers, options = {}) {
      const res = await send("POST", `function/${name}`, unreachable, {
        data: body,
        headers: signed(name, body, headers),
        ...(options.signal ? { signal: options.signal } : {}),
      });
      return { status: res.status, body: res.data, headers: res.headers as Record<string, string> };
    },

    async invokeAsync(name, body, headers) {
      const res = await send("POST", `async-function/${name}`, anyServerError, {
        data: body,
        headers: signed(name, body, headers),
      });
      if (res.status !== 202) throw failed(`async-function/${name}`, res);
      const callId = res.headers["x-call-id"] as string | undefined;
      return callId ? { callId } : {};
    },

    async listFunctions(namespace) {
      const params: Record<string, string> = namespace ? { namespace } : {};
      const res = await send("GET", "system/functions", anyServerError, { headers: authHeader, params });
      if (res.status !== 200) throw failed("GET /system/functions", res);
      return JSON.parse(res.data.toString("utf8")) as FunctionStatus[];
    },

    async getFunction(name, namespace) {
      const params: Record<string, string> = namespace ? { namespace } : {};
      const res = await send("GET", `system/function/${encodeURIComponent(name)}`, anyServerError, {
        headers: authHeader,
        params,
      });
      if (res.status === 404) return undefined;
      if (res.status !== 200) throw failed(`GET /system/function/${name}`, res);
      return JSON.parse(res.data.toString("utf8")) as FunctionStatus;
    },

    // buildshiprun decides create or update from the function's owner labels (DESIGN §5), so each is one call:
    // falling back from one to the other could take over a function someone else deployed in between.
    // Only "never reached the provider" is retried for a create: providers answer 500 when the function exists.
    create: (deployment) => writeFunction("POST", deployment, unreachable),
    update: (deployment) => writeFunction("PUT", deployment, anyServerError),

    async remove(name, namespace) {
      const data = JSON.stringify({ functionName: name, ...(namespace ? { namespace } : {}) });
      const res = await send("DELETE", "system/functions", anyServerError, {
        data,
        headers: { ...authHeader, "content-type": "application/json" },
      });
      if (res.status === 404) return false;
      if (res.status >= 200 && res.status < 300) return true;
      throw failed("DELETE /system/functions", res);
    },

    async info() {
      const res = await send("GET", "system/info", anyServerError, { headers: authHeader });
      if (res.status !== 200) throw failed("GET /system/info", res);
      let info: Partial<GatewayInfo> | null = null;
      try {
        info = JSON.parse(res.data.toString("utf8")) as Partial<GatewayInfo> | null;
      } catch {
        // Not JSON (a proxy's page, say): the same "no provider name" as below.
      }
      if (typeof info?.provider?.provider !== "string") {
        throw new HttpError(502, "gateway: GET /system/info answered without a provider name");
      }
      return info as GatewayInfo;
    },

    async logs(name, options = {}) {
      const params: Record<string, string> = { name, follow: "false" };
      if (options.tail !== undefined) params.tail = String(options.tail);
      if (options.since) params.since = options.since.toISOString();
      if (options.namespace) params.namespace = options.namespace;
      const res = await send("GET", "system/logs", anyServerError, { headers: authHeader, params });
      if (res.status === 404) return undefined;
      if (res.status !== 200) throw failed("GET /system/logs", res);
      // Newline-delimited JSON, one logs.Message a line (faas-provider's logs handler).
      return res.data
        .toString("utf8")
        .split("\n")
        .filter((line) => line.trim())
        .map((line) => JSON.parse(line) as LogMessage);
    },

    async listSecrets() {
      const res = await send("GET", "system/secrets", anyServerError, { headers: authHeader });
      if (res.status !== 200) throw failed("GET /system/secrets", res);
      return ((JSON.parse(res.data.toString("utf8")) as { name: string }[] | null) ?? []).map((s) => s.name);
    },

    async writeSecret(method, name, value) {
      const data = JSON.stringify({ name, rawValue: value.toString("base64") });
      // A create is retried only when the provider never saw it, like a function's (a 500 may mean it exists).
      const res = await send(method, "system/secrets", method === "POST" ? unreachable : anyServerError, {
        data,
        headers: { ...authHeader, "content-type": "application/json" },
      });
      if (res.status < 200 || res.status >= 300) throw failed(`${method} /system/secrets ${name}`, res);
    },

    async removeSecret(name) {
      const res = await send("DELETE", "system/secrets", anyServerError, {
        data: JSON.stringify({ name }),
        headers: { ...authHeader, "content-type": "application/json" },
      });
      if (res.status === 404) return false;
      if (res.status >= 200 && res.status < 300) return true;
      throw failed(`DELETE /system/secrets ${name}`, res);
    },
  };
}
