import { chmod, copyFile, lstat, mkdir, readdir, readFile, readlink, realpath, rm, symlink } from "node:fs/promises";
import { dirname, join, relative, resolve, sep } from "node:path";
import { parse } from "yaml";
import { z } from "zod";
import { HttpError } from "../../shared/http-error.js";
import { isInside, resolveInside } from "../../shared/repo-path.js";
import type { StackFunction } from "../../shared/stack.js";

const TemplateSchema = z.object({
  language: z.string().optional(),
  fprocess: z.string().optional(),
  handler_folder: z.string().optional(),
  build_options: z.array(z.object({ name: z.string(), packages: z.array(z.string()).default([]) })).optional(),
});

/** A template's template.yml, the fields faas-cli reads (anchors §B "Templates"). */
export type LanguageTemplate = z.infer<typeof TemplateSchema> & { language: string };

// A lang names a folder of the templates dir: never a path.
const LANG = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const SKIPPED = new Set(["build", "template"]);

function unknownLang(lang: string, fn?: string): HttpError {
  // original-spec §4 step 11, verbatim.
  const suffix = fn === undefined ? "" : ` for function: \`${fn}\``;
  return new HttpError(400, `missing language template: Not supported language: \`${lang}\`${suffix}`);
}

/** Reads `templatesDir/<lang>/template.yml`; an unknown lang is a 400 with the original's text. */
export async function readTemplate(templatesDir: string, lang: string, fn?: string): Promise<LanguageTemplate> {
  if (!LANG.test(lang)) throw unknownLang(lang, fn);
  const dir = join(templatesDir, lang);
  if (!(await lstat(dir).catch(() => undefined))?.isDirectory()) throw unknownLang(lang, fn);
  let text: string;
  try {
    text = await readFile(join(dir, "template.yml"), "utf8");
  } catch {
    throw new HttpError(400, `template ${JSON.stringify(lang)} has no template.yml`);
  }
  const parsed = TemplateSchema.safeParse(parse(text) ?? {});
  if (!parsed.success) throw new HttpError(400, `template ${JSON.stringify(lang)}: template.yml is not valid`);
  return { ...parsed.data, language: parsed.data.language ?? lang };
}

/**
 * The build args sent to the builder: `fn.buildArgs` plus `ADDITIONAL_PACKAGE`, the packages of the function's
 * `build_options` (then any `ADDITIONAL_PACKAGE` build arg) joined with spaces, de-duplicated, as faas-cli does.
 * Only keys in `allowed` are kept: git-tar allows `ADDITIONAL_PACKAGE` and the original's `GO111MODULE`
 * (original-spec §4 step 13), so a stack cannot set, say, a template's base image.
 */
export function buildArgsFor(
  fn: StackFunction,
  template: LanguageTemplate,
  allowed: readonly string[],
): Record<string, string> {
  const packages: string[] = [];
  for (const option of fn.buildOptions) {
    const found = template.build_options?.find((o) => o.name === option);
    if (!found) {
      throw new HttpError(
        400,
        `You're using a build option unavailable for ${fn.lang}. Please check /template/${fn.lang}/template.yml for supported build options`,
      );
    }
    packages.push(...found.packages);
  }
  packages.push(...(fn.buildArgs.ADDITIONAL_PACKAGE ?? "").split(" "));
  const merged: Record<string, string> = { ...fn.buildArgs };
  const unique = [...new Set(packages.filter((p) => p !== ""))];
  if (unique.length > 0) merged.ADDITIONAL_PACKAGE = unique.join(" ");
  else delete merged.ADDITIONAL_PACKAGE;
  return Object.fromEntries(Object.entries(merged).filter(([key]) => allowed.includes(key)));
}

interface Copy {
  fn: string;
  /** Symlinks must not point outside this folder (the repo, or the template). */
  root: string;
  rootName: string;
  /**
   * The repo's symlinks are followed, their targets copied as faas-cli's copy does (issue #17): a link out of the
   * handler folder would dangle in the image. The template's stay links: they only point within the template.
   */
  follow: boolean;
  /** The real folders being copied, outermost first: a followed link to one of them (or above) is a loop. */
  open: string[];
  /** The real outDir: never copied into itself (`handler: .`, `copy: [.]`). */
  outDir: string;
  budget: { bytes: number; files: number; maxBytes: number; maxFiles: number };
  signal?: AbortSignal;
}

