import { HttpError } from "../../shared/http-error.js";
import type { Stack } from "../../shared/stack.js";

/** A template a stack's `configuration.templates` names: `template/<name>` of `url` at `ref` (its HEAD if none). */
export interface StackTemplate {
  name: string;
  url: string;
  ref?: string;
}

// A template name is a folder of the templates dir, as readTemplate takes a lang.
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
// A branch or tag name, roughly git check-ref-format's rules: no "..", no leading "-" or "/", no ".lock" end.
const REF = /^(?!-)(?!\/)(?!.*\.\.)(?!.*\/\/)(?!.*\.lock$)(?!.*\/$)[A-Za-z0-9._/-]{1,200}$/;

/** The repository a URL names, for comparing: no trailing "/" or ".git"; `undefined` unless a plain http(s) URL. */
function repositoryOf(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return undefined;
  // Credentials, a query or a fragment have no place in a template repository's address.
  if (url.username || url.password || url.search || url.hash) return undefined;
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, "").replace(/\.git$/, "")}`;
}

/**
 * template_sources_allowed: comma-separated repository URLs, or prefixes ending in "/" (`https://github.com/acme/`
 * allows every repository of acme); empty means the operator's own template URLs only. A malformed entry throws.
 */
export function parseAllowedSources(setting: string, templateUrls: readonly string[]): string[] {
  const entries = setting
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "");
  for (const entry of entries) {
    if (!repositoryOf(entry))
      throw new HttpError(400, `template_sources_allowed: expected http(s) repository URLs, got ${entry}`);
  }
  return entries.length > 0 ? entries : [...templateUrls];
}

function allowed(url: string, allowList: readonly string[]): boolean {
  const repository = repositoryOf(url);
  if (!repository) return false;
  return allowList.some((entry) => {
    const listed = repositoryOf(entry);
    // A prefix ends at a "/": https://github.com/acme/ does not allow https://github.com/acme-evil/x.
    return entry.endsWith("/") ? `${repository}/`.startsWith(`${listed}/`) : listed === repository;
  });
}

/**
 * The `configuration.templates` entries git-tar pulls for `stack`, as `faas-cli build` does (issue #17): for each
 * lang a function uses, the first entry of that name with a `source` (`<git URL>[#<branch or tag>]`). An entry
 * without a source names a template of the operator's set, as faas-cli then pulls from its store; an entry no
 * function uses is not fetched. A source off `allowList` (template_sources_allowed) is refused with a 400 naming it.
 */
export function stackTemplates(stack: Stack, allowList: readonly string[]): StackTemplate[] {
  const langs = new Set(stack.functions.map((fn) => fn.lang));
  const result: StackTemplate[] = [];
  for (const lang of langs) {
    const entry = stack.configuration.templates.find((t) => t.name === lang);
    if (!entry?.source) continue;
    const shown = `configuration.templates ${JSON.stringify(entry.name)}`;
    if (!NAME.test(entry.name)) throw new HttpError(400, `${shown}: the name must be a plain template name`);
    const hash = entry.source.indexOf("#");
    const url = hash < 0 ? entry.source : entry.source.slice(0, hash);
    const ref = hash < 0 ? undefined : entry.source.slice(hash + 1);
    if (!allowed(url, allowList)) {
      // The setting first: a commit status keeps 140 characters, and a long URL must not push it out.
      throw new HttpError(400, `${shown}: source not in template_sources_allowed: ${url}`);
    }
    if (ref?.startsWith("sha-"))
      throw new HttpError(400, `${shown}: a commit (#${ref}) is not supported: name a branch or tag`);
    if (ref !== undefined && !REF.test(ref))
      throw new HttpError(400, `${shown}: #${ref} is not a valid branch or tag name`);
    // Cloned as URL normalised it (dot segments gone), the address the allow-list was checked against.
    result.push({ name: entry.name, url: new URL(url).href, ...(ref !== undefined ? { ref } : {}) });
  }
  return result;
}
