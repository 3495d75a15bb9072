import { createHash } from "node:crypto";
import * as fs from "node:fs";
import { cp, lstat, mkdir, mkdtemp, readdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import git, { type HttpClient } from "isomorphic-git";
import nodeHttp from "isomorphic-git/http/node";
import type { Logger } from "pino";
import { HttpError, isHttpError } from "../../shared/http-error.js";
import type { StackTemplate } from "./stack-templates.js";

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
  /**
   * A folder holding the `<lang>/` templates of every URL, later URLs overriding earlier ones, then each of
   * `fromStack` (a stack's configuration.templates) as `<name>/`, replacing the operator's of that name.
   */
  pull(urls: string[], fromStack?: readonly StackTemplate[]): Promise<string>;
}

/** One source of a merged set: every template of `dir`, or only `only`. */
interface Layer {
  checkout: Checkout;
  only?: string;
  url: string;
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

  async function clone(url: string, base: string, ref: string | undefined): Promise<string> {
    await mkdir(base, { recursive: true });
    const temp = await mkdtemp(join(base, ".clone-"));
    try {
      await git.clone({
        fs,
        http,
        dir: temp,
        url,
        ...(ref ? { ref } : {}),
        depth: 1,
        singleBranch: true,
        noTags: true,
      });
      const commit = await git.resolveRef({ fs, dir: temp, ref: "HEAD" });
      await publish(temp, join(base, commit));
      return commit;
    } catch (error) {
      await rm(temp, { recursive: true, force: true });
      throw error;
    }
  }

  /** The commit `ref` (a branch, else a tag, as `git clone --branch` takes it) or HEAD names on the remote. */
  async function remoteCommit(url: string, ref: string | undefined): Promise<string> {
    // Protocol v1: one GET of info/refs, where v2 takes a capability round trip first.
    const refs = await git.listServerRefs({
      http,
      url,
      prefix: ref ? "refs/" : "HEAD",
      protocolVersion: 1,
      peelTags: true,
    });
    const wanted = ref ? [`refs/heads/${ref}`, `refs/tags/${ref}`] : ["HEAD"];
    for (const name of wanted) {
      const found = refs.find((r) => r.ref === name);
      if (found) return found.peeled ?? found.oid;
    }
    // A ref only comes from a stack's configuration.templates: naming one the source lacks is the user's to fix.
    if (ref) throw new HttpError(400, `${url} has no branch or tag ${ref}`);
    throw new Error("the repository has no HEAD");
  }

  async function refresh(url: string, ref: string | undefined, key: string): Promise<Checkout> {
    const base = join(deps.cacheDir, hash(url));
    let commit = await remoteCommit(url, ref);
    // The ref did not move since a clone we already hold: no fetch.
    if (!(await exists(join(base, commit)))) {
      commit = await clone(url, base, ref);
      deps.log.info({ url, ref, commit }, "template repository fetched");
    }
    const checkout = { commit, dir: join(base, commit), checkedAt: deps.now() };
    known.set(key, checkout);
    return checkout;
  }

  async function checkout(url: string, ref?: string): Promise<Checkout> {
    const key = ref === undefined ? url : `${url}#${ref}`;
    const last = known.get(key);
    if (last && deps.now() - last.checkedAt < refreshMs) return last;
    let pending = inflight.get(key);
    if (!pending) {
      pending = refresh(url, ref, key).finally(() => inflight.delete(key));
      inflight.set(key, pending);
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

  async function merge(key: string, layers: Layer[]): Promise<string> {
    const root = join(deps.cacheDir, "merged");
    const dest = join(root, hash(key));
    if (await exists(dest)) return dest;
    await mkdir(root, { recursive: true });
    const temp = await mkdtemp(join(root, ".merge-"));
    try {
      for (const {
        checkout: { dir },
        only,
        url,
      } of layers) {
        const templates = join(dir, "template");
        const langs = await readdir(templates, { withFileTypes: true }).catch(() => []);
        const picked = langs.filter((entry) => entry.isDirectory() && (only === undefined || entry.name === only));
        // faas-cli writes nothing then, and the build fails on the missing template: say where it was looked for.
        if (only !== undefined && picked.length === 0)
          throw new HttpError(400, `configuration.templates ${JSON.stringify(only)}: ${url} has no template/${only}`);
        for (const lang of picked) {
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
    async pull(urls, fromStack = []) {
      const wanted: Array<{ url: string; ref?: string; only?: string }> = [
        ...urls.map((url) => ({ url })),
        ...fromStack.map((t) => ({ url: t.url, ref: t.ref, only: t.name })),
      ];
      const results = await Promise.allSettled(wanted.map(({ url, ref }) => checkout(url, ref)));
      const refused = results.findIndex(
        (r) => r.status === "rejected" && isHttpError(r.reason) && r.reason.status < 500,
      );
      if (refused >= 0) {
        const { message } = (results[refused] as PromiseRejectedResult).reason as HttpError;
        throw new HttpError(400, `configuration.templates ${JSON.stringify(wanted[refused]!.only)}: ${message}`);
      }
      const failures = results.flatMap((result, i) =>
        result.status === "rejected" ? [`${wanted[i]!.url}, ${(result.reason as Error).message}`] : [],
      );
      // One line per repo, as the original joined them (original-spec §4 step 10).
      if (failures.length > 0) throw new Error(failures.join("\n"));
      const layers = results.map((result, i) => ({
        checkout: (result as PromiseFulfilledResult<Checkout>).value,
        url: wanted[i]!.url,
        ...(wanted[i]!.only !== undefined ? { only: wanted[i]!.only } : {}),
      }));
      // The operator's sets are keyed by their folders alone, as before; a stack's templates add "<name>=<folder>".
      const key = layers.map((l) => (l.only === undefined ? l.checkout.dir : `${l.only}=${l.checkout.dir}`)).join("\n");
      let pending = merging.get(key);
      if (!pending) {
        pending = merge(key, layers).finally(() => merging.delete(key));
        merging.set(key, pending);
      }
      return pending;
    },
  };
}
