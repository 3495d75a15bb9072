import { readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";

// Repository-wide, so it lives outside shared/: a function image's build runs shared/'s tests without the other folders.
describe("every logger of the system comes from createLogger", () => {
  it("no source file outside shared/log.ts calls pino() itself", async () => {
    const root = join(import.meta.dirname, "..");
    const offenders: string[] = [];
    for (const dir of ["functions", "shared", "local", "of-builder", "edge-router", "template"]) {
      for (const entry of await readdir(join(root, dir), { recursive: true, withFileTypes: true })) {
        const path = join(entry.parentPath, entry.name);
        if (!entry.isFile() || !entry.name.endsWith(".ts") || entry.name.endsWith(".test.ts")) continue;
        if (/test-support|node_modules/.test(path) || relative(root, path) === join("shared", "log.ts")) continue;
        if (/\bpino\(/.test(await readFile(path, "utf8"))) offenders.push(relative(root, path));
      }
    }
    expect(offenders).toEqual([]);
  });
});