function count(copy: Copy, bytes: number): void {
  const b = copy.budget;
  b.files += 1;
  b.bytes += bytes;
  if (b.files > b.maxFiles)
    throw new HttpError(400, `function "${copy.fn}": the build context is over ${b.maxFiles} files`);
  if (b.bytes > b.maxBytes)
    throw new HttpError(400, `function "${copy.fn}": the build context is over ${b.maxBytes} bytes`);
}

/** Removes whatever is at `dest` unless it is a real folder, so nothing is ever written through a symlink. */
async function clear(dest: string, keepFolder: boolean): Promise<void> {
  const existing = await lstat(dest).catch(() => undefined);
  // Only what lstat just found is removed: no `force` (ignore a missing path) needed.
  if (existing && !(keepFolder && existing.isDirectory())) await rm(dest, { recursive: true });
}

/** Creates `dir` below `outDir` one level at a time, refusing to go through anything but real folders. */
async function makeDir(dir: string, outDir: string, what: string): Promise<void> {
  let at = outDir;
  // relative() is "" only for outDir itself, and join(outDir, "") is outDir: no empty part to skip.
  for (const part of relative(outDir, dir).split(sep)) {
    at = join(at, part);
    const stat = await lstat(at).catch(() => undefined);
    if (!stat) await mkdir(at);
    else if (!stat.isDirectory()) {
      throw new HttpError(
        400,
        `${what} would be written through ${JSON.stringify(relative(outDir, at))}, not a folder`,
      );
    }
  }
}

/**
 * Copies `src` to `dest`. A symlink must stay inside `copy.root`; with `copy.follow` its target is copied in its place
 * (a dangling one stays a link, as git checked it out), else the link itself.
 */
async function copyTree(src: string, dest: string, copy: Copy): Promise<void> {
  if (src === copy.outDir) return;
  // Checked between entries: a push whose caller gave up stops copying (issue #10).
  copy.signal?.throwIfAborted();
  const stat = await lstat(src);
  // Stryker disable next-line StringLiteral: "" only for the root, a real folder (realpath) no refusal below names
  const rel = relative(copy.root, src) || ".";
  if (stat.isSymbolicLink()) {
    const target = await readlink(src);
    const lexical = resolve(dirname(src), target);
    const real = await realpath(lexical).catch(() => lexical);
    if (!isInside(copy.root, lexical) || !isInside(copy.root, real)) {
      throw new HttpError(400, `function "${copy.fn}": ${rel} is a symlink that leaves the ${copy.rootName}`);
    }
    const followed = copy.follow ? await lstat(real).catch(() => undefined) : undefined;
    if (followed) {
      // A link to a folder being copied (the one holding it, or above) would copy itself forever, as faas-cli's does.
      if (copy.open.some((dir) => isInside(real, dir)))
        throw new HttpError(400, `function "${copy.fn}": ${rel} is a symlink loop: it points at a folder holding it`);
      // realpath: the target is no link, and its own links resolve from where it really is.
      return copyTree(real, dest, copy);
    }
    count(copy, 0);
    await clear(dest, false);
    await symlink(target, dest);
  } else if (stat.isDirectory()) {
    count(copy, 0);
    await clear(dest, true);
    await mkdir(dest, { recursive: true });
    copy.open.push(src);
    // Stryker disable next-line MethodExpression: libuv's scandir already lists names sorted; this keeps it explicit
    for (const name of (await readdir(src)).sort()) await copyTree(join(src, name), join(dest, name), copy);
    copy.open.pop();
    // After the children: a read-only folder must still be filled first.
    await chmod(dest, stat.mode & 0o777);
  } else if (stat.isFile()) {
    count(copy, stat.size);
    await clear(dest, false);
    await copyFile(src, dest);
    await chmod(dest, stat.mode & 0o777);
  } else {
    throw new HttpError(400, `function "${copy.fn}": ${rel} is not a regular file, folder or symlink`);
  }
}

/** Refuses an outDir inside the repo that is reached through a committed symlink (`build -> /`), before wiping it. */
async function checkOutDir(repoDir: string, outDir: string, fn: string): Promise<void> {
  const base = resolve(repoDir);
  let at = base;
  if (!isInside(base, resolve(outDir))) return;
  // relative() is "" only for the repo itself, and join(base, "") is base, a folder: no empty part to skip.
  for (const part of relative(base, resolve(outDir)).split(sep)) {
    at = join(at, part);
    const stat = await lstat(at).catch(() => undefined);
    if (!stat) return;
    if (!stat.isDirectory()) throw new HttpError(400, `function "${fn}": ${relative(base, at)} is not a folder`);
  }
}

