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
import { createServer } from "node:net";
import { Header, list } from "tar";
import { batched, packBuildContext, readBuildConfig, unpackBuildContext } from "./build-tar.js";

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

type RawEntry = {
  path: string;
  type?: string;
  size?: number;
  body?: string;
  linkpath?: string;
  typeflag?: string;
  /** The owner the header names; 0 unless set. */
  uid?: number;
  /** This entry `copies` times, named `<path>0`, `<path>1`, … (one encoded header, renamed: 10,001 take seconds). */
  copies?: number;
};

/** Sets a header block's checksum again after its bytes were changed by hand. */
function checksum(block: Buffer): Buffer {
  block.fill(" ", 148, 156);
  const sum = block.reduce((total, byte) => total + byte, 0);
  block.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "latin1");
  return block;
}

/** A tar written header by header, so it can say things our packer never would. */
async function rawTar(entries: RawEntry[]): Promise<string> {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const body = Buffer.from(entry.body ?? "");
    const header = new Header({
      path: entry.copies === undefined ? entry.path : `${entry.path}0`,
      type: (entry.type ?? "File") as "File",
      size: entry.size ?? body.length,
      linkpath: entry.linkpath ?? "",
      mode: 0o644,
      mtime: new Date(0),
      uid: entry.uid ?? 0,
      gid: entry.uid ?? 0,
    });
    header.encode();
    // Old tars use a NUL typeflag, which node-tar never writes.
    if (entry.typeflag !== undefined) {
      header.block!.write(entry.typeflag === "" ? "\0" : entry.typeflag, 156, "latin1");
      checksum(header.block!);
    }
    const padding = Buffer.alloc((512 - (body.length % 512)) % 512);
    for (let i = 0; i < (entry.copies ?? 1); i++) {
      let block = header.block!;
      if (entry.copies !== undefined) {
        block = Buffer.from(block);
        block.fill(0, 0, 100).write(`${entry.path}${i}`, 0, "latin1");
        checksum(block);
      }
      blocks.push(block, body, padding);
    }
  }
  const file = join(work, "raw.tar");
  await writeFile(file, Buffer.concat([...blocks, Buffer.alloc(1024)]));
  return file;
}

const CONFIG: RawEntry = { path: "com.openfaas.docker.config", body: '{"ref":"registry:5000/alex/fn:latest-abc"}' };

