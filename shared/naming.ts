import { createHash } from "node:crypto";
import { z } from "zod";
import { HttpError } from "./http-error.js";

// Tenant names (DESIGN §5, issues #10 and #19): `<owner>--<name>`, where the owner is a GitHub login or a GitLab owner
// key (`gitlabOwner` below: `<slug>-<h8>--gl`). Why distinct (owner, name) pairs never share a deployed name:
// - a GitHub login never contains "--" (only single hyphens), stack names may not either, and no system function or
//   secret has "--" in its name: a GitHub name has exactly one "--", so it decodes to its pair, and no tenant can name
//   a system function or secret (`github`+`event` is `github--event`, never `github-event`);
// - a GitLab key holds exactly one "--", the one before its final `gl`: a GitLab main name `<key>--<fn>` has exactly
//   two, with `gl` between them, so it never equals a GitHub main name (one) nor a GitHub preview
//   `<login>--<fn>--<key>` (two), since the function name `gl` is reserved (functionName refuses it);
// - GitLab keys of different namespaces differ (the hash of the full path; GitLab paths are unique case-insensitively).
// So "the owner is everything before the first --" holds for GitHub names only; nothing parses names anyway: ownership
// is by the `com.openfaas.cloud.git-owner-id` label.
const SEPARATOR = "--";
// GitHub's login rule: letters, digits and single hyphens, not at either end; case-insensitive.
const GITHUB_LOGIN = /^[a-z0-9](?:-?[a-z0-9])*$/;
// A GitLab owner key (gitlabOwner): single-hyphen letters and digits, then "--gl"; at most 40 characters.
const GITLAB_OWNER = /^[a-z0-9](?:-?[a-z0-9])*--gl$/;
const GITLAB_SUFFIX = `--gl`;
/** The function name reserved because it marks GitLab owners' names: `<login>--gl--<key>` would be ambiguous. */
const RESERVED_FUNCTION = "gl";
const GITLAB_SLUG_MAX = 20;
// DNS-1123 label: what Kubernetes (faas-netes) accepts as a function name.
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
// DNS-1123 subdomain: what Kubernetes accepts as a secret name.
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
// Registry path component and tag grammar (distribution/reference).
const REPO_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const LABEL_RULE =
  'must be a DNS-1123 label: lowercase letters, digits and "-", starting and ending with a letter or digit, at most 63 characters';
const SUBDOMAIN_RULE = 'must be a DNS-1123 subdomain: lowercase letters, digits, "-" and ".", at most 253 characters';
const NO_SEPARATOR_RULE = 'must not contain "--": it separates the owner from the name in deployed names';

// Build-log keys need no separator: `<owner>/<repo>/<sha>/<fn>/build.log` (shared/log-store.ts) joins parts that can
// never contain "/" (it validates each one), so they are already injective.

/** A name that cannot be used; a 400 whose message names the value and the rule it broke. */
function refuse(what: string, value: string, rule: string): never {
  throw new HttpError(400, `${what} ${JSON.stringify(value)} ${rule}`);
}

/**
 * The owner key of a GitLab namespace (user, group or subgroup, `group/sub`): `<slug>-<h8>--gl`, the slug being the
 * lowercased full path with every run of other characters than letters and digits turned into "-" (at most 20), and
 * h8 the first 8 hex of SHA-256 of the lowercased full path (`<h8>--gl` when the slug is empty). The hash tells apart
 * paths whose slugs agree (`a/b`, `a.b`, `a_b`); the "--gl" keeps it apart from every GitHub login (no "--").
 */
export function gitlabOwner(fullPath: string): string {
  const path = fullPath.toLowerCase();
  const hash = createHash("sha256").update(path, "utf8").digest("hex").slice(0, 8);
  const short = slug(path).slice(0, GITLAB_SLUG_MAX).replace(/-+$/, "");
  return `${short ? `${short}-${hash}` : hash}${GITLAB_SUFFIX}`;
}

/** Whether an owner (any case) is a GitLab owner key rather than a GitHub login. */
export function isGitlabOwner(owner: string): boolean {
  const name = owner.toLowerCase();
  return name.length <= 40 && GITLAB_OWNER.test(name);
}

/**
 * The owner's identity, which its functions carry as `com.openfaas.cloud.git-owner-id` (DESIGN §5): GitHub's numeric
 * account id, or `gitlab-<namespace id>` (from the GitLab API, never a payload). `String(ownerId)` never matches
 * between the two: GitHub's 42 is "42", GitLab's is "gitlab-42".
 */
