import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { randomInt } from "node:crypto";
import { createServer } from "node:net";

const SERVICES = [
  "gateway",
  "registry",
  "nats",
  "s3",
  "github",
  "git",
  "builder",
  "edge",
  "prometheus",
  // The GitLab stand-in (issue #19): its API and its git host on one port, as a GitLab instance serves both.
  "gitlab",
] as const;
export type Service = (typeof SERVICES)[number];

/**
 * The kernel's range for ephemeral ports (outgoing connections, `listen(0)`). A port picked inside it can be taken by
 * any outgoing connection between the pick and the service's own listen (seen in CI as EADDRINUSE), so the runtime's
 * ports come from below it.
 */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 2048 ? low : 32768;
  } catch {
    return 32768;
  }
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** A port free on 127.0.0.1 now, below the ephemeral range and not in `taken`. */
export async function freePort(taken: ReadonlySet<number> = new Set()): Promise<number> {
  const high = ephemeralLow() - 1;
  const low = Math.max(1024, high - 20_000);
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = low + randomInt(high - low + 1);
    if (!taken.has(port) && (await canListen(port))) return port;
  }
  throw new Error(`no free port on 127.0.0.1 between ${low} and ${high}`);
}

/**
 * The local runtime's ports, chosen once and kept in `<dir>/ports.json`: a restarted runtime must come back on the
 * same addresses, because queued work holds URLs (clone URLs, callback URLs) that point at them.
 */
export async function loadPorts(
  file: string,
  fixed: Partial<Record<Service, number>> = {},
): Promise<Record<Service, number>> {
  const saved = existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as Partial<Record<Service, number>>) : {};
  const ports = {} as Record<Service, number>;
  const taken = new Set<number>();
  for (const service of SERVICES) {
    ports[service] = fixed[service] ?? saved[service] ?? (await freePort(taken));
    taken.add(ports[service]);
  }
  writeFileSync(file, JSON.stringify(ports, null, 2));
  return ports;
}