/** A valid config of exactly `bytes` bytes, padded with a build arg. */
function configOfSize(bytes: number): string {
  const shell = '{"ref":"reg/fn:1","buildArgs":{"PAD":""}}';
  return shell.replace('""', `"${"x".repeat(bytes - shell.length)}"`);
}

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

  it("files around the 1 MiB read-and-batch size (one byte under, at, over, 3 MiB) and many small ones → the same bytes back", async () => {
    const context = join(work, "ctx");
    await mkdir(join(context, "many"), { recursive: true });
    const MIB = 1024 * 1024;
    for (const [name, size] of [
      ["under", MIB - 1],
      ["at", MIB],
      ["over", MIB + 1],
      ["big", 3 * MIB + 7],
    ] as const) {
      await writeFile(join(context, name), Buffer.alloc(size, name));
    }
    for (let i = 0; i < 300; i++) await writeFile(join(context, "many", `f${i}`), `file ${i}\n`.repeat(i));
    const tarFile = join(work, "fn.tar");
    const { bytes } = await packBuildContext(context, { ref: "reg/fn:1" }, tarFile);
    expect(bytes).toBe((await lstat(tarFile)).size);
    const out = await unpackBuildContext(tarFile, join(work, "out"), { maxBytes: 64 * MIB });
    expect(await tree(out.contextDir)).toEqual(await tree(context));
  });

  it("the tar root holds the config and context/, with uid/gid 0 and mtime 0", async () => {
    const tarFile = join(work, "fn.tar");
    await packBuildContext(await sampleContext(), { ref: "reg/fn:1" }, tarFile);
    const seen: Array<{ path: string; uid?: number; gid?: number; mtime?: number; owner: string }> = [];
    await list({
      file: tarFile,
      onReadEntry: (e) =>
        seen.push({ path: e.path, uid: e.uid, gid: e.gid, mtime: e.mtime?.getTime(), owner: `${e.uname}:${e.gname}` }),
    });
    expect(seen.slice(0, 3).map((e) => e.path)).toEqual([
      "com.openfaas.docker.config",
      "context/",
      "context/Dockerfile",
    ]);
    expect(seen.every((e) => e.uid === 0 && e.gid === 0 && e.mtime === 0)).toBe(true);
    // No user or group names either: the packing machine's accounts must not change the bytes.
    expect(new Set(seen.map((e) => e.owner))).toEqual(new Set([":"]));
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
    ["10,001 files", [CONFIG, { path: "context/f", copies: 10_001 }], /more than 10000 entries/],
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
    [
      "a folder and a file of the same name",
      [CONFIG, { path: "context/a/", type: "Directory" }, { path: "context/a", body: "x" }],
      /^context\/a appears more than once$/,
    ],
    ["a drive letter (C:evil)", [CONFIG, { path: "C:evil", body: "x" }], /^C:evil is an absolute path$/],
    ["a ./ segment", [CONFIG, { path: "context/./a", body: "x" }], /^context\/\.\/a is not a normalised path$/],
    ["an empty segment", [CONFIG, { path: "context//a", body: "x" }], /^context\/\/a is not a normalised path$/],
    ["context as a file", [CONFIG, { path: "context", body: "x" }], /^context must be a folder$/],
    [
      "the config as a symlink",
      [{ path: "com.openfaas.docker.config", type: "SymbolicLink", linkpath: "context/a" }],
      /^com\.openfaas\.docker\.config is not a file$/,
    ],
    [
      "the config as a folder",
      [{ path: "com.openfaas.docker.config", type: "Directory" }],
      /^com\.openfaas\.docker\.config is not a file$/,
    ],
    [
      "symlinks that loop (a -> b, b -> a)",
      [
        CONFIG,
        { path: "context/a", type: "SymbolicLink", linkpath: "b" },
        { path: "context/b", type: "SymbolicLink", linkpath: "a" },
      ],
      /^context\/a is a symlink to "b", which leaves context\/$/,
    ],
    [
      "a symlink to ..",
      [CONFIG, { path: "context/x", type: "SymbolicLink", linkpath: ".." }],
      /^context\/x is a symlink to "\.\.", which leaves context\/$/,
    ],
    [
      "a symlink whose empty segment would hide a .. (sub//../..)",
      [
        CONFIG,
        { path: "context/sub/", type: "Directory" },
        { path: "context/x", type: "SymbolicLink", linkpath: "sub//../.." },
      ],
      /^context\/x is a symlink to "sub\/\/\.\.\/\.\.", which leaves context\/$/,
    ],
    [
      "a symlink whose . segment would hide a .. (sub/./../..)",
      [
        CONFIG,
        { path: "context/sub/", type: "Directory" },
        { path: "context/x", type: "SymbolicLink", linkpath: "sub/./../.." },
      ],
      /^context\/x is a symlink to "sub\/\.\/\.\.\/\.\.", which leaves context\/$/,
    ],
    [
      "a config whose buildArgs are not strings",
      [{ ...CONFIG, body: '{"ref":"r","buildArgs":{"A":1}}' }],
      /^com\.openfaas\.docker\.config must be \{"ref": string, "buildArgs": \{string: string\}\}$/,
    ],
    [
      "a config one byte over 64 KB, beside a context file",
      [
        { ...CONFIG, body: configOfSize(64 * 1024 + 1) },
        { path: "context/a", body: "x" },
      ],
      /^com\.openfaas\.docker\.config is over 65536 bytes$/,
    ],
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

describe("unpackBuildContext: what it lets through, up to each limit", () => {
  it("a colon inside a name (context/a:b) → extracted: only a leading drive letter is absolute", async () => {
    const file = await rawTar([CONFIG, { path: "context/a:b", body: "x" }]);
    const { contextDir } = await unpackBuildContext(file, join(work, "dest"));
    expect(await readFile(join(contextDir, "a:b"), "utf8")).toBe("x");
  });

  it("old-style (NUL typeflag) and contiguous file entries → extracted as files", async () => {
    const file = await rawTar([
      CONFIG,
      { path: "context/old", body: "o", typeflag: "" },
      { path: "context/contiguous", body: "c", typeflag: "7" },
    ]);
    const seen: string[] = [];
    await list({ file, onReadEntry: (e) => seen.push(e.type) });
    // node-tar reads a NUL typeflag as a File.
    expect(seen).toEqual(["File", "File", "ContiguousFile"]);
    const { contextDir } = await unpackBuildContext(file, join(work, "dest"));
    expect(await readFile(join(contextDir, "old"), "utf8")).toBe("o");
    expect(await readFile(join(contextDir, "contiguous"), "utf8")).toBe("c");
  });

  it("exactly maxFiles and maxBytes → extracted; the config and context/ are not counted as files", async () => {
    const entries = [
      CONFIG,
      { path: "context/", type: "Directory" },
      { path: "context/a", body: "xy" },
      { path: "context/b", body: "z" },
    ];
    const maxBytes = CONFIG.body!.length + 3;
    const { contextDir } = await unpackBuildContext(await rawTar(entries), join(work, "dest"), {
      maxFiles: 2,
      maxBytes,
    });
    expect(await tree(contextDir)).toEqual({ a: expect.any(String), b: expect.any(String) });
    await expect(
      unpackBuildContext(await rawTar(entries), join(work, "dest2"), { maxFiles: 2, maxBytes: maxBytes - 1 }),
    ).rejects.toMatchObject({ status: 400, message: `the tar declares more than ${maxBytes - 1} bytes` });
  });

  it("a chain of 41 symlinks → extracted; 42 → 400 (loops are cut at depth 40)", async () => {
    const chain = (links: number): RawEntry[] => [
      CONFIG,
      { path: "context/f", body: "x" },
      ...Array.from({ length: links }, (_, i): RawEntry => ({
        path: `context/l${i}`,
        type: "SymbolicLink",
        linkpath: i === links - 1 ? "f" : `l${i + 1}`,
      })),
    ];
    const { contextDir } = await unpackBuildContext(await rawTar(chain(41)), join(work, "dest"));
    // Not read through: Linux itself stops at 40 links.
    expect(await readlink(join(contextDir, "l0"))).toBe("l1");
    expect(await readlink(join(contextDir, "l40"))).toBe("f");
    await expect(unpackBuildContext(await rawTar(chain(42)), join(work, "dest2"))).rejects.toMatchObject({
      status: 400,
      message: 'context/l0 is a symlink to "l1", which leaves context/',
    });
  });

  it("a config of exactly 64 KB and no buildArgs key → accepted, buildArgs {}", async () => {
    const exact = configOfSize(64 * 1024);
    expect(Buffer.byteLength(exact)).toBe(65536);
    const big = await unpackBuildContext(await rawTar([{ ...CONFIG, body: exact }]), join(work, "dest"));
    expect(big.config.buildArgs.PAD).toHaveLength(65536 - '{"ref":"reg/fn:1","buildArgs":{"PAD":""}}'.length);
    const bare = await unpackBuildContext(await rawTar([CONFIG]), join(work, "dest2"));
    // Strict: no `deploy: undefined` key either.
    expect(bare.config).toStrictEqual({ ref: "registry:5000/alex/fn:latest-abc", buildArgs: {} });
  });

  it("symlinks in sub-folders resolve from their own folder (a -> sub/b -> ../f) → extracted", async () => {
    const file = await rawTar([
      CONFIG,
      { path: "context/a", type: "SymbolicLink", linkpath: "sub/b" },
      { path: "context/f", body: "x" },
      { path: "context/sub/", type: "Directory" },
      { path: "context/sub/b", type: "SymbolicLink", linkpath: "../f" },
    ]);
    const { contextDir } = await unpackBuildContext(file, join(work, "dest"));
    expect(await readFile(join(contextDir, "a"), "utf8")).toBe("x");
  });

  it("a tar node-tar will not extract (a link through a link, in this order) → 400 naming it, not a crash", async () => {
    const file = await rawTar([
      CONFIG,
      { path: "context/f", body: "x" },
      { path: "context/sub/", type: "Directory" },
      { path: "context/sub/b", type: "SymbolicLink", linkpath: "../f" },
      { path: "context/a", type: "SymbolicLink", linkpath: "sub/b" },
    ]);
    const failed = await unpackBuildContext(file, join(work, "dest")).catch((error: Error) => error);
    if (failed instanceof Error) {
      expect(failed).toMatchObject({
        status: 400,
        message: expect.stringMatching(/^could not unpack the build context: /),
        // node-tar's own error, for the log.
        cause: expect.objectContaining({ code: expect.stringMatching(/^TAR_/) }),
      });
    } else {
      // A node-tar that extracts it must give the same file through both links.
      expect(await readFile(join(failed.contextDir, "a"), "utf8")).toBe("x");
    }
  });

  it("entries owned by another uid in the tar → extracted as of-builder's own files, the sender's owner not kept", async () => {
    const file = await rawTar([
      CONFIG,
      { path: "context/", type: "Directory", uid: 4242 },
      { path: "context/a", body: "x", uid: 4242 },
    ]);
    const { contextDir } = await unpackBuildContext(file, join(work, "dest"));
    // As root (of-builder's container), node-tar would chown each entry to the tar's uid unless told not to.
    const stat = await lstat(join(contextDir, "a"));
    expect([stat.uid, stat.gid]).toEqual([process.getuid?.(), process.getgid?.()]);
  });

  it("a truncated tar → 400 whose cause is node-tar's own error, for the log", async () => {
    const file = await rawTar([CONFIG, { path: "context/a", size: 5000, body: "short" }]);
    await expect(unpackBuildContext(file, join(work, "dest"))).rejects.toMatchObject({
      status: 400,
      cause: expect.objectContaining({ message: expect.stringMatching(/truncated|unexpected end/i) }),
    });
  });

  it("a context file over 64 KB → extracted: the 64 KB cap is the config's only", async () => {
    const big = "x".repeat(64 * 1024 + 1);
    const file = await rawTar([CONFIG, { path: "context/big", body: big }]);
    const { contextDir } = await unpackBuildContext(file, join(work, "dest"));
    expect(await readFile(join(contextDir, "big"), "utf8")).toBe(big);
  });

  it("only context/ is written to destDir, never the config file", async () => {
    const file = await rawTar([CONFIG, { path: "context/a", body: "x" }]);
    await unpackBuildContext(file, join(work, "dest"));
    expect(await readdir(join(work, "dest"))).toEqual(["context"]);
  });
});

describe("packBuildContext: what it writes", () => {
  it("a deploy spec → carried in the config, read back by both readers", async () => {
    const context = await sampleContext();
    const tarFile = join(work, "fn.tar");
    const deploy = { name: "alex--fn", labels: { a: "b" } };
    await packBuildContext(context, { ref: "reg/fn:1", deploy }, tarFile);
    expect((await unpackBuildContext(tarFile, join(work, "out"))).config).toEqual({
      ref: "reg/fn:1",
      buildArgs: {},
      deploy,
    });
    expect(await readBuildConfig(await readFile(tarFile))).toEqual({ ref: "reg/fn:1", buildArgs: {}, deploy });
  });

  it("a symlink whose target is over the ustar 100 characters → the same target back", async () => {
    const context = join(work, "ctx");
    await mkdir(context);
    const target = `${"t".repeat(120)}/file`;
    await symlink(target, join(context, "far"));
    await packBuildContext(context, { ref: "reg/fn:1" }, join(work, "fn.tar"));
    const { contextDir } = await unpackBuildContext(join(work, "fn.tar"), join(work, "out")).catch(() => ({
      contextDir: "",
    }));
    // The dangling target stays inside context/, so unpacking keeps it as written.
    expect(contextDir).not.toBe("");
    expect(await readlink(join(contextDir, "far"))).toBe(target);
  });

  it("entries in sorted order whatever order they were created in", async () => {
    const context = join(work, "ctx");
    await mkdir(context);
    // 26 names created in a scrambled order, so a file system's own order (creation, reverse or hash) shows. Node's
    // readdir already sorts (libuv sorts by bytes), so two names its byte order and the packer's sort (UTF-16 code
    // units) put the other way round: U+FF61 is EF BD A1 in UTF-8 but a surrogate pair sorts first in UTF-16.
    const names = [
      ...Array.from({ length: 26 }, (_, i) => String.fromCharCode(97 + ((i * 7) % 26))),
      "\uff61",
      "\u{1F600}",
    ];
    for (const name of names) await writeFile(join(context, name), name);
    await packBuildContext(context, { ref: "reg/fn:1" }, join(work, "fn.tar"));
    const seen: string[] = [];
    await list({ file: join(work, "fn.tar"), onReadEntry: (e) => seen.push(e.path) });
    expect(seen).toEqual(["com.openfaas.docker.config", "context/", ...[...names].sort().map((n) => `context/${n}`)]);
  });

  it("a file name over ustar's 100 characters → a PAX record, the same name back", async () => {
    const context = join(work, "ctx");
    await mkdir(context);
    const name = `${"n".repeat(140)}.js`;
    await writeFile(join(context, name), "long\n");
    await packBuildContext(context, { ref: "reg/fn:1" }, join(work, "fn.tar"));
    const { contextDir } = await unpackBuildContext(join(work, "fn.tar"), join(work, "out"));
    expect(await readdir(contextDir)).toEqual([name]);
    expect(await readFile(join(contextDir, name), "utf8")).toBe("long\n");
  });

  it("ends in the two zero blocks that mark the end of a tar, on a block boundary", async () => {
    const context = join(work, "ctx");
    await mkdir(context);
    await writeFile(join(context, "f"), "x".repeat(700));
    await packBuildContext(context, { ref: "reg/fn:1" }, join(work, "fn.tar"));
    const bytes = await readFile(join(work, "fn.tar"));
    expect(bytes.length % 512).toBe(0);
    expect(bytes.subarray(-1024).equals(Buffer.alloc(1024))).toBe(true);
    // The block before them is the file's data (700 bytes: one full block, then 188 and padding).
    expect(bytes.subarray(-1536, -1536 + 188).toString()).toBe("x".repeat(188));
  });

  it("closes the tar file it wrote, after a success and after a refusal", async () => {
    const openFiles = async () => (await readdir("/proc/self/fd")).length;
    const context = await sampleContext();
    const before = await openFiles();
    for (let i = 0; i < 5; i++) await packBuildContext(context, { ref: "reg/fn:1" }, join(work, `ok${i}.tar`));
    expect(await openFiles()).toBe(before);
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(join(context, "sock"), resolve));
    const withSocket = await openFiles();
    try {
      for (let i = 0; i < 5; i++) {
        await expect(packBuildContext(context, { ref: "reg/fn:1" }, join(work, `no${i}.tar`))).rejects.toThrow(
          /not a regular file/,
        );
      }
      expect(await openFiles()).toBe(withSocket);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("a socket in the context → 400 naming it, as it is no file, folder or symlink", async () => {
    const context = join(work, "ctx");
    await mkdir(context);
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(join(context, "sock"), resolve));
    try {
      await expect(packBuildContext(context, { ref: "reg/fn:1" }, join(work, "fn.tar"))).rejects.toMatchObject({
        status: 400,
        message: "context/sock is not a regular file, folder or symlink",
      });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe("batched: the packer's writes, gathered into batches of about 1 MiB", () => {
  const MIB = 1024 * 1024;
  function recorder() {
    const batches: number[][] = [];
    const sink = batched({
      writev: (buffers) => {
        batches.push(buffers.map((b) => b.byteLength));
        return Promise.resolve({ bytesWritten: 0, buffers });
      },
    });
    return { sink, batches };
  }

  it("keeps writes until they reach 1 MiB, then writes them in one call", async () => {
    const { sink, batches } = recorder();
    await sink.write(Buffer.alloc(MIB - 1));
    await sink.write(Buffer.alloc(0));
    expect(batches).toEqual([]);
    await sink.write(Buffer.alloc(1));
    expect(batches).toEqual([[MIB - 1, 0, 1]]);
  });

  it("a batch starts empty after each write-out, and flush writes what is left", async () => {
    const { sink, batches } = recorder();
    await sink.write(Buffer.alloc(MIB));
    await sink.write(Buffer.alloc(10));
    await sink.write(Buffer.alloc(MIB - 11));
    expect(batches).toEqual([[MIB]]);
    await sink.write(Buffer.alloc(1));
    expect(batches).toEqual([[MIB], [10, MIB - 11, 1]]);
    await sink.write(Buffer.alloc(5));
    await sink.flush();
    expect(batches).toEqual([[MIB], [10, MIB - 11, 1], [5]]);
  });
});

describe("readBuildConfig (buildshiprun: the config only, from a tar in memory)", () => {
  it("a packed build tar → its ref and buildArgs, the context entries after it skipped", async () => {
    const tarFile = join(work, "fn.tar");
    await packBuildContext(await sampleContext(), { ref: "reg/fn:1", buildArgs: { GO111MODULE: "on" } }, tarFile);
    expect(await readBuildConfig(await readFile(tarFile))).toEqual({
      ref: "reg/fn:1",
      buildArgs: { GO111MODULE: "on" },
    });
  });

  it("a config of exactly 64 KB → read; one byte more → 400", async () => {
    const exact = await readFile(await rawTar([{ ...CONFIG, body: configOfSize(64 * 1024) }]));
    expect((await readBuildConfig(exact)).ref).toBe("reg/fn:1");
    const over = await readFile(await rawTar([{ ...CONFIG, body: configOfSize(64 * 1024 + 1) }]));
    await expect(readBuildConfig(over)).rejects.toMatchObject({
      status: 400,
      message: "com.openfaas.docker.config is over 64 KB",
    });
  });

  it("no config → 400; a config that is not JSON → 400", async () => {
    const none = await readFile(await rawTar([{ path: "context/a", body: "x" }]));
    await expect(readBuildConfig(none)).rejects.toMatchObject({
      status: 400,
      message: "the tar has no com.openfaas.docker.config",
    });
  });

  it("bytes that are not a tar → 400 'not a build tar'", async () => {
    await expect(readBuildConfig(Buffer.alloc(2048, 0x41))).rejects.toMatchObject({
      status: 400,
      message: expect.stringMatching(/^not a build tar: /),
    });
  });
});
