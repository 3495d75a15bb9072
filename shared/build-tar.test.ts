import { createHash } from "node:crypto";
import {
  chmod,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rm,
  symlink,
  utimes,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Header, list } from "tar";
import { packBuildContext, unpackBuildContext } from "./build-tar.js";

let work: string;
beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), "build-tar-"));
});
afterEach(() => rm(work, { recursive: true, force: true }));

/** Relative path → type, mode and content hash (or link target), for comparing trees. */
async function tree(dir: string, prefix = ""): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of (await readdir(dir)).sort()) {
    const path = join(dir, name);
    const rel = prefix + name;
    const stat = await lstat(path);
    const mode = (stat.mode & 0o777).toString(8);
    if (stat.isSymbolicLink()) out[rel] = `link ${await readlink(path)}`;
    else if (stat.isDirectory()) Object.assign(out, { [rel]: `dir ${mode}` }, await tree(path, `${rel}/`));
    else
      out[rel] = `file ${mode} ${createHash("sha256")
        .update(await readFile(path))
        .digest("hex")}`;
  }
  return out;
}

async function sampleContext(): Promise<string> {
  const dir = join(work, "build", "fn");
  const deep = join(dir, "function", "a".repeat(60), "b".repeat(60));
  await mkdir(deep, { recursive: true });
  await writeFile(join(dir, "Dockerfile"), "FROM scratch\n");
  await writeFile(join(dir, "function", "handler.js"), "module.exports = async () => 'hi';\n");
  await writeFile(join(deep, "c".repeat(80)), "a path over the ustar limits\n");
  await writeFile(join(dir, "run.sh"), "#!/bin/sh\n");
  await chmod(join(dir, "run.sh"), 0o755);
  await writeFile(join(dir, "empty"), "");
  await symlink("function/handler.js", join(dir, "link.js"));
  return dir;
}

type RawEntry = { path: string; type?: string; size?: number; body?: string; linkpath?: string };

