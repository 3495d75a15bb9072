import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { lockStateDir } from "./state-lock.js";

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), "state-lock-"))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

// A pid that belonged to a process which has exited (the state a SIGKILLed runtime leaves behind).
const gonePid = () => spawnSync("true").pid;

describe("lockStateDir (issue #18)", () => {
  it("free folder → taken: runtime.pid holds our pid; release → the file is gone", () => {
    const lock = lockStateDir(dir, 4242);
    expect(readFileSync(join(dir, "runtime.pid"), "utf8")).toBe("4242\n");
    expect("release" in lock).toBe(true);
    if ("release" in lock) lock.release();
    expect(existsSync(join(dir, "runtime.pid"))).toBe(false);
  });

  it("held by a live process → { heldBy: its pid }, the file untouched", async () => {
    const other = spawn("sleep", ["30"]);
    try {
      writeFileSync(join(dir, "runtime.pid"), `${other.pid}\n`);
      expect(lockStateDir(dir, 4242)).toEqual({ heldBy: other.pid });
      expect(readFileSync(join(dir, "runtime.pid"), "utf8")).toBe(`${other.pid}\n`);
    } finally {
      other.kill();
      await new Promise((resolve) => other.once("exit", resolve));
    }
  });

  it.each([
    ["a runtime that died without a stop", () => `${gonePid()}\n`],
    ["an empty file", () => ""],
    ["garbage", () => "not a pid"],
  ])("runtime.pid left by %s → taken over", (_, content) => {
    writeFileSync(join(dir, "runtime.pid"), content());
    expect("release" in lockStateDir(dir, 4242)).toBe(true);
    expect(readFileSync(join(dir, "runtime.pid"), "utf8")).toBe("4242\n");
  });

  it("release after another runtime took the folder over → leaves its file alone", () => {
    const lock = lockStateDir(dir, 4242);
    writeFileSync(join(dir, "runtime.pid"), "5151\n");
    if ("release" in lock) lock.release();
    expect(readFileSync(join(dir, "runtime.pid"), "utf8")).toBe("5151\n");
  });
});
