import { pino } from "pino";
import { readStack } from "../shared/stack.js";
import { cronJobs, startCron } from "./cron.js";
import { PROJECT_ROOT } from "./system-stack.js";

const log = pino({ level: "silent" });
const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("cronJobs", () => {
  it("the system's stack.yml → build-reaper every 2 minutes, as cron-connector reads its annotations", async () => {
    expect(cronJobs((await readStack(PROJECT_ROOT, {})).functions)).toEqual([
      { function: "build-reaper", schedule: "*/2 * * * *" },
    ]);
  });
});

describe("startCron", () => {
  it("an every-second schedule → called about once a second; after stop(), never again", async () => {
    const calls: number[] = [];
    const cron = startCron({
      jobs: [{ function: "build-reaper", schedule: "* * * * * *" }],
      invoke: (name) => {
        expect(name).toBe("build-reaper");
        calls.push(Date.now());
        return Promise.resolve(200);
      },
      log,
    });
    await settle(3200);
    cron.stop();
    const made = calls.length;
    expect(made).toBeGreaterThanOrEqual(2);
    expect(made).toBeLessThanOrEqual(4);
    await settle(1500);
    expect(calls).toHaveLength(made);
  });

  it("a call still running when the next is due → not doubled", async () => {
    let running = 0;
    let most = 0;
    let calls = 0;
    const cron = startCron({
      jobs: [{ function: "slow", schedule: "* * * * * *" }],
      invoke: async () => {
        calls++;
        most = Math.max(most, ++running);
        await settle(2500);
        running--;
        return 200;
      },
      log,
    });
    await settle(3500);
    cron.stop();
    expect([calls >= 1, most]).toEqual([true, 1]);
  });

  it("a call that fails → logged, the next one still made", async () => {
    let calls = 0;
    const cron = startCron({
      jobs: [{ function: "flaky", schedule: "* * * * * *" }],
      invoke: () => (++calls === 1 ? Promise.reject(new Error("gateway down")) : Promise.resolve(503)),
      log,
    });
    await settle(2600);
    cron.stop();
    expect(calls).toBeGreaterThanOrEqual(2);
  });

  it("a schedule croner cannot read → an error naming the function and the schedule", () => {
    expect(() =>
      startCron({
        jobs: [{ function: "build-reaper", schedule: "every 2 minutes" }],
        invoke: () => Promise.resolve(200),
        log,
      }),
    ).toThrow(/^build-reaper: schedule "every 2 minutes": /);
  });
});
