// Mutation testing of the security and data-loss core (issue #12, docs/testing.md): `npm run mutate`.
// A mutant that survives is a one-line bug the unit suites would let through.
import ts from "typescript";

// The modules where a silent bug is a security or data-loss bug are listed once, in tsconfig.mutate.json, which the
// TypeScript checker compiles as well.
const modules = ts.readConfigFile("tsconfig.mutate.json", (path) => ts.sys.readFile(path)).config.files;

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  mutate: modules,
  testRunner: "jest",
  // jest runs here through ts-jest's ESM preset (jest.config.js), which needs the VM modules flag.
  testRunnerNodeArgs: ["--experimental-vm-modules"],
  jest: {
    configFile: "jest.config.js",
    config: {
      // The fast unit and component suites only: no end-to-end suite, nothing that starts dockerd or BuildKit, and
      // not the slow git-tar integration suites (docs/testing.md has the layers).
      testPathIgnorePatterns: [
        "/node_modules/",
        "<rootDir>/test/e2e/",
        "<rootDir>/test/deploy/",
        "<rootDir>/local/",
        "<rootDir>/of-builder/server.test.ts",
        "<rootDir>/of-builder/buildctl-backend.test.ts",
        "<rootDir>/functions/git-tar/handler.test.ts",
        "<rootDir>/functions/git-tar/clone.test.ts",
        "<rootDir>/functions/git-tar/templates.test.ts",
        "<rootDir>/functions/git-tar/abort.test.ts",
        "<rootDir>/test/credential-logs.test.ts",
      ],
    },
  },
  // Each mutant runs only the tests that reach it.
  coverageAnalysis: "perTest",
  checkers: ["typescript"],
  tsconfigFile: "tsconfig.mutate.json",
  typescriptChecker: { prioritizePerformanceOverAccuracy: true },
  // Module-level constants run once per import: each would need every test file reloaded (docs/testing.md).
  ignoreStatic: true,
  plugins: ["@stryker-mutator/*", "./stryker-ignore-log.js"],
  ignorers: ["log"],
  incremental: true,
  incrementalFile: "reports/stryker-incremental.json",
  reporters: ["clear-text", "progress-append-only", "html"],
  htmlReporter: { fileName: "reports/mutation/index.html" },
  clearTextReporter: {
    allowColor: false,
    allowEmojis: false,
    reportTests: false,
    reportMutants: true,
    reportScoreTable: true,
  },
  thresholds: { high: 95, low: 90, break: 90 },
  // The machine running it is shared with the other suites; raise with --concurrency when it is not.
  concurrency: 1,
  timeoutMS: 10_000,
  tempDirName: ".stryker-tmp",
  // Not copied into the sandbox: git-ignored run-time state (`.local/` holds the local stack's Docker data, whose
  // overlay links Stryker cannot copy).
  ignorePatterns: ["/.local", "/build", "/coverage"],
};
