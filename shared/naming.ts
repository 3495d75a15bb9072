import { HttpError } from "./http-error.js";

// DNS-1123 label: what Kubernetes (faas-netes) accepts as a function name (DESIGN §5).
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
// DNS-1123 subdomain: what Kubernetes accepts as a secret name.
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
// Registry path component and tag grammar (distribution/reference).
const REPO_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const LABEL_RULE =
  'must be a DNS-1123 label: lowercase letters, digits and "-", starting and ending with a letter or digit, at most 63 characters';

/** A name that cannot be used; a 400 whose message names the value and the rule it broke. */
function refuse(what: string, value: string, rule: string): never {
  throw new HttpError(400, `${what} ${JSON.stringify(value)} ${rule}`);
}

function label(what: string, value: string): string {
  if (value.length > 63 || !DNS1123_LABEL.test(value)) refuse(what, value, LABEL_RULE);
  return value;
}

/** The deployed function's name: `<owner>-<fn>`, lowercased (mixed-case logins broke the original, original-spec §E.2). */
export function functionName(owner: string, fn: string): string {
  return label("function name", `${owner}-${fn}`.toLowerCase());
}

/** The platform secret a stack.yml secret maps to: `<owner>-<secret>`, so no owner can mount another's. */
export function secretName(owner: string, secret: string): string {
  const name = `${owner}-${secret}`.toLowerCase();
  if (name.length > 253 || !DNS1123_SUBDOMAIN.test(name)) {
    refuse(
      "secret name",
      name,
      'must be a DNS-1123 subdomain: lowercase letters, digits, "-" and ".", at most 253 characters',
    );
  }
  return name;
}

/**
 * The image a function is built into (DESIGN §5, original-spec §4 step 13): `<registry>/<owner>/<repo>-<fn>:latest-<sha7>`,
 * or `<registry>/<owner>-<repo>-<fn>:latest-<sha7>` when the registry prefix ends in "/" (one shared account).
 */
export function imageName(pushRepositoryUrl: string, owner: string, repo: string, fn: string, sha: string): string {
  const shared = pushRepositoryUrl.endsWith("/");
  const registry = pushRepositoryUrl.replace(/\/+$/, "");
  const path = (shared ? `${owner}-${repo}-${fn}` : `${owner}/${repo}-${fn}`).toLowerCase();
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
