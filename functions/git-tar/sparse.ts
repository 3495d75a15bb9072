import { posix } from "node:path";
import git, { TREE, type FsClient } from "isomorphic-git";

/**
 * What a clone checks out (issue #16): the `first` paths, then the ones `select` names once it has read those from
 * the working tree; `select` answering `undefined` means the whole tree.
 */
export type Sparse = { first: string[]; select: () => Promise<string[] | undefined> };

/** Checks out the paths named, or the whole tree when given none. */
type Checkout = (filepaths?: string[]) => Promise<void>;
type Remote = { fs: FsClient; dir: string; cache: object };

// Past this many paths the per-entry match costs more than it saves; the stack is likely refused anyway.
const MAX_PATHS = 256;
const SYMLINK = 0o120000;

/**
 * Checks out `sparse`'s paths of commit `sha`, or the whole tree. A path that is the root (`handler: .`) or has a
 * symlink on or below it takes the whole tree: a link may point anywhere in the repository, and the symlink checks
 * downstream (repo-path.ts, shrinkwrap) must see what a full checkout shows them. Paths that leave the repository
 * are left out here; the stack reader refuses them later, as before.
 */
export async function checkoutSparse(
  remote: Remote,
  sha: string,
  sparse: Sparse | undefined,
  checkout: Checkout,
): Promise<void> {
  if (!sparse) return checkout();
  const first = await narrow(remote, sha, sparse.first);
  if (!first) return checkout();
  if (first.length > 0) await checkout(first);
  const rest = await narrow(remote, sha, await sparse.select());
  if (!rest) return checkout();
  if (rest.length > 0) await checkout(rest);
}

/** The normalised paths, or `undefined` when the whole tree is needed (root, too many, a symlink on the way). */
async function narrow(remote: Remote, sha: string, paths: string[] | undefined): Promise<string[] | undefined> {
  if (!paths || paths.length > MAX_PATHS) return undefined;
  const wanted = new Set<string>();
  for (const path of paths) {
    if (posix.isAbsolute(path)) continue;
    const normal = posix.normalize(path).replace(/\/+$/, "");
    if (normal === "." || normal === "") return undefined;
    if (normal === ".." || normal.startsWith("../")) continue;
    wanted.add(normal);
  }
  const list = [...wanted];
  return (await symlinkOnOrUnder(remote, sha, list)) ? undefined : list;
}

/** Walks only the trees on the way to and below `paths` (reading no blob) for an entry that is a symlink. */
async function symlinkOnOrUnder(remote: Remote, sha: string, paths: string[]): Promise<boolean> {
  if (paths.length === 0) return false;
  let found = false;
  await git.walk({
    ...remote,
    trees: [TREE({ ref: sha })],
    map: async (fullpath, [entry]) => {
      if (fullpath === "." || found) return found ? null : true;
      if (!paths.some((p) => related(fullpath, p))) return null;
      if ((await entry?.mode()) === SYMLINK) found = true;
      return found ? null : true;
    },
  });
  return found;
}

/** `a` is `b`, lies below it, or is a folder on the way to it. */
function related(a: string, b: string): boolean {
  return a === b || a.startsWith(`${b}/`) || b.startsWith(`${a}/`);
}
