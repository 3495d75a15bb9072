// The tests a function image runs while it builds: every *.test.ts in the build context whose relative paths (its
// imports, and fixture paths such as new URL("../test/fixtures/…", import.meta.url)) all resolve inside it. Tests
// that need the project's servers or fixtures (local/, test/) stay in the repository's own suite (npm test), since a
// build has no dockerd, git server or GitHub stand-in to give them.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

const root = import.meta.dirname;

function testFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === "node_modules" || entry.name === "dist" ? [] : testFiles(path);
    return entry.name.endsWith(".test.ts") ? [path] : [];
  });
}

function selfContained(file) {
  const source = readFileSync(file, "utf8");
  const imports = [...source.matchAll(/from\s+"(\.{1,2}\/[^"]+)"/g)].map((m) => m[1]);
  // Paths built from import.meta.url: a string (or a template literal up to its first ${) starting with ./ or ../.
  const fixtures = source
    .split("\n")
    .filter((line) => line.includes("import.meta"))
    .flatMap((line) => [...line.matchAll(/["'`](\.{1,2}\/[^"'`$]*)/g)].map((m) => m[1]));
  return [...imports, ...fixtures].every((path) => existsSync(resolve(dirname(file), path.replace(/\.js$/, ".ts"))));
}

const runnable = testFiles(root).filter(selfContained);

/** @type {import('jest').Config} */
export default {
  preset: "ts-jest/presets/default-esm",
  testEnvironment: "node",
  rootDir: root,
  // An empty list would make jest run everything it finds; a path that matches nothing keeps it empty.
  testMatch: runnable.length > 0 ? runnable : ["<rootDir>/no-runnable-tests"],
  passWithNoTests: true,
  moduleNameMapper: { "^(\\.{1,2}/.*)\\.js$": "$1" },
  transform: { "^.+\\.ts$": ["ts-jest", { useESM: true, diagnostics: false }] },
};
