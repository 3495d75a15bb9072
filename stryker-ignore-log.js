// A Stryker ignorer (stryker.config.js `ignorers: ["log"]`): calls on the pino logger are not mutated. What a log
// line says is not what a module does; the fields that matter (no credentials, child bindings) have their own tests
// (test/credential-logs.test.ts, test/loggers.test.ts). Without it every log message would be a surviving mutant.
import { declareValuePlugin, PluginKind } from "@stryker-mutator/api/plugin";

// The level methods, and child(): its bindings only label the lines a child logger writes.
const LEVELS = new Set(["trace", "debug", "info", "warn", "error", "fatal", "child"]);

/** `log.info(…)`, `deps.log.warn(…)`, `this.log.error(…)`: a call of a level method on something named `log`. */
function isLogCall(node) {
  if (node.type !== "CallExpression" || node.callee.type !== "MemberExpression") return false;
  const { object, property } = node.callee;
  if (property.type !== "Identifier" || !LEVELS.has(property.name)) return false;
  const owner = object.type === "MemberExpression" ? object.property : object;
  return owner.type === "Identifier" && owner.name === "log";
}

export const strykerPlugins = [
  declareValuePlugin(PluginKind.Ignore, "log", {
    shouldIgnore: (path) => (isLogCall(path.node) ? "a log line, not behaviour" : undefined),
  }),
];
