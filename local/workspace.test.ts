import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { prepareWorkspace } from "./workspace.js";

// Issue #10: every internal service's key is random per state folder; a well-known one left by an older version goes.
const RANDOM = [
  "github-webhook-secret",
  "payload-secret",
  "basic-auth-password",
  "nats-password",
  "registry-password",
  "s3-access-key",
  "s3-secret-key",
];

describe("prepareWorkspace", () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), "ofc-ws-"))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const read = (name: string) => readFileSync(join(dir, "secrets", name), "utf8");

  it("an empty folder → each service key random (48 hex), all different, files 0600 in a 0700 folder", () => {
    prepareWorkspace(dir);
    const values = RANDOM.map(read);
    for (const value of values) expect(value).toMatch(/^[0-9a-f]{48}$/);
    expect(new Set(values).size).toBe(RANDOM.length);
    expect(statSync(join(dir, "secrets")).mode & 0o777).toBe(0o700);
    for (const name of [...RANDOM, "basic-auth-user", "private-key"]) {
      expect([name, statSync(join(dir, "secrets", name)).mode & 0o777]).toEqual([name, 0o600]);
    }
    expect(read("basic-auth-user")).toBe("admin");
  });

  it("a second start → the same values (daemons still running keep taking them)", () => {
    prepareWorkspace(dir);
    const first = RANDOM.map(read);
    prepareWorkspace(dir);
    expect(RANDOM.map(read)).toEqual(first);
  });

  it("an older folder (mode 0755, s3rver's S3RVER keys) → 0700, random S3 keys; its other secrets kept", () => {
    mkdirSync(join(dir, "secrets"), { recursive: true, mode: 0o755 });
    writeFileSync(join(dir, "secrets", "s3-access-key"), "S3RVER");
    writeFileSync(join(dir, "secrets", "s3-secret-key"), "S3RVER");
    writeFileSync(join(dir, "secrets", "payload-secret"), "kept-as-it-was");
    prepareWorkspace(dir);
    expect(read("s3-access-key")).toMatch(/^[0-9a-f]{48}$/);
    expect(read("s3-secret-key")).toMatch(/^[0-9a-f]{48}$/);
    expect(read("payload-secret")).toBe("kept-as-it-was");
    expect(statSync(join(dir, "secrets")).mode & 0o777).toBe(0o700);
  });
});