/** Options of {@link shrinkwrap}. */
export interface ShrinkwrapOptions {
  repoDir: string;
  /** Holds `<lang>/` folders, each with a template.yml. */
  templatesDir: string;
  fn: StackFunction;
  /** The stack's `configuration.copy`. */
  copy: string[];
  /** `build/<fn>`: wiped, then created. */
  outDir: string;
  /** Caps on what is copied in all; defaults 100 MB and 10,000 entries. */
  maxBytes?: number;
  maxFiles?: number;
  /** Stops the copy between two entries; it then rejects with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * `faas-cli build --shrinkwrap` for one function (anchors §B): the template, then the handler's entries (bar
 * `build` and `template`) under its handler folder, then `configuration.copy`. Every path the repo names must stay
 * inside it; symlinks are never followed.
 */
export async function shrinkwrap(options: ShrinkwrapOptions): Promise<void> {
  const { fn, templatesDir } = options;
  const template = await readTemplate(templatesDir, fn.lang, fn.name);
  const root = await realpath(options.repoDir);
  const handler = await resolveInside(root, fn.handler, `function "${fn.name}": handler`);
  if (!(await lstat(handler)).isDirectory()) {
    throw new HttpError(400, `function "${fn.name}": handler ${JSON.stringify(fn.handler)} is not a folder`);
  }
  const copies = await Promise.all(
    options.copy.map(async (path) => {
      const real = await resolveInside(root, path, `function "${fn.name}": configuration.copy`);
      return { real, rel: relative(root, resolve(root, path)) };
    }),
  );

  await checkOutDir(options.repoDir, options.outDir, fn.name);
  await rm(options.outDir, { recursive: true, force: true });
  await mkdir(options.outDir, { recursive: true });
  const outDir = await realpath(options.outDir);
  const budget = {
    bytes: 0,
    files: 0,
    maxBytes: options.maxBytes ?? 100 * 1024 * 1024,
    maxFiles: options.maxFiles ?? 10_000,
  };
  const fromRepo: Copy = {
    fn: fn.name,
    root,
    rootName: "repository",
    follow: true,
    open: [],
    outDir,
    budget,
    signal: options.signal,
  };

  // faas-cli treats "dockerfile" in any case as the Dockerfile lang (its template folder must still exist).
  const dockerfile = fn.lang.toLowerCase() === "dockerfile";
  let dest = outDir;
  if (!dockerfile) {
    const templateDir = await realpath(join(templatesDir, fn.lang));
    const fromTemplate: Copy = { ...fromRepo, root: templateDir, rootName: "template", follow: false };
    // Stryker disable next-line MethodExpression: libuv's scandir already lists names sorted; this keeps it explicit
    for (const name of (await readdir(templateDir)).sort()) {
      await copyTree(join(templateDir, name), join(outDir, name), fromTemplate);
    }
    dest = resolve(outDir, template.handler_folder ?? "function");
    if (!isInside(outDir, dest)) {
      throw new HttpError(400, `template ${JSON.stringify(fn.lang)}: handler_folder leaves the build context`);
    }
    await makeDir(dest, outDir, `template ${JSON.stringify(fn.lang)}: handler_folder`);
  }
  // The handler folder is being copied: a link in it to it is a loop.
  fromRepo.open.push(handler);
  // Stryker disable next-line MethodExpression: libuv's scandir already lists names sorted; this keeps it explicit
  for (const name of (await readdir(handler)).sort()) {
    if (!SKIPPED.has(name)) await copyTree(join(handler, name), join(dest, name), fromRepo);
  }
  fromRepo.open.pop();
  for (const { real, rel } of copies) {
    await makeDir(dirname(join(dest, rel)), outDir, `function "${fn.name}": configuration.copy ${JSON.stringify(rel)}`);
    await copyTree(real, join(dest, rel), fromRepo);
  }
  if (dockerfile && !(await lstat(join(outDir, "Dockerfile")).catch(() => undefined))?.isFile()) {
    throw new HttpError(
      400,
      `function "${fn.name}": lang ${fn.lang} needs a Dockerfile in its handler folder ${JSON.stringify(fn.handler)}`,
    );
  }
}
