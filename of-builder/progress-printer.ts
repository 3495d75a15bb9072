/**
 * BuildKit's SolveStatus (control.proto `StatusResponse`, client `SolveStatus`), normalised from the Engine's protobuf
 * trace (docker backend) or buildctl's rawjson (buildkit backend). Times are milliseconds since the epoch.
 */
export interface SolveStatus {
  vertexes: { digest: string; name: string; cached: boolean; started?: number; completed?: number; error?: string }[];
  statuses: { id: string; vertex: string; name: string; current: number; total: number; completed?: number }[];
  logs: { vertex: string; data: Uint8Array }[];
  warnings: { vertex: string; short: string }[];
}

/** Turns SolveStatus updates into lines close to BuildKit's `--progress plain`. */
export interface ProgressPrinter {
  write(status: SolveStatus): void;
  /** Emits the partial lines still buffered (call once the stream ended). */
  flush(): void;
  /** The last error-looking output line of the first failed step, for BuildFailure. */
  lastErrorLine(): string | undefined;
}

interface VertexState {
  n?: number;
  name: string;
  done: boolean;
  error?: string;
  decoder: TextDecoder;
  partial: string;
  tail: string[];
  statusesDone: Set<string>;
}

const TAIL = 50;
// What a failing RUN step's own error line tends to contain (SyntaxError, npm ERR!, "not found", …).
const ERROR_LIKE = /error|exception|fatal|failed|denied|not found|cannot|ERR!/i;

/** Bytes as BuildKit's plain progress shows them: 37B, 1.05kB, 3.21MB. */
function size(bytes: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return unit === 0 ? `${value}B` : `${value.toFixed(2)}${units[unit]}`;
}

/** Creates a printer that numbers steps `#1, #2, …` in the order they start and calls `onLine` per line. */
export function createProgressPrinter(onLine: (line: string) => void): ProgressPrinter {
  const vertices = new Map<string, VertexState>();
  let next = 1;

  function state(digest: string): VertexState {
    let v = vertices.get(digest);
    if (!v) {
      v = { name: digest, done: false, decoder: new TextDecoder(), partial: "", tail: [], statusesDone: new Set() };
      vertices.set(digest, v);
    }
    return v;
  }

  function header(v: VertexState): number {
    if (v.n === undefined) {
      v.n = next++;
      onLine(`#${v.n} ${v.name}`);
    }
    return v.n;
  }

  function output(v: VertexState, line: string) {
    // A carriage return redraws the line in a terminal: keep what would be left on screen.
    const shown = line.slice(line.lastIndexOf("\r") + 1);
    v.tail.push(shown);
    if (v.tail.length > TAIL) v.tail.shift();
    onLine(shown === "" ? `#${header(v)}` : `#${header(v)} ${shown}`);
  }

  function flushVertex(v: VertexState) {
    const rest = v.partial + v.decoder.decode();
    v.partial = "";
    if (rest !== "") output(v, rest);
  }

  type Vertex = SolveStatus["vertexes"][number];
  const seen = (vertex: Vertex) => vertex.started !== undefined || vertex.completed !== undefined || vertex.cached;

  function end(v: VertexState, vertex: Vertex) {
    if (!seen(vertex) || v.done) return;
    if (vertex.cached) {
      v.done = true;
      onLine(`#${header(v)} CACHED`);
    } else if (vertex.completed !== undefined) {
      flushVertex(v);
      v.done = true;
      if (vertex.error) {
        v.error = vertex.error;
        onLine(`#${header(v)} ERROR: ${vertex.error}`);
      } else {
        onLine(`#${header(v)} DONE ${((vertex.completed - (vertex.started ?? vertex.completed)) / 1000).toFixed(1)}s`);
      }
    }
  }

  return {
    write(status) {
      // A step's own output and transfers in the same update go before its DONE/ERROR line.
      const busy = new Set([...status.logs.map((l) => l.vertex), ...status.statuses.map((s) => s.vertex)]);
      for (const vertex of status.vertexes) {
        const v = state(vertex.digest);
        if (vertex.name) v.name = vertex.name;
        if (seen(vertex) && !v.done) header(v);
        if (!busy.has(vertex.digest)) end(v, vertex);
      }
      for (const log of status.logs) {
        const v = state(log.vertex);
        const lines = (v.partial + v.decoder.decode(log.data, { stream: true })).split(/\r?\n/);
        v.partial = lines.pop() ?? "";
        for (const line of lines) output(v, line);
      }
      for (const s of status.statuses) {
        const v = state(s.vertex);
        if (s.completed === undefined || v.statusesDone.has(s.id)) continue;
        v.statusesDone.add(s.id);
        const amount =
          s.total > 0 ? ` ${size(s.current)} / ${size(s.total)}` : s.current > 0 ? ` ${size(s.current)}` : "";
        onLine(`#${header(v)} ${s.name || s.id}${amount} done`);
      }
      for (const vertex of status.vertexes) end(state(vertex.digest), vertex);
      for (const w of status.warnings) {
        const where = w.vertex && vertices.has(w.vertex) ? `#${header(state(w.vertex))} ` : "";
        onLine(`${where}WARN: ${w.short}`);
      }
    },

    flush() {
      for (const v of vertices.values()) flushVertex(v);
    },

    lastErrorLine() {
      const failed = [...vertices.values()].find((v) => v.error !== undefined);
      if (!failed) return undefined;
      const lines = failed.tail.map((l) => l.trim()).filter((l) => l !== "");
      return lines.findLast((l) => ERROR_LIKE.test(l)) ?? lines.at(-1);
    },
  };
}
