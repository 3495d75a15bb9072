/** What a push to one ref gets: a build of the build branch, or a skip with the reason its status carries. */
export type BranchDecision = { build: true; branch: string; preview?: true } | { build: false; message: string };

/**
 * Which refs build (original-spec §3): only `refs/heads/<build branch>`, exactly (issue #12), where the build
 * branch is build_branch or else the repository's default branch (DESIGN §10). Pushes and re-runs (issue #17) both
 * ask this one rule, so a re-run never builds what the push would not have; so do GitHub's and GitLab's pushes
 * (issue #19). With `enablePreviews` other branches build as previews.
 */
export function decideBranch(
  buildBranch: string | undefined,
  defaultBranch: string,
  ref: string,
  enablePreviews = false,
): BranchDecision {
  const branch = buildBranch ?? defaultBranch;
  if (ref === `refs/heads/${branch}`) return { build: true, branch };
  // enable_previews (issue #17): any other branch builds as a preview, if its repository opts in (git-tar decides).
  if (enablePreviews && ref.startsWith("refs/heads/") && ref.length > "refs/heads/".length) {
    return { build: true, branch: ref.slice("refs/heads/".length), preview: true };
  }
  return { build: false, message: `skipping build for: ${ref} branch, the build branch is: ${branch}` };
}
