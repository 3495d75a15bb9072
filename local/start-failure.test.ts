import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describeStartFailure } from "./start-failure.js";

// Made when the file loads: the table below names it.
const dir = mkdtempSync(join(tmpdir(), "start-failure-"));
beforeAll(() =>
  writeFileSync(join(dir, "ports.json"), JSON.stringify({ gateway: 8080, registry: 41233, edge: 40147 })),
);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const listenError = (port: number) =>
  Object.assign(new Error(`listen EADDRINUSE: address already in use 127.0.0.1:${port}`), {
    code: "EADDRINUSE",
    port,
  });

describe("describeStartFailure (issue #18): one line, what failed and how to fix it", () => {
  it.each([
    [
      "the gateway's port taken (Node's listen error)",
      listenError(8080),
      "port 8080 (the gateway) on 127.0.0.1 is in use by another program: stop that program, or set OFC_PORT to a free port (OFC_PORT=8081 npm start)",
    ],
    [
      "the edge router's port taken",
      listenError(40147),
      `port 40147 (the edge) on 127.0.0.1 is in use by another program: stop that program, or remove "edge" from ${dir}/ports.json to get a new port on the next start`,
    ],
    [
      "the registry's port taken (Go's error in its log tail)",
      new Error(
        "registry exited (1) before it was ready; /x/registry.log:\nlisten tcp 127.0.0.1:41233: bind: address already in use",
      ),
      `port 41233 (the registry) on 127.0.0.1 is in use by another program: stop that program, or remove "registry" from ${dir}/ports.json to get a new port on the next start`,
    ],
    [
      "a port no service was given",
      listenError(5555),
      "port 5555 on 127.0.0.1 is in use by another program: stop that program",
    ],
    [
      "a daemon that would not start",
      new Error("dockerd on /x/d/docker.sock exited (1) before it was ready; /x/d/dockerd.log:\nfailed to start"),
      "start failed: dockerd on /x/d/docker.sock exited (1) before it was ready; /x/d/dockerd.log (LOG_LEVEL=debug shows the details)",
    ],
  ])("%s → the line naming it and its fix", (_, error, line) => {
    expect(describeStartFailure(error, dir)).toBe(line);
  });
});
