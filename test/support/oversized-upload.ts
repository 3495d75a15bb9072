import { request } from "node:http";
import type { Server, Socket } from "node:net";

/** What came back for an upload: the answer (and how much of the body had been written), or the socket error. */
export type UploadOutcome = { status: number; body: string; sent: number } | { error: string; sent: number };

/**
 * POSTs `bytes` of zeros to `url`, 64 KiB at a time with backpressure (never the whole body in memory), with a
 * Content-Length or chunked; stops writing as soon as an answer arrives, as a client does when refused early.
 */
export function upload(
  url: string,
  options: { bytes: number; chunked?: boolean; headers?: Record<string, string> },
): Promise<UploadOutcome> {
  const chunk = Buffer.alloc(64 * 1024);
  return new Promise((resolve) => {
    let sent = 0;
    let answered = false;
    const headers: Record<string, string> = { "content-type": "application/octet-stream", ...options.headers };
    if (!options.chunked) headers["content-length"] = String(options.bytes);
    const req = request(url, { method: "POST", headers, agent: false }, (res) => {
      answered = true;
      const parts: Buffer[] = [];
      res.on("data", (c: Buffer) => parts.push(c));
      res.on("error", () => undefined);
      res.on("close", () => {
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString(), sent });
        req.destroy();
      });
    });
    req.on("error", (error: NodeJS.ErrnoException) => {
      if (!answered) resolve({ error: error.code ?? error.message, sent });
    });
    const pump = () => {
      while (!answered && sent < options.bytes) {
        const piece = chunk.subarray(0, Math.min(chunk.length, options.bytes - sent));
        sent += piece.length;
        if (!req.write(piece)) return void req.once("drain", pump);
      }
      if (!answered) req.end();
    };
    pump();
  });
}

/** Counts the bytes a server read off its sockets (request lines, headers and bodies), open or closed. */
export function countBytesRead(server: Server): () => number {
  const sockets: Socket[] = [];
  server.on("connection", (socket: Socket) => sockets.push(socket));
  return () => sockets.reduce((sum, s) => sum + s.bytesRead, 0);
}
