import { createReadStream } from "node:fs";
import { request, type IncomingMessage } from "node:http";

// Debian 12's docker.io is Engine 20.10 = API 1.41 (DESIGN §8); pin it so newer daemons answer the same way.
const API = "/v1.41";

/** One line of the Engine's ndjson progress streams (anchors §F `jsonstream.Message`). */
export interface JsonMessage {
  stream?: string;
  status?: string;
  id?: string;
  error?: string;
  errorDetail?: { code?: number; message?: string };
  aux?: unknown;
}

/** A finished build, push, import or pull: the raw lines, and the in-stream error if any (errors arrive with HTTP 200). */
export interface StreamResult {
  lines: string[];
  messages: JsonMessage[];
  error?: string;
}

/** What `POST /build` takes besides the context; BuildKit (`version: "2"`) and host networking by default (DESIGN §8). */
export interface BuildOptions {
  tag: string;
  buildargs?: Record<string, string>;
  dockerfile?: string;
  networkmode?: string;
  version?: "1" | "2";
  nocache?: boolean;
}

/** Container create body (Engine API `ContainerConfig` plus `HostConfig`), reduced to what the project sets. */
export interface ContainerSpec {
  name?: string;
  Image: string;
  Env?: string[];
  Cmd?: string[];
  Labels?: Record<string, string>;
  User?: string;
  HostConfig?: { NetworkMode?: string; AutoRemove?: boolean; Binds?: string[] } & Record<string, unknown>;
}

/** For stream calls: each ndjson message as it arrives, and cancellation (the Engine stops a build whose client left). */
export interface StreamOptions {
  onMessage?: (message: JsonMessage) => void;
  signal?: AbortSignal;
}

type Body = Buffer | string | NodeJS.ReadableStream;

