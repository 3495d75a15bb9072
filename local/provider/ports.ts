import { createServer } from "node:net";

/** Free ports on 127.0.0.1 for function containers, never one a function of this gateway still holds. */
export interface Ports {
  take(): Promise<number>;
  /** Marks a port as in use (a function found running after a gateway restart). */
  hold(port: number): void;
  release(port: number): void;
}

/**
 * Hands out ports the kernel just reported free. A function binds its port only after its container starts, so the
 * ports handed out but not yet bound are remembered here; another process could still take one in between.
 */
export function createPorts(): Ports {
  const held = new Set<number>();
  return {
    async take() {
      for (;;) {
        const port = await kernelPort();
        if (held.has(port)) continue;
        held.add(port);
        return port;
      }
    },
    hold: (port) => void held.add(port),
    release: (port) => void held.delete(port),
  };
}

function kernelPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port from the kernel")),
      );
    });
  });
}
