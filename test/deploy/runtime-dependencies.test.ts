import { readdirSync, readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { join, relative } from "node:path";
import { PROJECT_ROOT } from "../../local/system-stack.js";

// The system images keep only `dependencies` (template/ofc-node24/Dockerfile runs `npm prune --omit=dev`; of-builder's
// and edge-router's images install the same way), so a package that code shipped in an image imports from
// devDependencies builds, passes every test here, and then crashes at start on a cluster. This is the check that
// would have caught `jose` (edge-auth's session keys) sitting in devDependencies.
const SHIPPED = ["shared", "functions", "of-builder", "edge-router"];
const manifest = JSON.parse(readFileSync(join(PROJECT_ROOT, "package.json"), "utf8")) as {
  dependencies: Record<string, string>;
};

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === "node_modules" ? [] : sources(path);
    return entry.name.endsWith(".ts") && !entry.name.endsWith(".test.ts") ? [path] : [];
  });
}

/** The package a bare import specifier names: `@scope/name/sub` → `@scope/name`, `name/sub` → `name`. */
function packageOf(specifier: string): string {
  const parts = specifier.split("/");
  return parts.slice(0, specifier.startsWith("@") ? 2 : 1).join("/");
}

function bareImports(file: string): string[] {
  const source = readFileSync(file, "utf8");
  // Static imports and re-exports (type-only ones vanish at compile time), and dynamic import("…").
  const found = [
    ...source.matchAll(/^\s*(?:import|export)\s+(?!type\s)[^"';]*?from\s+"([^"]+)"/gm),
    ...source.matchAll(/^\s*import\s+"([^"]+)"/gm),
    ...source.matchAll(/\bimport\(\s*"([^"]+)"\s*\)/g),
  ].map((m) => m[1] ?? "");
  return found.filter((s) => !s.startsWith(".") && !s.startsWith("node:") && !builtinModules.includes(s));
}

describe("code shipped in an image imports only runtime dependencies", () => {
  const files = SHIPPED.flatMap((dir) => sources(join(PROJECT_ROOT, dir)));

  it("finds the shipped sources (the walk itself works)", () => {
    expect(files.length).toBeGreaterThan(50);
    expect(files.some((f) => f.endsWith(join("functions", "edge-auth", "handler.ts")))).toBe(true);
  });

  it("every package those files import is in package.json's dependencies", () => {
    const missing = files.flatMap((file) =>
      bareImports(file)
        .map(packageOf)
        .filter((pkg) => !(pkg in manifest.dependencies))
        .map((pkg) => `${relative(PROJECT_ROOT, file)}: ${pkg}`),
    );
    expect(missing).toEqual([]);
  });

  it("the import reader sees value imports and skips type-only ones (self-test)", () => {
    const sample = join(PROJECT_ROOT, "shared", "session.ts");
    expect(bareImports(sample).map(packageOf)).toContain("jose");
    expect(packageOf("@octokit/rest/dist")).toBe("@octokit/rest");
  });
});