export const ownerIdSchema = z.union([z.number().int().positive(), z.string().regex(/^gitlab-[1-9][0-9]*$/)]);
export type OwnerId = z.infer<typeof ownerIdSchema>;

/** A GitLab namespace's owner id: `gitlab-<namespace id>`. */
export function gitlabOwnerId(namespaceId: number): string {
  if (!Number.isSafeInteger(namespaceId) || namespaceId <= 0) {
    throw new HttpError(400, `GitLab namespace id ${JSON.stringify(namespaceId)} must be a positive whole number`);
  }
  return `gitlab-${namespaceId}`;
}

/** The owner, lowercased: a GitHub login or a GitLab owner key; a 400 naming both rules otherwise. */
function login(owner: string): string {
  const name = owner.toLowerCase();
  if (isGitlabOwner(name)) return name;
  if (name.length > 39 || !GITHUB_LOGIN.test(name)) {
    refuse(
      "owner",
      owner,
      'must be a GitHub login: 1-39 letters, digits or single hyphens, not starting or ending with one (or a GitLab owner key, "<slug>-<hash>--gl")',
    );
  }
  return name;
}

/** A stack.yml function or secret name, lowercased: matching `rule`, and without the separator. */
function tenantPart(what: string, value: string, pattern: RegExp, rule: string): string {
  const name = value.toLowerCase();
  if (name.includes(SEPARATOR)) refuse(what, value, NO_SEPARATOR_RULE);
  if (!pattern.test(name)) refuse(what, value, rule);
  return name;
}

/** The deployed function's name: `<owner>--<fn>`, lowercased (mixed-case logins broke the original, original-spec §E.2). */
export function functionName(owner: string, fn: string): string {
  if (fn.toLowerCase() === RESERVED_FUNCTION) {
    throw new HttpError(400, `function name "${fn}" is reserved: it marks GitLab owners' names`);
  }
  const name = `${login(owner)}${SEPARATOR}${tenantPart("function name", fn, DNS1123_LABEL, LABEL_RULE)}`;
  if (name.length > 63) refuse("function name", name, LABEL_RULE);
  return name;
}

/** The platform secret a stack.yml secret maps to: `<owner>--<secret>`, so no owner can mount another's or the system's. */
export function secretName(owner: string, secret: string): string {
  const name = `${login(owner)}${SEPARATOR}${tenantPart("secret name", secret, DNS1123_SUBDOMAIN, SUBDOMAIN_RULE)}`;
  if (name.length > 253) refuse("secret name", name, SUBDOMAIN_RULE);
  return name;
}

/**
 * The image a function is built into (DESIGN §5, original-spec §4 step 13): `<registry>/<owner>/<repo>--<fn>:latest-<sha7>`,
 * or `<registry>/<owner>--<repo>--<fn>:latest-<sha7>` when the registry prefix ends in "/" (one shared account). The
 * function name has no "--" and does not start with "-", so the last "--" ends the repository: injective as well.
 * A GitLab owner's shared-account image is `<key>--<repo>--<fn>` = `<slug>-<h8>--gl--<repo>--<fn>`, which a GitHub
 * owner `<slug>-<h8>` with repository `gl--<repo>` would also give: such GitHub repositories are refused there.
 */
export function imageName(pushRepositoryUrl: string, owner: string, repo: string, fn: string, sha: string): string {
  const shared = pushRepositoryUrl.endsWith("/");
  const registry = pushRepositoryUrl.replace(/\/+$/, "");
  const o = login(owner);
  const f = tenantPart("function name", fn, DNS1123_LABEL, LABEL_RULE);
  const r = repo.toLowerCase();
  if (shared && !isGitlabOwner(o) && r.startsWith(`${RESERVED_FUNCTION}${SEPARATOR}`)) {
    throw new HttpError(
      400,
      `repository name "${repo}" is reserved: a leading "gl--" marks GitLab owners' image names`,
    );
  }
  const path = shared ? `${o}${SEPARATOR}${r}${SEPARATOR}${f}` : `${o}/${r}${SEPARATOR}${f}`;
  const tag = `latest-${sha.slice(0, 7).toLowerCase()}`;
  for (const part of path.split("/")) {
    if (!REPO_COMPONENT.test(part)) {
      refuse("image path component", part, 'must be lowercase letters and digits separated by ".", "_", "__" or "-"');
    }
  }
  if (!TAG.test(tag)) refuse("image tag", tag, "must be word characters, '.' or '-', at most 128");
  const image = `${registry}/${path}:${tag}`;
  if (image.length - tag.length - 1 > 255) refuse("image name", image, "must be at most 255 characters before the tag");
  return image;
}

