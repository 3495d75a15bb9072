import { posix } from "node:path";
import type { CheckAnnotation } from "../../shared/github.js";

/** Most annotations one build reports (GitHub takes 50 per request; shared/github.ts sends them in batches). */
const MAX_ANNOTATIONS = 100;
// GitHub's message limit is 64 KB; a compiler message is a line or two, so a longer one is cut well before.
const MAX_MESSAGE = 4000;
// Where the official templates copy the handler folder inside the image (node, python: /home/app/function; golang-http:
// /go/src/handler/function); a relative path a tool prints is relative to the template root or to the handler.
const IMAGE_ROOTS = ["/home/app/function/", "/go/src/handler/function/", "/home/app/src/function/"];
// BuildKit's plain progress prefixes each output line with its step, and docker's also with seconds: `#7 0.512 `.
const STEP_PREFIX = /^#\d+ (?:\d+\.\d+ )?/;

const TSC =
  /^(?<path>[^\s()]+\.[A-Za-z0-9]+)\((?<line>\d+),(?<col>\d+)\): (?<level>error|warning) (?<message>TS\d+: .*)$/;
// go (`./handler.go:12:2: undefined: x`), gcc (`handler.c:3:5: error: …`), eslint's unix format (`…: msg [Error/rule]`).
const UNIX =
  /^(?<path>[^\s:]+\.[A-Za-z0-9]+):(?<line>\d+):(?<col>\d+): (?:(?<level>error|warning|fatal error|note): )?(?<message>.+)$/;
const NODE_FRAME = /^\s*at (?:.* \()?(?<path>\/[^\s():]+):(?<line>\d+):(?<col>\d+)\)?$/;
const NODE_ERROR = /^\s*(?:[A-Za-z]*Error\b.*|Error: .*|not ok \d+ .*)$/;
const PYTHON_FRAME = /^\s*File "(?<path>[^"]+)", line (?<line>\d+)/;
const PYTHON_ERROR = /^(?<message>[A-Za-z_.]*(?:Error|Exception|Exit|Interrupt)\b.*)$/;

/**
 * The annotations a build log supports (issue #17): TypeScript, go/gcc/eslint, a Node stack of a failed `npm test`
 * and a Python traceback, each pointing at a file of the function's `handler` folder in the repository. Paths outside
 * the handler (the template's own files, node_modules, the runtime) are left out; duplicates are dropped.
 */
export function annotationsFromLog(lines: string[], handler: string): CheckAnnotation[] {
  const clean = lines.map((l) => l.replace(STEP_PREFIX, ""));
  const found: CheckAnnotation[] = [];
  const seen = new Set<string>();
  const add = (raw: string, line: number, col: number | undefined, level: string | undefined, message: string) => {
    const path = repoPath(raw, handler);
    if (path === undefined || line < 1) return;
    const key = `${path}:${line}:${message}`;
    if (seen.has(key) || found.length >= MAX_ANNOTATIONS) return;
    seen.add(key);
    found.push({
      path,
      start_line: line,
      end_line: line,
      ...(col !== undefined && col >= 1 ? { start_column: col, end_column: col } : {}),
      annotation_level: levelOf(level, message),
      message: message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE - 1)}…` : message,
    });
  };

  let nodeError: string | undefined;
  let nodeFramed = false;
  for (const [i, text] of clean.entries()) {
    let m = TSC.exec(text) ?? UNIX.exec(text);
    if (m?.groups) {
      const g = m.groups;
      add(g.path!, Number(g.line), Number(g.col), g.level, g.message!.trim());
      continue;
    }
    if (NODE_ERROR.test(text) && !NODE_FRAME.test(text)) {
      nodeError = text.trim();
      nodeFramed = false;
      continue;
    }
    m = NODE_FRAME.exec(text);
    if (m?.groups) {
      // The first frame inside the handler is where its code failed; the rest of the stack adds nothing.
      if (!nodeFramed && repoPath(m.groups.path!, handler) !== undefined) {
        add(m.groups.path!, Number(m.groups.line), Number(m.groups.col), "error", nodeError ?? "test failed");
        nodeFramed = true;
      }
      continue;
    }
    m = PYTHON_FRAME.exec(text);
    if (m?.groups) {
      // The innermost frame is the last one: annotate the last handler frame of this traceback with its exception.
      const frames: Array<{ path: string; line: number }> = [];
      let j = i;
      for (; j < clean.length; j++) {
        const frame = PYTHON_FRAME.exec(clean[j]!);
        if (frame?.groups) frames.push({ path: frame.groups.path!, line: Number(frame.groups.line) });
        else if (PYTHON_ERROR.test(clean[j]!)) break;
      }
      const inner = frames.filter((f) => repoPath(f.path, handler) !== undefined).at(-1);
      const message = clean[j]?.trim() ?? "python error";
      if (inner) add(inner.path, inner.line, undefined, "error", message);
    }
  }
  return found;
}

/** The repository path of a file the log names, when it lies inside the handler folder; undefined otherwise. */
function repoPath(raw: string, handler: string): string | undefined {
  let inside: string | undefined;
  const root = IMAGE_ROOTS.find((r) => raw.startsWith(r));
  if (root) inside = raw.slice(root.length);
  else if (raw.startsWith("/")) return undefined;
  else inside = raw.replace(/^(?:\.\/)*(?:function\/)?/, "");
  const rel = posix.normalize(inside);
  if (rel.startsWith("..") || rel.startsWith("/") || rel === "." || /(^|\/)node_modules\//.test(rel)) return undefined;
  const folder = posix.normalize(handler.replace(/^\.\//, "")).replace(/\/+$/, "");
  return folder === "." || folder === "" ? rel : posix.join(folder, rel);
}

function levelOf(level: string | undefined, message: string): CheckAnnotation["annotation_level"] {
  if (level === "warning" || /\[Warning\/[^\]]*\]$/.test(message)) return "warning";
  if (level === "note") return "notice";
  return "failure";
}
