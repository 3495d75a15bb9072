import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * jest's globalSetup: the run gets a temp folder of its own, as TMPDIR, which the workers and every process a test
 * starts inherit; temp-folder-teardown.ts checks that the run left nothing in it (issue #18).
 */
export default function setup(): void {
  process.env.OFC_TEST_TMPDIR_PARENT = tmpdir();
  process.env.TMPDIR = mkdtempSync(join(tmpdir(), "jest-run-"));
}
