import { HttpError } from "./http-error.js";

/**
 * `${VAR}` substitution with the semantics of github.com/drone/envsubst v1.0.3, the version faas-cli pins
 * (anchors §B), checked against its parse/scan.go:
 * - `${VAR}`: the value, or "" when unset. A bare `$VAR` is NOT substituted (v1.0.3 has no bare-variable token).
 * - `$$` → `$`, and outside `${…}` a backslash before `/` or `\` is dropped (drone's scanEscape).
 * - `${VAR=d}`, `${VAR:=d}`, `${VAR:-d}`, `${VAR:?d}`, `${VAR:+d}`: all take `d` when the value is EMPTY or unset
 *   (drone maps every one of them to toDefault). `d` may nest `${…}`; `$$` is not an escape inside it.
 * - `${VAR-d}`: drone v1.0.3 rejects it ("missing closing brace"); we accept it as the same default (a superset).
 * - `${VAR,}` `${VAR,,}` `${VAR^}` `${VAR^^}` change case; `${#VAR}` is the value's length in bytes.
 * - drone's substring, trim and replace operators (`${V:1}`, `${V#p}`, `${V%s}`, `${V/a/b}`) are refused by name.
 * Values come only from `vars`, never from process.env.
 */
export function envsubst(text: string, vars: Readonly<Record<string, string>>): string {
  const lookup = (name: string): string => (Object.hasOwn(vars, name) ? (vars[name] ?? "") : "");
  const token = /\$\{|\$\$|\\[\\/]/g;
  let out = "";
  let from = 0;
  for (let match = token.exec(text); match !== null; match = token.exec(text)) {
    out += text.slice(from, match.index);
    if (match[0] === "${") {
      const [value, end] = expression(text, match.index, lookup, 0);
      out += value;
      token.lastIndex = end;
    } else out += match[0][1];
    from = token.lastIndex;
  }
  return out + text.slice(from);
}

/** drone's acceptIdent: unicode.IsLetter, unicode.IsDigit or `_`. */
const NAME = /[\p{L}\p{Nd}_]+/uy;
/** Nesting deeper than this is refused instead of overflowing the stack on a hostile file. */
const MAX_DEPTH = 32;

type Lookup = (name: string) => string;

/** Evaluates the `${…}` starting at `start`; returns its value and the index just past its `}`. */
function expression(text: string, start: number, lookup: Lookup, depth: number): [string, number] {
  const fail = (reason: string): never => {
    const line = text.slice(0, start).split("\n").length;
    const excerpt = text.slice(start, start + 40).split("\n")[0];
    throw new HttpError(400, `bad substitution at line ${line}: ${JSON.stringify(excerpt)}: ${reason}`);
  };
  if (depth > MAX_DEPTH) fail(`nested deeper than ${MAX_DEPTH}`);
  let at = start + 2;
  const name = (): string => {
    NAME.lastIndex = at;
    const found = NAME.exec(text)?.[0] ?? fail("unable to parse variable name");
    at += found.length;
    return found;
  };
  const close = (value: string): [string, number] =>
    text[at] === "}" ? [value, at + 1] : fail("missing closing brace");

  if (text[at] === "#") {
    at += 1;
    return close(String(Buffer.byteLength(lookup(name()))));
  }
  const value = lookup(name());
  const op = text[at];
  if (op === "}") return [value, at + 1];
  if (op === "," || op === "^") {
    const casing = /[,^]{1,2}/y;
    casing.lastIndex = at;
    const fn = casing.exec(text)?.[0] ?? "";
    at += fn.length;
    return close(changeCase(value, fn));
  }
  if (op === "=" || op === "-") at += 1;
  else if (op === ":" && "=-?+".includes(text[at + 1] ?? "x")) at += 2;
  else if (op === ":" || op === "#" || op === "%" || op === "/") fail(`the "${op}" operator is not supported`);
  else fail("missing closing brace");

  let fallback = "";
  while (text[at] !== "}") {
    if (at >= text.length) fail("missing closing brace");
    if (text.startsWith("${", at)) {
      const [nested, end] = expression(text, at, lookup, depth + 1);
      fallback += nested;
      at = end;
    } else {
      const stop = /\}|\$\{/g;
      stop.lastIndex = at;
      const end = stop.exec(text)?.index ?? text.length;
      fallback += text.slice(at, end);
      at = end;
    }
  }
  return [value === "" ? fallback : value, at + 1];
}

function changeCase(value: string, fn: string): string {
  const [first = "", ...rest] = value;
  if (fn === ",,") return value.toLowerCase();
  if (fn === "^^") return value.toUpperCase();
  if (fn === ",") return first.toLowerCase() + rest.join("");
  if (fn === "^") return first.toUpperCase() + rest.join("");
  return value; // drone's lookupFunc falls back to toDefault (no arguments): the value unchanged
}
