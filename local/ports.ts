import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";

const SERVICES = ["gateway", "registry", "nats", "s3", "github", "git", "builder", "edge", "prometheus"] as const;
export type Service = (typeof SERVICES)[number];

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
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
  for (const service of SERVICES) ports[service] = fixed[service] ?? saved[service] ?? (await freePort());
  writeFileSync(file, JSON.stringify(ports, null, 2));
  return ports;
}
