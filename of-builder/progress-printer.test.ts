import { createProgressPrinter, type SolveStatus } from "./progress-printer.js";

const A = "sha256:aaaa";
const B = "sha256:bbbb";
const empty: SolveStatus = { vertexes: [], statuses: [], logs: [], warnings: [] };
const log = (vertex: string, text: string | Uint8Array): SolveStatus => ({
  ...empty,
  logs: [{ vertex, data: typeof text === "string" ? Buffer.from(text) : text }],
});
const vertex = (v: Partial<SolveStatus["vertexes"][number]> & { digest: string }): SolveStatus => ({
  ...empty,
  vertexes: [{ name: `step ${v.digest}`, cached: false, ...v }],
});

function print(updates: SolveStatus[]) {
  const lines: string[] = [];
  const printer = createProgressPrinter((line) => lines.push(line));
  for (const update of updates) printer.write(update);
  printer.flush();
  return { lines, lastErrorLine: printer.lastErrorLine() };
}

describe("createProgressPrinter", () => {
  it("output split across updates → whole lines, partial tail flushed at the end", () => {
    const { lines } = print([vertex({ digest: A, started: 0 }), log(A, "hel"), log(A, "lo\nwor"), log(A, "ld")]);
    expect(lines).toEqual([`#1 step ${A}`, "#1 hello", "#1 world"]);
  });

  it("a UTF-8 character split across updates → decoded whole", () => {
    const euro = Buffer.from("€\n");
    const { lines } = print([vertex({ digest: A, started: 0 }), log(A, euro.subarray(0, 1)), log(A, euro.subarray(1))]);
    expect(lines).toEqual([`#1 step ${A}`, "#1 €"]);
  });

  it("carriage-return progress bars → the text left on screen", () => {
    const { lines } = print([vertex({ digest: A, started: 0 }), log(A, "10%\r50%\r100%\r\ndone\n")]);
    expect(lines).toEqual([`#1 step ${A}`, "#1 100%", "#1 done"]);
  });

  it("steps numbered in the order they start, not in the order they are announced", () => {
    const announced: SolveStatus = {
      ...empty,
      vertexes: [
        { digest: A, name: "a", cached: false },
        { digest: B, name: "b", cached: false },
      ],
    };
    const { lines } = print([announced, vertex({ digest: B, name: "b", started: 0, completed: 1500 })]);
    expect(lines).toEqual(["#1 b", "#1 DONE 1.5s"]);
  });

  it("completion in the same update as output → output first, then DONE, printed once", () => {
    const both: SolveStatus = {
      ...log(A, "last words\n"),
      vertexes: [{ digest: A, name: "a", cached: false, started: 0, completed: 300 }],
    };
    const { lines } = print([both, { ...both, logs: [] }]);
    expect(lines).toEqual(["#1 a", "#1 last words", "#1 DONE 0.3s"]);
  });

  it.each([
    [{ current: 37, total: 0 }, "#1 transferring context 37B done"],
    [{ current: 1_050_000, total: 3_210_000 }, "#1 transferring context 1.05MB / 3.21MB done"],
    [{ current: 0, total: 0 }, "#1 transferring context done"],
  ])("completed status %j → %s", (amount, line) => {
    const status: SolveStatus = {
      ...empty,
      statuses: [{ id: "context", vertex: A, name: "transferring context", ...amount, completed: 5 }],
    };
    expect(print([vertex({ digest: A, name: "load", started: 0 }), status]).lines).toEqual(["#1 load", line]);
  });

  it("a warning → WARN line on its step", () => {
    const warning: SolveStatus = { ...empty, warnings: [{ vertex: A, short: "FROM uses a floating tag" }] };
    expect(print([vertex({ digest: A, name: "a", started: 0 }), warning]).lines).toEqual([
      "#1 a",
      "#1 WARN: FROM uses a floating tag",
    ]);
  });

  it.each([
    [
      "npm ERR! 404 Not Found - GET https://registry/x\nnpm ERR! A complete log is in /root/.npm\n",
      "npm ERR! A complete log is in /root/.npm",
    ],
    ["compiling\nok so far\n", "ok so far"],
    ["", undefined],
  ])("failed step printing %j → lastErrorLine %j", (output, expected) => {
    const failed = vertex({ digest: A, name: "a", started: 0, completed: 1, error: "exit code: 1" });
    const { lines, lastErrorLine } = print([vertex({ digest: A, name: "a", started: 0 }), log(A, output), failed]);
    expect(lastErrorLine).toBe(expected);
    expect(lines.at(-1)).toBe("#1 ERROR: exit code: 1");
  });

  it("no failed step → no lastErrorLine", () => {
    expect(print([vertex({ digest: A, started: 0 }), log(A, "Error: but it passed\n")]).lastErrorLine).toBeUndefined();
  });
});
