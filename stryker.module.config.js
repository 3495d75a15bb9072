// Mutation testing of one module with only its own suites (docs/testing.md, "One module, its own suites"):
//   MUTATE_TESTS=shared/naming.test.ts,test/naming.property.test.ts \
//     npx stryker run stryker.module.config.js --mutate shared/naming.ts
// Stryker's dry run and coverage then cover a handful of suites instead of every fast one. The score can only be lower
// than `npm run mutate`'s, never higher: a mutant only some other suite kills counts here as a survivor.
import base from "./stryker.config.js";

const tests = (process.env.MUTATE_TESTS ?? "")
  .split(",")
  .map((path) => path.trim())
  .filter((path) => path !== "");
if (tests.length === 0) {
  throw new Error("stryker.module.config.js: set MUTATE_TESTS to the comma-separated test files of the module");
}

// One incremental file and one HTML report per module, named after `--mutate <file>`, so that runs of different
// modules (even at the same time) neither clobber each other's results nor re-test each other's mutants.
const argv = process.argv;
const at = argv.findIndex((arg) => arg === "--mutate" || arg === "-m");
const module = at >= 0 ? argv[at + 1] : argv.find((arg) => arg.startsWith("--mutate="))?.slice("--mutate=".length);
const slug = (module ?? "modules").replace(/\.ts$/, "").replace(/[^\w.-]+/g, "_");

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  ...base,
  jest: {
    ...base.jest,
    config: { ...base.jest.config, testMatch: tests.map((path) => `<rootDir>/${path}`) },
  },
  incrementalFile: `reports/stryker-incremental-${slug}.json`,
  htmlReporter: { fileName: `reports/mutation/${slug}.html` },
};
