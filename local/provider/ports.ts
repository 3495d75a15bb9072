import { freePort } from "../ports.js";

/** Free ports on 127.0.0.1 for function containers, never one a function of this gateway still holds. */
export interface Ports {
  take(): Promise<number>;
  /** Marks a port as in use (a function found running after a gateway restart). */
  hold(port: number): void;
  release(port: number): void;
}

/**
 * Hands out ports just found free (below the ephemeral range, local/ports.ts). A function binds its port only after its container starts, so the
 * ports handed out but not yet bound are remembered here; another process could still take one in between.
 */
export function createPorts(): Ports {
  const held = new Set<number>();
  return {
    async take() {
      for (;;) {
        const port = await freePort(held);
        if (held.has(port)) continue;
        held.add(port);
        return port;
      }
    },
    hold: (port) => void held.add(port),
    release: (port) => void held.delete(port),
  };
}
