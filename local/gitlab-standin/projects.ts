/** A GitLab namespace: a user's or a group's (a subgroup has a parent). */
export type GitlabNamespace = {
  id: number;
  name: string;
  path: string;
  kind: "user" | "group";
  full_path: string;
  parent_id: number | null;
};
/** A project the stand-in holds; `bareDir` is its served repository. */
export type GitlabProject = {
  id: number;
  name: string;
  path: string;
  pathWithNamespace: string;
  namespace: GitlabNamespace;
  topics: string[];
  visibility: "private" | "internal" | "public";
  defaultBranch: string;
  createdAt: string;
  bareDir: string;
};

/** GitLab's numeric visibility levels (Gitlab::VisibilityLevel), which webhook payloads carry. */
export const VISIBILITY_LEVEL = { private: 0, internal: 10, public: 20 } as const;

// A namespace or project path segment as GitLab allows it (Gitlab::PathRegex): letters, digits, `_`, `-`, `.`,
// not starting with `-` or `.`, not ending in `.git` or `.atom`.
const SEGMENT = /^(?![-.])[A-Za-z0-9_.-]+(?<![-.])$/;

/** Splits and checks a full path (`group/sub/project`), throwing a TypeError naming the rule it breaks. */
export function splitFullPath(fullPath: string, minSegments: number): string[] {
  const segments = fullPath.split("/");
  const bad = segments.find((s) => !SEGMENT.test(s) || /\.(git|atom)$/i.test(s));
  if (segments.length < minSegments || bad !== undefined)
    throw new TypeError(
      `[gitlab-standin] ${JSON.stringify(fullPath)} is not a GitLab path: ${minSegments}+ segments of letters, ` +
        "digits, _ - . (not starting or ending with - or ., not ending in .git)",
    );
  return segments;
}

/** GET /namespaces/:id's body. */
export function namespaceBody(ns: GitlabNamespace, url: string) {
  return {
    id: ns.id,
    name: ns.name,
    path: ns.path,
    kind: ns.kind,
    full_path: ns.full_path,
    parent_id: ns.parent_id,
    avatar_url: null,
    web_url: ns.kind === "user" ? `${url}/${ns.full_path}` : `${url}/groups/${ns.full_path}`,
  };
}

/** GET /projects/:id's body: the fields clients read, `topics` and the older `tag_list` naming the same list. */
export function projectBody(p: GitlabProject, url: string) {
  const host = new URL(url).hostname;
  return {
    id: p.id,
    description: null,
    name: p.name,
    name_with_namespace: `${p.namespace.name} / ${p.name}`,
    path: p.path,
    path_with_namespace: p.pathWithNamespace,
    created_at: p.createdAt,
    default_branch: p.defaultBranch,
    tag_list: [...p.topics],
    topics: [...p.topics],
    ssh_url_to_repo: `git@${host}:${p.pathWithNamespace}.git`,
    http_url_to_repo: `${url}/${p.pathWithNamespace}.git`,
    web_url: `${url}/${p.pathWithNamespace}`,
    readme_url: null,
    avatar_url: null,
    visibility: p.visibility,
    namespace: {
      id: p.namespace.id,
      name: p.namespace.name,
      path: p.namespace.path,
      kind: p.namespace.kind,
      full_path: p.namespace.full_path,
      parent_id: p.namespace.parent_id,
      avatar_url: null,
      web_url: namespaceBody(p.namespace, url).web_url,
    },
    archived: false,
    empty_repo: false,
  };
}

/**
 * Finds by numeric id or by full path, which GitLab's API takes URL-encoded in one segment (`group%2Fsub%2Fproject`)
 * and matches case-insensitively.
 */
export function findByIdOrPath<T extends { id: number }>(
  items: Iterable<T>,
  param: string,
  fullPath: (item: T) => string,
): T | undefined {
  const numeric = /^[1-9][0-9]*$/.test(param);
  for (const item of items) {
    if (numeric ? item.id === Number(param) : fullPath(item).toLowerCase() === param.toLowerCase()) return item;
  }
  return undefined;
}
