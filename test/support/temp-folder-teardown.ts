import { readdirSync, rmSync } from "node:fs";

// Caches kept on purpose between uses: git-tar's clone of the templates repository (functions/git-tar/handler.ts),
// and tsx's compiled files (tsx-<uid>) when a test starts the runtime with `node --import tsx`.
const isCache = (entry: string) => entry === "ofc-templates" || /^tsx-\d+$/.test(entry);

/**
 * jest's globalTeardown: fails the run when its tests left anything in the run's temp folder (temp-folder-setup.ts),
 * naming each entry; the folder is removed either way, so the machine's temp folder is as before the run (#18).
 */
export default function teardown(): void {
  const dir = process.env.TMPDIR;
  const parent = process.env.OFC_TEST_TMPDIR_PARENT;
  if (!dir || !parent) return;
  const left = readdirSync(dir).filter((entry) => !isCache(entry));
  rmSync(dir, { recursive: true, force: true });
  process.env.TMPDIR = parent;
  if (left.length > 0) {
    throw new Error(
      `the tests left ${left.length} entries in the temp folder (each test removes what it creates): ${left.sort().join(", ")}`,
    );
  }
}
