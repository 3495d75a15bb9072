import { createCloneLimit } from "./clone-limit.js";

// The clone slots themselves; test/git-tar-clone-limit.test.ts runs them around real clones over smart HTTP.

/** A task that stays running until `release` is called, recording how many ran at once. */
function gate() {
  let running = 0;
  let most = 0;
  const releases: Array<() => void> = [];
  const task = () =>
    new Promise<number>((resolve) => {
      most = Math.max(most, ++running);
      releases.push(() => (running--, resolve(most)));
    });
  return { task, releases, most: () => most, running: () => running };
}

describe("createCloneLimit", () => {
  it("a limit of 2 → the third clone waits until one of the first two ends, then runs", async () => {
    const limit = createCloneLimit(2);
    const g = gate();
    const done = [limit(g.task), limit(g.task), limit(g.task)];
    await new Promise((resolve) => setImmediate(resolve));
    expect(g.running()).toBe(2);
    g.releases.shift()!();
    await new Promise((resolve) => setImmediate(resolve));
    expect(g.running()).toBe(2);
    for (const release of g.releases.splice(0)) release();
    await new Promise((resolve) => setImmediate(resolve));
    for (const release of g.releases.splice(0)) release();
    await Promise.all(done);
    expect(g.most()).toBe(2);
  });

  it("a clone that fails frees its slot: the next one runs", async () => {
    const limit = createCloneLimit(1);
    await expect(limit(() => Promise.reject(new Error("repository too large")))).rejects.toThrow("too large");
    await expect(limit(() => Promise.resolve("cloned"))).resolves.toBe("cloned");
  });

  it.each([0, -1, 1.5, Number.NaN])("max_concurrent_clones %p → TypeError naming the setting", (max) => {
    expect(() => createCloneLimit(max)).toThrow(/^\[git-tar\] max_concurrent_clones must be a whole number above 0/);
  });
});
