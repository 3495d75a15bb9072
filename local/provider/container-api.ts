import { request, type IncomingMessage } from "node:http";
import type { ContainerSummary } from "./container-spec.js";

// Same pin as of-builder/docker-engine.ts (Debian 12's Engine 20.10 = API 1.41, DESIGN §8).
const API = "/v1.41";

/** Which part of a container's log `GET /containers/{id}/logs` returns. */
export interface LogQuery {
  /** The last this many lines; all when absent. */
  tail?: number;
  /** Only lines written at or after this time. */
  since?: Date;
  /** Keep the stream open for new lines until `signal` aborts or the container goes away. */
  follow?: boolean;
  signal?: AbortSignal;
}

/** The container calls of the Engine API that of-builder's client does not make: list, start, stop, rename, logs. */
export interface ContainerApi {
  /** `GET /containers/json?all=true` filtered on a label key, stopped containers included. */
  listByLabel(label: string): Promise<ContainerSummary[]>;
  /** `POST /containers/{id}/start`; an already running container is fine (304). */
  start(id: string): Promise<void>;
  /** `POST /containers/{id}/stop`; an already stopped container is fine (304). */
  stop(id: string): Promise<void>;
  /** `POST /containers/{id}/rename`. */
  rename(id: string, name: string): Promise<void>;
  /**
   * `GET /containers/{id}/logs` with stdout, stderr and timestamps: the raw multiplexed stream (read it with
   * parseLogStream). Rejects with the daemon's status (404: no such container) before any byte is read.
   */
  logs(id: string, query: LogQuery): Promise<IncomingMessage>;
}

/** A ContainerApi over the daemon's unix socket. */
export function createContainerApi(options: { socketPath: string }): ContainerApi {
  function open(method: string, path: string, signal?: AbortSignal): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const req = request({ socketPath: options.socketPath, method, path: API + path, signal }, resolve);
      req.on("error", reject);
      req.end();
    });
  }

  function call(method: string, path: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = request({ socketPath: options.socketPath, method, path: API + path }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", reject);
      });
      req.on("error", reject);
      req.end();
    });
  }

  async function expect(method: string, path: string, ok: number[]): Promise<string> {
    const { status, body } = await call(method, path);
    if (!ok.includes(status)) {
      let message = body.trim();
      try {
        message = (JSON.parse(body) as { message?: string }).message ?? message;
      } catch {
        // not JSON: keep the raw body
      }
      throw Object.assign(new Error(`docker ${method} ${path}: ${status} ${message}`), { status });
    }
    return body;
  }

  return {
    async listByLabel(label) {
      const filters = encodeURIComponent(JSON.stringify({ label: [label] }));
      return JSON.parse(
        await expect("GET", `/containers/json?all=true&filters=${filters}`, [200]),
      ) as ContainerSummary[];
    },
    async start(id) {
      await expect("POST", `/containers/${encodeURIComponent(id)}/start`, [204, 304]);
    },
    async stop(id) {
      // The daemon's own 10 s grace, then SIGKILL; the function gets SIGTERM first, as a pod being scaled down.
      await expect("POST", `/containers/${encodeURIComponent(id)}/stop`, [204, 304]);
    },
    async logs(id, query) {
      const params = new URLSearchParams({ stdout: "1", stderr: "1", timestamps: "1" });
      params.set("tail", query.tail === undefined ? "all" : String(query.tail));
      // The Engine takes `since` as Unix seconds, fractions allowed.
      if (query.since) params.set("since", (query.since.getTime() / 1000).toFixed(3));
      if (query.follow) params.set("follow", "1");
      const res = await open("GET", `/containers/${encodeURIComponent(id)}/logs?${params.toString()}`, query.signal);
      if (res.statusCode === 200) return res;
      const body = await new Promise<string>((resolve) => {
        const chunks: Buffer[] = [];
        res
          .on("data", (chunk: Buffer) => chunks.push(chunk))
          .on("end", () => resolve(Buffer.concat(chunks).toString()));
        res.on("error", () => resolve(""));
      });
      throw Object.assign(new Error(`docker GET /containers/${id}/logs: ${res.statusCode} ${body.trim()}`), {
        status: res.statusCode,
      });
    },
    async rename(id, name) {
      await expect("POST", `/containers/${encodeURIComponent(id)}/rename?name=${encodeURIComponent(name)}`, [204]);
    },
  };
}