/** The image reference the cluster pulls: the push registry prefix swapped for repository_url (original-spec §5 step 8). */
export function deployImage(image: string, pushRepositoryUrl: string, repositoryUrl: string): string {
  const push = pushRepositoryUrl.replace(/\/+$/, "");
  const pull = repositoryUrl.replace(/\/+$/, "");
  return image.startsWith(`${push}/`) ? `${pull}${image.slice(push.length)}` : image;
}

// Previews (issue #17): a branch's deployment is `<owner>--<fn>--<key>`. Owner and function never hold "--", and the
// key (below) never does either, so the third segment cannot be mistaken for part of a main name, and a main name
// (two segments) never equals a preview name (three).
const PREVIEW_HASH_LENGTH = 10;
const PREVIEW_SLUG_MAX = 20;
// What a preview's third segment looks like: an optional slug (single hyphens) ending in "-", then the hash.
const PREVIEW_KEY = /^(?:[a-z0-9]+(?:-[a-z0-9]+)*-)?[0-9a-f]{10}$/;

/** The branch name as lowercase letters and digits joined by single "-": readable, never holding "--". */
function slug(branch: string): string {
  return branch
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "");
}

/**
 * A branch's preview key: `<slug of at most 20>-<first 10 hex of SHA-256 of the exact branch name>` (or the hash
 * alone when nothing of the name is a letter or digit). The hash tells apart branches whose slugs agree (`Feature/X`,
 * `feature-x`); at most 31 characters, a valid Kubernetes label value: the `com.openfaas.cloud.preview-branch` label.
 */
export function previewKey(branch: string): string {
  const hash = createHash("sha256").update(branch, "utf8").digest("hex").slice(0, PREVIEW_HASH_LENGTH);
  const short = slug(branch).slice(0, PREVIEW_SLUG_MAX).replace(/-+$/, "");
  return short ? `${short}-${hash}` : hash;
}

/**
 * The deployed name of function `fn`'s preview for `branch`: `<owner>--<fn>--<key>`, the key's slug shortened (never
 * its hash) to keep within the 63-character DNS-1123 label; refused when not even `<owner>--<fn>--<hash>` fits.
 */
export function previewFunctionName(owner: string, fn: string, branch: string): string {
  const main = functionName(owner, fn);
  const key = previewKey(branch);
  const hash = key.slice(-PREVIEW_HASH_LENGTH);
  const room = 63 - main.length - SEPARATOR.length;
  if (room < PREVIEW_HASH_LENGTH) {
    refuse("preview name", `${main}${SEPARATOR}${hash}`, `${LABEL_RULE}: shorten the function name for previews`);
  }
  if (key.length <= room) return `${main}${SEPARATOR}${key}`;
  const short = key.slice(0, Math.max(0, room - hash.length - 1)).replace(/-+$/, "");
  return `${main}${SEPARATOR}${short ? `${short}-${hash}` : hash}`;
}

/**
 * The image of a preview build: the function's own repository with the tag `preview-<key>-<sha7>`, so it never
 * replaces a main build's `latest-<sha7>` nor another branch's tag.
 */
export function previewImageName(
  pushRepositoryUrl: string,
  owner: string,
  repo: string,
  fn: string,
  sha: string,
  branch: string,
): string {
  const main = imageName(pushRepositoryUrl, owner, repo, fn, sha);
  const tag = `preview-${previewKey(branch)}-${sha.slice(0, 7).toLowerCase()}`;
  return `${main.slice(0, main.lastIndexOf(":"))}:${tag}`;
}

/**
 * The deployed name a path segment of `<owner>.<domain>/<segment>` names (edge-router): `<fn>` is the main
 * deployment, `<fn>--<key>` a preview. The owner is the host's, and neither part may hold "--", so no segment can name
 * another owner's function or a system one.
 */
export function servedName(owner: string, segment: string): string {
  const at = segment.indexOf(SEPARATOR);
  const key = segment.slice(at + SEPARATOR.length).toLowerCase();
  // Anything but `<fn>--<preview key>` is a main name, refused by its own rule ("--" in it).
  if (at < 0 || !PREVIEW_KEY.test(key)) return functionName(owner, segment);
  const main = functionName(owner, segment.slice(0, at));
  const name = `${main}${SEPARATOR}${key}`;
  if (name.length > 63) refuse("function name", name, LABEL_RULE);
  return name;
}
