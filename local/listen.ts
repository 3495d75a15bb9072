import type { Server } from "node:net";

/**
 * `server.listen(port, "127.0.0.1")` as a promise that rejects with the listen error (EADDRINUSE carries `port`):
 * `listen(port, host, callback)` alone never calls back on a taken port, and its 'error' event, unheard, would end
 * the process with a stack trace instead of a failed start that stops what it began (issue #18).
 */
export function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const failed = (error: Error) => reject(error);
    server.once("error", failed);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", failed);
      resolve();
    });
  });
}