/** A tar written header by header, so it can say things our packer never would. */
async function rawTar(entries: RawEntry[]): Promise<string> {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const body = Buffer.from(entry.body ?? "");
    const header = new Header({
      path: entry.path,
      type: (entry.type ?? "File") as "File",
      size: entry.size ?? body.length,
      linkpath: entry.linkpath ?? "",
      mode: 0o644,
      mtime: new Date(0),
    });
    header.encode();
    blocks.push(header.block!, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  const file = join(work, "raw.tar");
  await writeFile(file, Buffer.concat([...blocks, Buffer.alloc(1024)]));
  return file;
}

const CONFIG: RawEntry = { path: "com.openfaas.docker.config", body: '{"ref":"registry:5000/alex/fn:latest-abc"}' };

describe("packBuildContext → unpackBuildContext", () => {
  it("a context with long paths, modes and a symlink → the same tree and config back", async () => {
    const context = await sampleContext();
    const tarFile = join(work, "fn.tar");
    const { bytes } = await packBuildContext(context, { ref: "reg/fn:1", buildArgs: { GO111MODULE: "on" } }, tarFile);
    expect(bytes).toBe((await lstat(tarFile)).size);
    const out = await unpackBuildContext(tarFile, join(work, "out"));
    expect(out.config).toEqual({ ref: "reg/fn:1", buildArgs: { GO111MODULE: "on" } });
    expect(out.contextDir).toBe(join(work, "out", "context"));
    expect(await tree(out.contextDir)).toEqual(await tree(context));
  });

  it("the tar root holds the config and context/, with uid/gid 0 and mtime 0", async () => {
    const tarFile = join(work, "fn.tar");
    await packBuildContext(await sampleContext(), { ref: "reg/fn:1" }, tarFile);
    const seen: Array<{ path: string; uid?: number; gid?: number; mtime?: number }> = [];
    await list({
      file: tarFile,
      onReadEntry: (e) => seen.push({ path: e.path, uid: e.uid, gid: e.gid, mtime: e.mtime?.getTime() }),
    });
    expect(seen.slice(0, 3).map((e) => e.path)).toEqual([
      "com.openfaas.docker.config",
      "context/",
      "context/Dockerfile",
    ]);
    expect(seen.every((e) => e.uid === 0 && e.gid === 0 && e.mtime === 0)).toBe(true);
  });

  it("no buildArgs → the config omits the key, as the original wrote it", async () => {
    const tarFile = join(work, "fn.tar");
    await packBuildContext(await sampleContext(), { ref: "reg/fn:1", buildArgs: {} }, tarFile);
    const bytes = await readFile(tarFile);
    expect(bytes.subarray(512, 512 + 19).toString()).toBe('{"ref":"reg/fn:1"}\0');
  });

  it("the same context packed twice, with new mtimes → byte-identical tars", async () => {
    const context = await sampleContext();
    await packBuildContext(context, { ref: "reg/fn:1" }, join(work, "a.tar"));
    await utimes(join(context, "Dockerfile"), new Date(), new Date(Date.UTC(2030, 0, 1)));
    await packBuildContext(context, { ref: "reg/fn:1" }, join(work, "b.tar"));
    expect(await readFile(join(work, "b.tar"))).toEqual(await readFile(join(work, "a.tar")));
  });
});

describe("unpackBuildContext refuses unsafe tars with a 400 and writes nothing", () => {
  const manyFiles = Array.from({ length: 10_001 }, (_, i): RawEntry => ({ path: `context/f${i}`, body: "x" }));
  it.each<[string, RawEntry[], RegExp]>([
    ["../evil", [CONFIG, { path: "../evil", body: "x" }], /\.\.\/evil contains "\.\."/],
    ["context/../../evil", [CONFIG, { path: "context/../../evil", body: "x" }], /contains "\.\."/],
    ["an absolute path", [CONFIG, { path: "/abs", body: "x" }], /\/abs is an absolute path/],
    ["an entry outside context/", [CONFIG, { path: "other/file", body: "x" }], /other\/file lies outside context\//],
    [
      "a symlink leaving context/",
      [CONFIG, { path: "context/x", type: "SymbolicLink", linkpath: "../../etc" }],
      /context\/x is a symlink to "\.\.\/\.\.\/etc", which leaves context\//,
    ],
    [
      "an absolute symlink",
      [CONFIG, { path: "context/x", type: "SymbolicLink", linkpath: "/etc/passwd" }],
      /context\/x is a symlink to "\/etc\/passwd"/,
    ],
    [
      "symlinks that only leave when followed (a -> ., b -> a/..)",
      [
        CONFIG,
        { path: "context/a", type: "SymbolicLink", linkpath: "." },
        { path: "context/b", type: "SymbolicLink", linkpath: "a/.." },
      ],
      /context\/b is a symlink to "a\/\.\."/,
    ],
    [
      "a file under a symlink",
      [CONFIG, { path: "context/d", type: "SymbolicLink", linkpath: "." }, { path: "context/d/f", body: "x" }],
      /context\/d\/f lies under the symlink context\/d/,
    ],
    [
      "a hard link",
      [CONFIG, { path: "context/a", body: "x" }, { path: "context/h", type: "Link", linkpath: "context/a" }],
      /context\/h is a hard link/,
    ],
    ["a FIFO", [CONFIG, { path: "context/fifo", type: "FIFO" }], /context\/fifo is a FIFO entry/],
    ["a character device", [CONFIG, { path: "context/null", type: "CharacterDevice" }], /CharacterDevice entry/],
    ["10,001 files", [CONFIG, ...manyFiles], /more than 10000 entries/],
    [
      "a declared 1 GB entry with no body",
      [CONFIG, { path: "context/big", size: 2 ** 30 }],
      /more than 524288000 bytes/,
    ],
    [
      "the same path twice",
      [CONFIG, { path: "context/a", body: "1" }, { path: "context/a", body: "2" }],
      /appears more than once/,
    ],
    ["no config", [{ path: "context/a", body: "x" }], /the tar has no com\.openfaas\.docker\.config/],
    ["a config that is not JSON", [{ ...CONFIG, body: "{" }], /is not valid JSON/],
    ["an empty ref", [{ ...CONFIG, body: '{"ref":""}' }], /^no target reference to push$/],
    ["no ref", [{ ...CONFIG, body: '{"buildArgs":{}}' }], /^no target reference to push$/],
    ["a truncated tar", [CONFIG, { path: "context/a", size: 5000, body: "short" }], /invalid tar/],
  ])("%s → 400", async (_, entries, reason) => {
    const sentinel = join(work, "sentinel");
    await mkdir(sentinel);
    const dest = join(work, "dest");
    const before = await tree(work);
    const file = await rawTar(entries);
    const error = await unpackBuildContext(file, dest).catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 400, message: expect.stringMatching(reason) });
    expect(await tree(sentinel)).toEqual({});
    expect(await tree(work)).toEqual({ ...before, "raw.tar": expect.any(String) });
  });

  it("limits are options: 3 files over maxFiles 2 → 400", async () => {
    const file = await rawTar([CONFIG, ...[1, 2, 3].map((i) => ({ path: `context/${i}`, body: "x" }))]);
    await expect(unpackBuildContext(file, join(work, "dest"), { maxFiles: 2 })).rejects.toThrow(/more than 2 entries/);
  });

  it("an in-context symlink and nested folders → extracted", async () => {
    const file = await rawTar([
      CONFIG,
      { path: "context/", type: "Directory" },
      { path: "context/sub/", type: "Directory" },
      { path: "context/sub/a", body: "x" },
      { path: "context/up", type: "SymbolicLink", linkpath: "sub/../sub/a" },
    ]);
    const { contextDir } = await unpackBuildContext(file, join(work, "dest"));
    expect(await readlink(join(contextDir, "up"))).toBe("sub/../sub/a");
    expect(await readFile(join(contextDir, "sub", "a"), "utf8")).toBe("x");
  });
});
