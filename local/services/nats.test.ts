// nats-server's account (issue #10): user code shares the host network, so the password is all that keeps it off
// the queue. Real nats-server (scripts/install-system-deps.sh).
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { connect as tcpConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { connect } from "@nats-io/transport-node";
import { natsConnectOptions, startNats, type Nats } from "./nats.js";

/** Speaks the NATS protocol by hand, as a hostile client would: CONNECT with `fields`, PING; the server's lines. */
function rawConnect(url: string, fields: Record<string, unknown>): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    let seen = "";
    const socket = tcpConnect(Number(port), hostname, () => {
      socket.write(`CONNECT ${JSON.stringify({ verbose: false, pedantic: false, ...fields })}\r\nPING\r\n`);
    });
    socket.setTimeout(5_000, () => socket.destroy(new Error(`no answer; saw ${JSON.stringify(seen)}`)));
    socket.on("data", (chunk: Buffer) => {
      seen += chunk.toString("utf8");
      if (/\r\n(-ERR[^\r]*|PONG)\r\n/.test(seen)) socket.end();
    });
    socket.on("close", () => resolve(seen));
    socket.on("error", reject);
  });
}

describe("nats-server with one account", () => {
  let dir: string;
  let nats: Nats;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "ofc-nats-auth-"));
    nats = await startNats({ dataDir: dir });
  });
  afterAll(async () => {
    await nats.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each([
    ["no credentials", {}],
    ["the right user, a wrong password", { user: "ofc", pass: "wrong" }],
    ["a token", { auth_token: "S3RVER" }],
  ])("raw CONNECT with %s → -ERR 'Authorization Violation', never PONG", async (_, fields) => {
    const seen = await rawConnect(nats.url, fields);
    expect(seen).toMatch(/^INFO \{.*"auth_required":true/);
    expect(seen).toContain("-ERR 'Authorization Violation'");
    expect(seen).not.toContain("PONG");
  });

  it("raw CONNECT with the account → PONG (the control: the raw client works)", async () => {
    const seen = await rawConnect(nats.url, { user: nats.user, pass: nats.password });
    expect(seen).toContain("PONG");
    expect(seen).not.toContain("-ERR");
  });

  it("the nats.js client without the password → rejected; with it → connects", async () => {
    await expect(connect({ servers: nats.url, reconnect: false })).rejects.toThrow(/Authorization Violation/i);
    const nc = await connect({ ...natsConnectOptions(nats), reconnect: false });
    await nc.close();
  });

  it("nats.conf holds a bcrypt hash, not the password, and only root can read it", () => {
    const config = join(dir, "nats.conf");
    expect(statSync(config).mode & 0o777).toBe(0o600);
    expect(readFileSync(config, "utf8")).not.toContain(nats.password);
    expect(readFileSync(config, "utf8")).toMatch(/password: "\$2[aby]\$04\$/);
  });

  it("startNats on the running server's port with its account → reused (its stop() leaves it running)", async () => {
    const port = Number(new URL(nats.url).port);
    const again = await startNats({ dataDir: dir, port, credentials: { user: nats.user, password: nats.password } });
    await again.stop();
    const nc = await connect({ ...natsConnectOptions(nats), reconnect: false });
    await nc.close();
  });

  it("startNats on a port where a nats-server runs without authentication → refuses to reuse it", async () => {
    const open = mkdtempSync(join(tmpdir(), "ofc-nats-open-"));
    const child = spawn("nats-server", ["-a", "127.0.0.1", "-p", "-1", "-js", "-sd", open, "--ports_file_dir", open], {
      stdio: "ignore",
    });
    try {
      const portsFile = join(open, `nats-server_${child.pid}.ports`);
      let url = "";
      for (let i = 0; i < 100 && !url; i++, await sleep(100)) {
        try {
          url = (JSON.parse(readFileSync(portsFile, "utf8")) as { nats: string[] }).nats[0] ?? "";
        } catch {
          // not written yet
        }
      }
      const port = Number(new URL(url).port);
      await expect(startNats({ dataDir: join(open, "x"), port })).rejects.toThrow(
        /lets clients in without credentials/,
      );
    } finally {
      child.kill("SIGTERM");
      await new Promise((resolve) => child.once("exit", resolve));
      rmSync(open, { recursive: true, force: true });
    }
  });
});
