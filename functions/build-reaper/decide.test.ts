import { formatDuration, judge, type BuildTimes } from "./decide.js";

// The defaults: pending_deadline 30m, heartbeat_timeout 3m.
const DEADLINES = { pendingDeadlineMs: 30 * 60_000, heartbeatTimeoutMs: 3 * 60_000 };
const NOW = Date.parse("2026-05-01T12:00:00.000Z");
const ago = (ms: number) => new Date(NOW - ms).toISOString();
const MIN = 60_000;

describe("judge: one pending build at NOW with pending_deadline 30m and heartbeat_timeout 3m", () => {
  it.each<[string, boolean, BuildTimes]>([
    ["accepted 1 min ago, no heartbeat (waiting in the queue)", false, { acceptedAt: ago(MIN) }],
    ["accepted exactly 30 min ago, no heartbeat", false, { acceptedAt: ago(30 * MIN) }],
    ["accepted 30 min and 1 ms ago, no heartbeat (never reached git-tar)", true, { acceptedAt: ago(30 * MIN + 1) }],
    [
      "accepted 2 h ago, heartbeat 10 s ago (a long build, still running)",
      false,
      { acceptedAt: ago(120 * MIN), heartbeatAt: ago(10_000) },
    ],
    ["accepted 2 h ago, heartbeat exactly 3 min ago", false, { acceptedAt: ago(120 * MIN), heartbeatAt: ago(3 * MIN) }],
    [
      "accepted 5 min ago, heartbeat 3 min and 1 ms ago (git-tar died)",
      true,
      { acceptedAt: ago(5 * MIN), heartbeatAt: ago(3 * MIN + 1) },
    ],
    // Once git-tar started, the heartbeat rule alone applies, however short the wait in the queue was.
    [
      "accepted 4 min ago, heartbeat 3.5 min ago (git-tar died early)",
      true,
      { acceptedAt: ago(4 * MIN), heartbeatAt: ago(3.5 * MIN) },
    ],
    ["accepted in the future (clock skew), no heartbeat", false, { acceptedAt: ago(-10 * MIN) }],
    ["heartbeat in the future (clock skew)", false, { acceptedAt: ago(60 * MIN), heartbeatAt: ago(-MIN) }],
    ["an unreadable time", false, { acceptedAt: "yesterday" }],
  ])("%s → lost: %s", (_, lost, build) => {
    expect(judge(build, NOW, DEADLINES).lost).toBe(lost);
  });

  it("never started → an error description naming the deadline and how to re-run, within GitHub's 140 characters", () => {
    const verdict = judge({ acceptedAt: ago(31 * MIN) }, NOW, DEADLINES);
    expect(verdict).toEqual({
      lost: true,
      description:
        "build lost: git-tar never started it within 30m; re-run: push again (git commit --allow-empty -m rebuild && git push)",
    });
  });

  it("heartbeat stopped → an error description naming the timeout and how to re-run, within 140 characters", () => {
    const verdict = judge({ acceptedAt: ago(10 * MIN), heartbeatAt: ago(4 * MIN) }, NOW, DEADLINES);
    expect(verdict).toEqual({
      lost: true,
      description:
        "build lost: git-tar stopped working on it (no heartbeat for 3m); re-run: push again (git commit --allow-empty -m rebuild && git push)",
    });
  });

  it.each([
    [
      { pendingDeadlineMs: 99 * 3_600_000 + 59 * MIN + 59_000, heartbeatTimeoutMs: 3 * MIN },
      { acceptedAt: ago(400 * 3_600_000) },
    ],
    [
      { pendingDeadlineMs: 30 * MIN, heartbeatTimeoutMs: 99 * 3_600_000 + 59 * MIN + 59_000 },
      { acceptedAt: ago(0), heartbeatAt: ago(400 * 3_600_000) },
    ],
  ])("the longest deadline a setting can reasonably say → still ≤ 140 characters", (deadlines, build) => {
    const verdict = judge(build, NOW, deadlines);
    expect(verdict.lost && Array.from(verdict.description).length).toBeLessThanOrEqual(140);
  });
});

describe("formatDuration", () => {
  it.each([
    [30 * MIN, "30m"],
    [3 * MIN, "3m"],
    [90_000, "1m30s"],
    [90 * MIN, "1h30m"],
    [3_600_000, "1h"],
    [8000, "8s"],
    [500, "500ms"],
  ])("%i ms → %s", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});
