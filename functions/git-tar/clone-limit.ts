import pLimit from "p-limit";

/** Runs `clone` once fewer than the limit are running in this replica; the rest wait their turn, in order. */
export type CloneLimit = <T>(clone: () => Promise<T>) => Promise<T>;

/**
 * At most `max` clones at once per git-tar replica (issue #16): isomorphic-git holds each clone's whole pack in
 * memory and inflates it there, so a burst of pushes must queue for clone slots rather than take the replica past its
 * memory limit. `max` comes from `max_concurrent_clones`; docs/configuration.md has the measured cost per clone.
 */
export function createCloneLimit(max: number): CloneLimit {
  if (!Number.isInteger(max) || max < 1) {
    throw new TypeError(`[git-tar] max_concurrent_clones must be a whole number above 0, got ${max}`);
  }
  const limit = pLimit(max);
  return (clone) => limit(clone);
}
