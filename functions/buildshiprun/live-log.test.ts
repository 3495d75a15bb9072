import { createLiveLog } from "./live-log.js";

/** A clock the test moves: sleeps resolve when it passes their end. */
function clock() {
  let t = 0;
  const sleepers: { until: number; wake: () => void }[] = [];
  return {
    now: () => t,
    sleep: (ms: number) => new Promise<void>((wake) => sleepers.push({ until: t + ms, wake })),
    async advance(to: number) {
      t = to;
      for (const s of sleepers.filter((s) => s.until <= t)) {
        sleepers.splice(sleepers.indexOf(s), 1);
        s.wake();
      }
      await settle();
    },
  };
}
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe("createLiveLog", () => {
  it("the first line → written at once; lines within the next second → one write when it has passed", async () => {
    const c = clock();
    const writes: string[] = [];
    const live = createLiveLog({ ...c, intervalMs: 1000, write: (text) => Promise.resolve(void writes.push(text)) });
    live.line("#1 FROM base");
    await settle();
    expect(writes).toEqual(["#1 FROM base"]);
    await c.advance(100);
    live.line("#2 RUN npm ci");
    await c.advance(200);
    live.line("#2 added 10 packages");
    await c.advance(999);
    expect(writes).toHaveLength(1);
    // A quiet step: no further line comes, the two are still written once the second has passed.
    await c.advance(1000);
    expect(writes).toEqual(["#1 FROM base", "#1 FROM base\n#2 RUN npm ci\n#2 added 10 packages"]);
    await c.advance(5000);
    expect(writes).toHaveLength(2);
  });

  it("a thousand lines in one second → two writes, the second with every line", async () => {
    const c = clock();
    const writes: string[] = [];
    const live = createLiveLog({ ...c, intervalMs: 1000, write: (text) => Promise.resolve(void writes.push(text)) });
    live.line("line 0");
    await settle();
    for (let i = 1; i < 1000; i++) {
      live.line(`line ${i}`);
      await c.advance(i);
    }
    await c.advance(1000);
    await c.advance(2000);
    expect(writes).toHaveLength(2);
    expect(writes[1]!.split("\n")).toHaveLength(1000);
  });

  it("close during a slow write → resolves only after it; nothing is written after close", async () => {
    const c = clock();
    const writes: string[] = [];
    let finish: () => void = () => undefined;
    const live = createLiveLog({
      ...c,
      intervalMs: 1000,
      write: (text) => new Promise<void>((resolve) => (finish = () => resolve(void writes.push(text)))),
    });
    live.line("a");
    await settle();
    live.line("b");
    let closed = false;
    const closing = live.close().then(() => (closed = true));
    await settle();
    expect(closed).toBe(false);
    finish();
    await closing;
    expect(writes).toEqual(["a"]);
    await c.advance(5000);
    expect(writes).toEqual(["a"]);
  });

  it("a failed write → the next line's write still happens", async () => {
    const c = clock();
    const writes: string[] = [];
    let fail = true;
    const live = createLiveLog({
      ...c,
      intervalMs: 1000,
      write: (text) => (fail ? Promise.reject(new Error("S3 down")) : Promise.resolve(void writes.push(text))),
    });
    live.line("a");
    await settle();
    fail = false;
    live.line("b");
    await c.advance(1000);
    expect(writes).toEqual(["a\nb"]);
  });
});
