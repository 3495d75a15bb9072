import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { packBuildContext } from "../shared/build-tar.js";

// A file whose content is not the size lstat gave would corrupt the tar's framing (every later entry read at the
// wrong offset). A file can change between the packer's lstat and its read only by racing it; a /proc file bind-mounted
// into the context does it every time: lstat says 0 bytes, a read gives the kernel's text. Needs root (mount), as
// the end-to-end suites do.
let work: string;
beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), "build-tar-size-"));
});
afterEach(() => rm(work, { recursive: true, force: true }));

it("a file whose content is not the size it had when listed → the pack fails naming it", async () => {
  const context = join(work, "ctx");
  await mkdir(context);
  const file = join(context, "version");
  await writeFile(file, "");
  execFileSync("mount", ["--bind", "/proc/version", file]);
  try {
    await expect(packBuildContext(context, { ref: "reg/fn:1" }, join(work, "fn.tar"))).rejects.toThrow(
      `${file} changed size while being packed`,
    );
  } finally {
    execFileSync("umount", [file]);
  }
});
