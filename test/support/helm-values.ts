import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { parse } from "yaml";
import { flagValues, positionalArgs } from "./shell-words.js";

// Issue #11: the helm values the docs pass are checked against the chart's own values.yaml, vendored at the version
// the docs install (test/fixtures/charts/README.md). A key the chart does not have is not an error to helm: the
// templates never read it and the setting silently does nothing, as queueWorker.maxInflight does on CE.

const CHARTS = join(import.meta.dirname, "..", "fixtures", "charts");

/** One `helm upgrade --install` / `helm install` command: the release, the chart and what it sets. */
export interface HelmInstall {
  release: string;
  chart: string;
  version: string | undefined;
  namespace: string | undefined;
  /** `--set k=v` pairs, in order (the value unexpanded, as written). */
  sets: Array<[key: string, value: string]>;
}

/** helm flags that take a value, so that the release and chart (the positional arguments) can be found. */
const VALUE_FLAGS = new Set([
  "--set",
  "--set-string",
  "--set-file",
  "-f",
  "--values",
  "--version",
  "-n",
  "--namespace",
]);

/** The install commands among `commands` (words as test/support/shell-words.ts splits them). */
export function helmInstalls(commands: string[][]): HelmInstall[] {
  const out: HelmInstall[] = [];
  for (const words of commands) {
    const at = words.indexOf("helm");
    const args = at < 0 ? [] : words.slice(at + 1);
    const upgrade = args[0] === "upgrade" && (args.includes("--install") || args.includes("-i"));
    if (!upgrade && args[0] !== "install") continue;
    const positional = positionalArgs(args.slice(1), VALUE_FLAGS);
    const sets = flagValues(args, ["--set", "--set-string"]).flatMap((s) => splitSets(s));
    out.push({
      release: positional[0] ?? "",
      chart: positional[1] ?? "",
      version: flagValues(args, ["--version"])[0],
      namespace: flagValues(args, ["--namespace", "-n"])[0],
      sets,
    });
  }
  return out;
}

/** `a=1,b=2` → [["a","1"],["b","2"]]; helm splits one --set on unescaped commas. */
function splitSets(text: string): Array<[string, string]> {
  return text.split(/(?<!\\),/).map((pair) => {
    const eq = pair.indexOf("=");
    return [eq < 0 ? pair : pair.slice(0, eq), eq < 0 ? "" : pair.slice(eq + 1)] as [string, string];
  });
}

/** The vendored values.yaml of `<name>-<version>` (test/fixtures/charts), parsed; throws naming a missing one. */
export async function chartValues(name: string, version: string): Promise<unknown> {
  const file = join(CHARTS, `${name}-${version}.values.yaml`);
  const text = await readFile(file, "utf8").catch(() => {
    throw new Error(
      `no vendored values for chart ${name} ${version} (test/fixtures/charts/${name}-${version}.values.yaml)`,
    );
  });
  return parse(text) as unknown;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

/**
 * Problems with one `--set` key against a chart's values: a key (or any part of its path) the values do not have, or
 * a scalar set where the chart keeps a map. An empty map in the values (`nodeSelector: {}`) takes any key below it.
 */
export function unknownValueKey(values: unknown, key: string): string | undefined {
  if (!/^[A-Za-z_][\w-]*(\.[A-Za-z_][\w-]*)*$/.test(key))
    return `${key}: not a plain dotted key (lists and escapes are not checked)`;
  let node = values;
  const parts = key.split(".");
  for (const [i, part] of parts.entries()) {
    if (!isObject(node)) return `${key}: ${parts.slice(0, i).join(".")} is not a map in the chart's values`;
    if (!(part in node)) {
      if (Object.keys(node).length === 0 && i > 0) return undefined;
      return `${key}: the chart has no value ${parts.slice(0, i + 1).join(".")}`;
    }
    node = node[part];
  }
  if (isObject(node) && Object.keys(node).length > 0) return `${key}: the chart keeps a map there, not a single value`;
  return undefined;
}
