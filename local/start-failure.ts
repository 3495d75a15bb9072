import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

// Go's listen error, as the registry, nats-server and Prometheus write it to their logs (quoted in our message).
const GO_PORT_TAKEN = /listen tcp 127\.0\.0\.1:(\d+): bind: address already in use/;

/**
 * The one line npm start prints for a start that failed (issue #18): what failed and how to fix it. A taken port is
 * named with the service it was kept for in `<dir>/ports.json` and how to choose another; anything else is its
 * message's first line, which names the service and its log (local/services/daemon-process.ts).
 */
export function describeStartFailure(error: unknown, dir: string): string {
  const port = takenPort(error);
  if (port !== undefined) {
    const service = serviceOn(port, dir);
    const who = service ? ` (the ${service})` : "";
    const fix =
      service === undefined
        ? ""
        : service === "gateway"
          ? `, or set OFC_PORT to a free port (OFC_PORT=${port + 1} npm start)`
          : `, or remove "${service}" from ${join(dir, "ports.json")} to get a new port on the next start`;
    return `port ${port}${who} on 127.0.0.1 is in use by another program: stop that program${fix}`;
  }
  const message = error instanceof Error ? error.message : String(error);
  const first = message.split("\n")[0]?.replace(/[:;,]\s*$/, "") ?? "";
  return `start failed: ${first || "unknown error"} (LOG_LEVEL=debug shows the details)`;
}

function takenPort(error: unknown): number | undefined {
  const { code, port } = (error ?? {}) as { code?: string; port?: number };
  if (code === "EADDRINUSE" && typeof port === "number") return port;
  const match = GO_PORT_TAKEN.exec(error instanceof Error ? error.message : String(error));
  return match ? Number(match[1]) : undefined;
}

function serviceOn(port: number, dir: string): string | undefined {
  const file = join(dir, "ports.json");
  if (!existsSync(file)) return undefined;
  try {
    const ports = JSON.parse(readFileSync(file, "utf8")) as Record<string, number>;
    return Object.entries(ports).find(([, p]) => p === port)?.[0];
  } catch {
    return undefined;
  }
}
