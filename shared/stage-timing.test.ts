import { Writable } from "node:stream";
import { pino } from "pino";
import { STAGE_MESSAGE, stageTimer } from "./stage-timing.js";

/** A logger writing JSON lines into `lines`, with a push's sha bound as the stages bind theirs. */
function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const text of chunk.toString("utf8").split("\n")) {
        if (text) lines.push(JSON.parse(text) as Record<string, unknown>);
      }
      done();
    },
  });
  return { lines, log: pino({ level: "info" }, stream).child({ sha: "abc1234" }) };
}

/** A clock the test moves by hand. */
function clock(start = 1000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

describe("stageTimer", () => {
  it("start(stage) then end() → one info line with the stage, its ms, the logger's bindings and the fields", () => {
    const { lines, log } = capture();
    const c = clock();
    const end = stageTimer(log, c.now).start("git-tar.clone");
    c.advance(250.26);
    expect(end({ function: "ticker" })).toBe(250.3);
    expect(lines).toEqual([
      expect.objectContaining({
        msg: STAGE_MESSAGE,
        level: 30,
        stage: "git-tar.clone",
        ms: 250.3,
        sha: "abc1234",
        function: "ticker",
      }),
    ]);
  });

  it("start(stage, began) → measured from that earlier reading of the clock", () => {
    const { lines, log } = capture();
    const c = clock();
    const began = c.now();
    c.advance(40);
    const timer = stageTimer(log, c.now);
    c.advance(10);
    timer.start("github-event", began)();
    expect(lines[0]).toMatchObject({ stage: "github-event", ms: 50 });
  });

  it("a field cannot overwrite the stage or its ms", () => {
    const { lines, log } = capture();
    const c = clock();
    const end = stageTimer(log, c.now).start("status-post");
    c.advance(5);
    end({ stage: "forged", ms: -1, context: "stack-deploy" });
    expect(lines[0]).toMatchObject({ stage: "status-post", ms: 5, context: "stack-deploy" });
  });

  it("time(stage, work) resolving → its value, and a line for the time it took", async () => {
    const { lines, log } = capture();
    const c = clock();
    const timer = stageTimer(log, c.now);
    const value = await timer.time("buildshiprun.ready", () => {
      c.advance(120);
      return Promise.resolve("ready");
    });
    expect(value).toBe("ready");
    expect(lines).toEqual([expect.objectContaining({ stage: "buildshiprun.ready", ms: 120 })]);
    expect(lines[0]).not.toHaveProperty("failed");
  });

  it("time(stage, work) throwing → the same error, and the line still written, marked failed", async () => {
    const { lines, log } = capture();
    const c = clock();
    const timer = stageTimer(log, c.now);
    const boom = new Error("registry down");
    await expect(
      timer.time(
        "of-builder.push",
        () => {
          c.advance(30);
          return Promise.reject(boom);
        },
        { ref: "r" },
      ),
    ).rejects.toBe(boom);
    expect(lines).toEqual([expect.objectContaining({ stage: "of-builder.push", ms: 30, failed: true, ref: "r" })]);
  });

  it("a logger above info → no line (the timings cost nothing where nobody reads them)", () => {
    const { lines, log } = capture();
    log.level = "warn";
    stageTimer(log, clock().now).start("queue-wait")();
    expect(lines).toEqual([]);
  });
});
