import { annotationsFromLog } from "./annotations.js";

// Build log excerpts as of-builder hands them over: BuildKit's step prefix, then what the tool printed.
const TSC_LOG = [
  "#9 [5/7] RUN npm run build",
  "#9 0.812 > fn@1.0.0 build",
  "#9 0.812 > tsc",
  "#9 2.901 function/handler.ts(12,7): error TS2322: Type 'string' is not assignable to type 'number'.",
  "#9 2.902 function/handler.ts(20,3): warning TS6133: 'unused' is declared but its value is never read.",
  '#9 ERROR: process "/bin/sh -c npm run build" did not complete successfully: exit code: 2',
];
const NODE_TEST_LOG = [
  "#10 [6/6] RUN cd function && npm test",
  "#10 0.601 > fn@1.0.0 test",
  "#10 0.601 > node --test",
  "#10 0.950 ✖ says hello (2.1ms)",
  "#10 0.950   AssertionError [ERR_ASSERTION]: Expected values to be strictly equal:",
  "#10 0.950   ",
  "#10 0.950   'Hello' !== 'Hello, world'",
  "#10 0.950   ",
  "#10 0.950       at TestContext.<anonymous> (/home/app/function/handler.test.js:8:10)",
  "#10 0.950       at Test.runInAsyncScope (node:async_hooks:206:9)",
  "#10 0.950       at Test.run (node:internal/test_runner/test:631:25)",
  "#10 0.951 ✖ failing tests:",
  "#10 0.951   AssertionError [ERR_ASSERTION]: Expected values to be strictly equal:",
  "#10 0.951       at TestContext.<anonymous> (/home/app/function/handler.test.js:8:10)",
  "#10 0.990 npm ERR! Test failed.  See above for more details.",
];
const NODE_THROW_LOG = [
  "#10 0.950 TypeError: Cannot read properties of undefined (reading 'name')",
  "#10 0.950     at module.exports (/home/app/function/handler.js:4:24)",
  "#10 0.950     at /home/app/function/handler.test.js:6:3",
  "#10 0.950     at Object.<anonymous> (/home/app/index.js:20:5)",
];
const PYTHON_LOG = [
  "#8 1.203 Traceback (most recent call last):",
  '#8 1.203   File "/home/app/index.py", line 5, in <module>',
  "#8 1.203     from function import handler",
  '#8 1.203   File "/home/app/function/handler.py", line 3, in <module>',
  "#8 1.203     import reqests",
  "#8 1.203 ModuleNotFoundError: No module named 'reqests'",
];
const GO_LOG = ["#12 3.402 # handler/function", "#12 3.402 function/handler.go:14:2: undefined: fmt.Printn"];
const GCC_LOG = [
  "#7 0.4 handler.c:3:5: error: expected ';' before 'return'",
  "#7 0.4 handler.c:9:1: note: declared here",
];
const ESLINT_LOG = [
  "#11 1.1 /home/app/function/handler.js:3:7: 'unused' is assigned a value but never used. [Error/no-unused-vars]",
  "#11 1.1 /home/app/function/handler.js:5:1: Unexpected console statement. [Warning/no-console]",
];

describe("annotationsFromLog", () => {
  it("tsc errors under handler ./api → api/handler.ts at the line and column, error as failure, warning as warning", () => {
    expect(annotationsFromLog(TSC_LOG, "./api")).toEqual([
      {
        path: "api/handler.ts",
        start_line: 12,
        end_line: 12,
        start_column: 7,
        end_column: 7,
        annotation_level: "failure",
        message: "TS2322: Type 'string' is not assignable to type 'number'.",
      },
      expect.objectContaining({ path: "api/handler.ts", start_line: 20, annotation_level: "warning" }),
    ]);
  });

  it("a failed node --test → one annotation on the test's line with the assertion, the repeat in the summary dropped", () => {
    expect(annotationsFromLog(NODE_TEST_LOG, "hello")).toEqual([
      {
        path: "hello/handler.test.js",
        start_line: 8,
        end_line: 8,
        start_column: 10,
        end_column: 10,
        annotation_level: "failure",
        message: "AssertionError [ERR_ASSERTION]: Expected values to be strictly equal:",
      },
    ]);
  });

  it("a thrown TypeError → the first handler frame (handler.js:4), not the test or the template's index.js", () => {
    const found = annotationsFromLog(NODE_THROW_LOG, "fn");
    expect(found.map((a) => [a.path, a.start_line, a.message])).toEqual([
      ["fn/handler.js", 4, "TypeError: Cannot read properties of undefined (reading 'name')"],
    ]);
  });

  it("a Python traceback → the innermost handler frame with the exception; the template's index.py left out", () => {
    const found = annotationsFromLog(PYTHON_LOG, "./py-fn/");
    expect(found).toEqual([
      {
        path: "py-fn/handler.py",
        start_line: 3,
        end_line: 3,
        annotation_level: "failure",
        message: "ModuleNotFoundError: No module named 'reqests'",
      },
    ]);
  });

  it.each([
    ["go", GO_LOG, [["gofn/handler.go", 14, "failure", "undefined: fmt.Printn"]]],
    [
      "gcc",
      GCC_LOG,
      [
        ["gofn/handler.c", 3, "failure", "expected ';' before 'return'"],
        ["gofn/handler.c", 9, "notice", "declared here"],
      ],
    ],
    [
      "eslint unix",
      ESLINT_LOG,
      [
        ["gofn/handler.js", 3, "failure", "'unused' is assigned a value but never used. [Error/no-unused-vars]"],
        ["gofn/handler.js", 5, "warning", "Unexpected console statement. [Warning/no-console]"],
      ],
    ],
  ])("%s output → path:line in the handler, level from the tool", (_, log, expected) => {
    const found = annotationsFromLog(log, "gofn");
    expect(found.map((a) => [a.path, a.start_line, a.annotation_level, a.message])).toEqual(expected);
  });

  it.each([
    ["the template's own file", "#5 0.1 /home/app/index.js:20:5: error: boom"],
    ["a dependency in node_modules", "#5 0.1 /home/app/function/node_modules/x/index.js:1:1: error: boom"],
    ["a path climbing out of the handler", "#5 0.1 ../secret.ts(1,1): error TS1005: ';' expected."],
    ["a system file", '#5 0.1   File "/usr/lib/python3.11/json/__init__.py", line 1\n'],
    ["a plain step line", "#5 [2/4] COPY function/ ./function/"],
  ])("%s → no annotation", (_, line) => {
    expect(annotationsFromLog([line], "fn")).toEqual([]);
  });

  it("handler '.' (the repository root) → the file's path as is", () => {
    expect(annotationsFromLog(GO_LOG, ".").map((a) => a.path)).toEqual(["handler.go"]);
  });

  it("a 70 KB message and 150 errors → messages cut under GitHub's 64 KB, at most 100 annotations", () => {
    const long = annotationsFromLog([`function/a.ts(1,1): error TS1: ${"x".repeat(70_000)}`], "fn");
    expect(Buffer.byteLength(long[0]!.message)).toBeLessThan(64 * 1024);
    const many = Array.from({ length: 150 }, (_, i) => `function/a.ts(${i + 1},1): error TS1: e`);
    expect(annotationsFromLog(many, "fn")).toHaveLength(100);
  });
});
