import { createHash } from "node:crypto";
import * as fs from "node:fs";
import { cp, lstat, mkdir, mkdtemp, readdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import git, { type HttpClient } from "isomorphic-git";
import nodeHttp from "isomorphic-git/http/node";
import type { Logger } from "pino";
import { HttpError } from "../../shared/http-error.js";

/** Where a template repo was last seen: its HEAD commit, checked out (read-only from then on) in `dir`. */
interface Checkout {
  commit: string;
  dir: string;
  checkedAt: number;
}

export interface TemplateStoreDeps {
  /** Clones go in `<cacheDir>/<hash of url>/<commit>`, merged sets in `<cacheDir>/merged/<hash of commits>`. */
  cacheDir: string;
  /** How long a clone is used before asking the remote whether HEAD moved; default 5 minutes. */
  refreshMs?: number;
  now: () => number;
  http?: HttpClient;
  log: Logger;
}

/** Template repos, cached; see {@link createTemplateStore}. */
export interface TemplateStore {
  /** A folder holding the `<lang>/` templates of every URL, later URLs overriding earlier ones. */
  pull(urls: string[]): Promise<string>;
}

const hash = (text: string) => createHash("sha256").update(text).digest("hex").slice(0, 24);
const exists = async (path: string) => (await lstat(path).catch(() => undefined)) !== undefined;

/** Moves a finished temp folder to `dest`; if another pull got there first, keeps theirs (same content). */
async function publish(temp: string, dest: string): Promise<void> {
  try {
    await rename(temp, dest);
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    if (!(await exists(dest))) throw error;
  }
}

/** Default template repo plus the operator's `custom_templates` (original-spec §4 step 10). */
export function parseTemplateUrls(templatesUrl: string, customTemplates: string): string[] {
  const custom = customTemplates
    .split(",")
    .map((entry) => entry.trim())
    // Unlike the original, a trailing comma is not an error.
    .filter((entry) => entry !== "");
  for (const repo of custom) {
    let url: URL | undefined;
    try {
      url = new URL(repo);
    } catch {
      url = undefined;
    }
    if (url?.protocol !== "http:" && url?.protocol !== "https:") {
      throw new HttpError(400, `Non-valid template URL is configured in custom_templates: ${repo}`);
    }
  }
  return [templatesUrl.trim(), ...custom];
}

/**
 * faas-cli's `template pull`, cached: each repo is shallow-cloned once per HEAD commit and only asked for its HEAD
 * again after `refreshMs`; concurrent pulls share one fetch. Results are immutable folders keyed by the commits,
 * so a build reading one is never disturbed by a later refresh.
 */
export function createTemplateStore(deps: TemplateStoreDeps): TemplateStore {
  const refreshMs = deps.refreshMs ?? 5 * 60 * 1000;
  const http = deps.http ?? nodeHttp;
  const known = new Map<string, Checkout>();
  const inflight = new Map<string, Promise<Checkout>>();
  const merging = new Map<string, Promise<string>>();

  async function clone(url: string, base: string): Promise<string> {
    await mkdir(base, { recursive: true });
    const temp = await mkdtemp(join(base, ".clone-"));
    try {
      await git.clone({ fs, http, dir: temp, url, depth: 1, singleBranch: true, noTags: true });
      const commit = await git.resolveRef({ fs, dir: temp, ref: "HEAD" });
      await publish(temp, join(base, commit));
      return commit;
    } catch (error) {
      await rm(temp, { recursive: true, force: true });
      throw error;
    }
  }

  async function refresh(url: string): Promise<Checkout> {
    const base = join(deps.cacheDir, hash(url));
    // Protocol v1: one GET of info/refs, where v2 takes a capability round trip first.
    const refs = await git.listServerRefs({ http, url, prefix: "HEAD", protocolVersion: 1 });
    let commit = refs.find((ref) => ref.ref === "HEAD")?.oid;
    if (!commit) throw new Error("the repository has no HEAD");
    // HEAD did not move since a clone we already hold: no fetch.
    if (!(await exists(join(base, commit)))) {
      commit = await clone(url, base);
      deps.log.info({ url, commit }, "template repository fetched");
    }
    const checkout = { commit, dir: join(base, commit), checkedAt: deps.now() };
    known.set(url, checkout);
    return checkout;
  }

  async function checkout(url: string): Promise<Checkout> {
    const last = known.get(url);
    if (last && deps.now() - last.checkedAt < refreshMs) return last;
    let pending = inflight.get(url);
    if (!pending) {
      pending = refresh(url).finally(() => inflight.delete(url));
      inflight.set(url, pending);
    }
    try {
      return await pending;
    } catch (error) {
      if (!last) throw error;
      // The copy we hold still builds; the next pull asks again.
      deps.log.warn({ err: error, url }, "template repository refresh failed, using the cached commit");
      return last;
    }
  }

  async function merge(checkouts: Checkout[]): Promise<string> {
    const root = join(deps.cacheDir, "merged");
    const dest = join(root, hash(checkouts.map((c) => c.dir).join("\n")));
    if (await exists(dest)) return dest;
    await mkdir(root, { recursive: true });
    const temp = await mkdtemp(join(root, ".merge-"));
    try {
      for (const { dir } of checkouts) {
        const templates = join(dir, "template");
        const langs = await readdir(templates, { withFileTypes: true }).catch(() => []);
        for (const lang of langs.filter((entry) => entry.isDirectory())) {
          // faas-cli's --overwrite: a later repo's <lang> replaces an earlier one's whole.
          await rm(join(temp, lang.name), { recursive: true, force: true });
          await cp(join(templates, lang.name), join(temp, lang.name), { recursive: true, verbatimSymlinks: true });
        }
      }
      await publish(temp, dest);
      return dest;
    } catch (error) {
      await rm(temp, { recursive: true, force: true });
      throw error;
    }
  }

  return {
    async pull(urls) {
      const results = await Promise.allSettled(urls.map((url) => checkout(url)));
      const failures = results.flatMap((result, i) =>
        result.status === "rejected" ? [`${urls[i]}, ${(result.reason as Error).message}`] : [],
      );
      // One line per repo, as the original joined them (original-spec §4 step 10).
      if (failures.length > 0) throw new Error(failures.join("\n"));
      const checkouts = results.map((result) => (result as PromiseFulfilledResult<Checkout>).value);
      const key = checkouts.map((c) => c.dir).join("\n");
      let pending = merging.get(key);
      if (!pending) {
        pending = merge(checkouts).finally(() => merging.delete(key));
        merging.set(key, pending);
      }
      return pending;
    },
  };
}