/** A small Docker Engine API client over a unix socket. `string` bodies are tar file paths. */
export function createDockerClient(options: { socketPath: string }) {
  const { socketPath } = options;

  function send(method: string, path: string, body?: Body, headers: Record<string, string> = {}, signal?: AbortSignal) {
    return new Promise<IncomingMessage>((resolve, reject) => {
      const req = request({ socketPath, method, path: API + path, headers, signal }, resolve);
      req.on("error", reject);
      if (body === undefined) req.end();
      else if (Buffer.isBuffer(body)) req.end(body);
      else {
        const stream: NodeJS.ReadableStream = typeof body === "string" ? createReadStream(body) : body;
        stream.on("error", (err: Error) => req.destroy(err));
        stream.pipe(req);
      }
    });
  }

  async function text(res: IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const chunk of res) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString("utf8");
  }

  async function call(method: string, path: string, body?: Body, headers?: Record<string, string>) {
    const res = await send(method, path, body, headers);
    return checked(method, path, res, await text(res));
  }

  function checked(method: string, path: string, res: IncomingMessage, payload: string): string {
    const status = res.statusCode ?? 0;
    if (status >= 300) {
      let message = payload.trim();
      try {
        message = (JSON.parse(payload) as { message?: string }).message ?? message;
      } catch {
        // not JSON: keep the raw body
      }
      throw Object.assign(new Error(`docker ${method} ${path}: ${status} ${message}`), { status });
    }
    return payload;
  }

  async function json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const out = await call(method, path, payload, payload ? { "Content-Type": "application/json" } : {});
    return (out ? JSON.parse(out) : {}) as T;
  }

  /** Reads an ndjson answer line by line as it arrives (a build's progress comes over minutes). */
  async function stream(
    method: string,
    path: string,
    body?: Body,
    headers?: Record<string, string>,
    { onMessage, signal }: StreamOptions = {},
  ) {
    const res = await send(method, path, body, headers, signal);
    if ((res.statusCode ?? 0) >= 300) checked(method, path, res, await text(res));
    const result: StreamResult = { lines: [], messages: [] };
    const take = (line: string) => {
      if (line.trim() === "") return;
      const message = JSON.parse(line) as JsonMessage;
      result.lines.push(line);
      result.messages.push(message);
      if (result.error === undefined && (message.error !== undefined || message.errorDetail !== undefined)) {
        result.error = message.errorDetail?.message ?? message.error ?? "unknown error";
      }
      onMessage?.(message);
    };
    res.setEncoding("utf8"); // decodes multi-byte characters split across chunks
    let rest = "";
    for await (const chunk of res as AsyncIterable<string>) {
      const parts = (rest + chunk).split("\n");
      rest = parts.pop() ?? "";
      parts.forEach(take);
    }
    take(rest);
    return result;
  }

  const q = (params: Record<string, string | undefined>) =>
    new URLSearchParams(Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined)).toString();

  // Engine API: X-Registry-Auth is required on push; `{}` (base64 "e30=") means anonymous.
  const anonymous = { "X-Registry-Auth": "e30=" };

  return {
    /** `GET /_ping`: true when the daemon answers "OK". */
    async ping(): Promise<boolean> {
      return (await call("GET", "/_ping")) === "OK";
    },

    /** `POST /build` with a tar context; returns the raw ndjson, BuildKit traces still encoded (anchors §F). */
    build(context: Body, opts: BuildOptions, streamOpts: StreamOptions = {}): Promise<StreamResult> {
      const query = q({
        t: opts.tag,
        dockerfile: opts.dockerfile,
        buildargs: opts.buildargs ? JSON.stringify(opts.buildargs) : undefined,
        networkmode: opts.networkmode ?? "host",
        version: opts.version ?? "2",
        nocache: opts.nocache ? "1" : undefined,
      });
      return stream("POST", `/build?${query}`, context, { "Content-Type": "application/x-tar" }, streamOpts);
    },

    /** `POST /images/{name}/push`; `image` is `registry/name:tag`; `registryAuth` is the X-Registry-Auth value. */
    push(image: string, opts: StreamOptions & { registryAuth?: string } = {}): Promise<StreamResult> {
      const { name, tag } = splitTag(image);
      const auth = opts.registryAuth ? { "X-Registry-Auth": opts.registryAuth } : anonymous;
      return stream("POST", `/images/${name}/push?${q({ tag })}`, undefined, auth, opts);
    },

    /** `POST /images/create?fromImage=` (docker pull); `registryAuth` is the X-Registry-Auth value. */
    pull(image: string, opts: { registryAuth?: string } = {}): Promise<StreamResult> {
      const { name, tag } = splitTag(image);
      const auth = opts.registryAuth ? { "X-Registry-Auth": opts.registryAuth } : anonymous;
      return stream("POST", `/images/create?${q({ fromImage: name, tag })}`, undefined, auth);
    },

    /** `POST /images/create?fromSrc=-` (docker import) of a root filesystem tar, with Dockerfile `changes`. */
    importImage(rootfsTar: Body, image: string, changes: string[] = []): Promise<StreamResult> {
      const { name, tag } = splitTag(image);
      const query = new URLSearchParams({ fromSrc: "-", repo: name, tag });
      for (const change of changes) query.append("changes", change);
      return stream("POST", `/images/create?${query.toString()}`, rootfsTar, { "Content-Type": "application/x-tar" });
    },

    /** `GET /images/{name}/json`, or undefined when the daemon does not have it. */
    async inspectImage(image: string): Promise<{ Id: string; Config?: { User?: string } } | undefined> {
      try {
        return await json<{ Id: string; Config?: { User?: string } }>("GET", `/images/${image}/json`);
      } catch (err) {
        if ((err as { status?: number }).status === 404) return undefined;
        throw err;
      }
    },

    /** Creates and starts a container, host networking unless said otherwise (DESIGN §8); returns its id. */
    async createAndStart(spec: ContainerSpec): Promise<string> {
      const { name, ...config } = spec;
      config.HostConfig = { NetworkMode: "host", ...config.HostConfig };
      const { Id } = await json<{ Id: string }>("POST", `/containers/create?${q({ name })}`, config);
      await call("POST", `/containers/${Id}/start`);
      return Id;
    },

    /** `GET /containers/{id}/json`. */
    inspect(id: string) {
      return json<{ Id: string; Name: string; State: { Status: string; Running: boolean; ExitCode: number } }>(
        "GET",
        `/containers/${id}/json`,
      );
    },

    /** Force-removes a container and its anonymous volumes; a missing container is already removed. */
    async remove(id: string): Promise<void> {
      try {
        await call("DELETE", `/containers/${id}?force=true&v=true`);
      } catch (err) {
        if ((err as { status?: number }).status !== 404) throw err;
      }
    },
  };
}

/** The client `createDockerClient` returns. */
export type DockerClient = ReturnType<typeof createDockerClient>;

/** `127.0.0.1:5000/base/node:20` → name `127.0.0.1:5000/base/node`, tag `20` (a port colon is not a tag). */
function splitTag(image: string): { name: string; tag: string } {
  const at = image.lastIndexOf(":");
  if (at === -1 || image.indexOf("/", at) !== -1) return { name: image, tag: "latest" };
  return { name: image.slice(0, at), tag: image.slice(at + 1) };
}
