import { request } from "node:http";
import type { ContainerSummary } from "./container-spec.js";

// Same pin as of-builder/docker-engine.ts (Debian 12's Engine 20.10 = API 1.41, DESIGN §8).
const API = "/v1.41";

/** The container calls of the Engine API that of-builder's client does not make: list by label, start, rename. */
export interface ContainerApi {
  /** `GET /containers/json?all=true` filtered on a label key, stopped containers included. */
  listByLabel(label: string): Promise<ContainerSummary[]>;
  /** `POST /containers/{id}/start`; an already running container is fine (304). */
  start(id: string): Promise<void>;
  /** `POST /containers/{id}/rename`. */
  rename(id: string, name: string): Promise<void>;
}

/** A ContainerApi over the daemon's unix socket. */
export function createContainerApi(options: { socketPath: string }): ContainerApi {
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
    async rename(id, name) {
      await expect("POST", `/containers/${encodeURIComponent(id)}/rename?name=${encodeURIComponent(name)}`, [204]);
    },
  };
}
