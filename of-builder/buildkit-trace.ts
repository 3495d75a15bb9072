import protobuf from "protobufjs";
import { BuildFailure } from "./backend.js";
import type { JsonMessage } from "./docker-engine.js";
import { createProgressPrinter, type SolveStatus } from "./progress-printer.js";

// moby.buildkit.v1 StatusResponse from control.proto (anchors §F), only the fields we print. The Timestamps are
// gogoproto stdtime, which is google.protobuf.Timestamp on the wire.
const root = protobuf.Root.fromJSON({
  nested: {
    Timestamp: { fields: { seconds: { type: "int64", id: 1 }, nanos: { type: "int32", id: 2 } } },
    Vertex: {
      fields: {
        digest: { type: "string", id: 1 },
        inputs: { rule: "repeated", type: "string", id: 2 },
        name: { type: "string", id: 3 },
        cached: { type: "bool", id: 4 },
        started: { type: "Timestamp", id: 5 },
        completed: { type: "Timestamp", id: 6 },
        error: { type: "string", id: 7 },
      },
    },
    VertexStatus: {
      fields: {
        ID: { type: "string", id: 1 },
        vertex: { type: "string", id: 2 },
        name: { type: "string", id: 3 },
        current: { type: "int64", id: 4 },
        total: { type: "int64", id: 5 },
        timestamp: { type: "Timestamp", id: 6 },
        started: { type: "Timestamp", id: 7 },
        completed: { type: "Timestamp", id: 8 },
      },
    },
    VertexLog: {
      fields: {
        vertex: { type: "string", id: 1 },
        timestamp: { type: "Timestamp", id: 2 },
        stream: { type: "int64", id: 3 },
        msg: { type: "bytes", id: 4 },
      },
    },
    VertexWarning: {
      fields: {
        vertex: { type: "string", id: 1 },
        level: { type: "int64", id: 2 },
        short: { type: "bytes", id: 3 },
        detail: { rule: "repeated", type: "bytes", id: 4 },
        url: { type: "string", id: 5 },
      },
    },
    StatusResponse: {
      fields: {
        vertexes: { rule: "repeated", type: "Vertex", id: 1 },
        statuses: { rule: "repeated", type: "VertexStatus", id: 2 },
        logs: { rule: "repeated", type: "VertexLog", id: 3 },
        warnings: { rule: "repeated", type: "VertexWarning", id: 4 },
      },
    },
  },
});
const StatusResponse = root.lookupType("StatusResponse");

interface Timestamp {
  seconds?: number;
  nanos?: number;
}
interface DecodedStatus {
  vertexes?: {
    digest?: string;
    name?: string;
    cached?: boolean;
    started?: Timestamp;
    completed?: Timestamp;
    error?: string;
  }[];
  statuses?: { ID?: string; vertex?: string; name?: string; current?: number; total?: number; completed?: Timestamp }[];
  logs?: { vertex?: string; msg?: Uint8Array }[];
  warnings?: { vertex?: string; short?: Uint8Array }[];
}

const ms = (t: Timestamp | undefined) => (t ? (t.seconds ?? 0) * 1000 + (t.nanos ?? 0) / 1e6 : undefined);

/** Decodes one `moby.buildkit.trace` aux value (base64 protobuf StatusResponse) into a SolveStatus. */
export function decodeTrace(base64: string): SolveStatus {
  const message = StatusResponse.decode(Buffer.from(base64, "base64"));
  const s = StatusResponse.toObject(message, { longs: Number, arrays: true }) as DecodedStatus;
  return {
    vertexes: (s.vertexes ?? []).map((v) => ({
      digest: v.digest ?? "",
      name: v.name ?? "",
      cached: v.cached ?? false,
      started: ms(v.started),
      completed: ms(v.completed),
      error: v.error || undefined,
    })),
    statuses: (s.statuses ?? []).map((st) => ({
      id: st.ID ?? "",
      vertex: st.vertex ?? "",
      name: st.name ?? "",
      current: st.current ?? 0,
      total: st.total ?? 0,
      completed: ms(st.completed),
    })),
    logs: (s.logs ?? []).map((l) => ({ vertex: l.vertex ?? "", data: l.msg ?? new Uint8Array() })),
    warnings: (s.warnings ?? []).map((w) => ({ vertex: w.vertex ?? "", short: Buffer.from(w.short ?? []).toString() })),
  };
}

/** Reads an Engine `POST /build` ndjson stream (BuildKit, `version=2`) into readable lines and a result. */
export interface EngineProgress {
  message(message: JsonMessage): void;
  /** Flushes buffered output; `failure` is set when the stream carried an error (with HTTP 200: anchors §F). */
  finish(): { imageId?: string; failure?: BuildFailure };
}

/** Creates an EngineProgress that calls `onLog` for each line as the messages come. */
export function createEngineProgress(onLog: (line: string) => void): EngineProgress {
  const printer = createProgressPrinter(onLog);
  let imageId: string | undefined;
  let error: string | undefined;
  let undecodable = 0;
  return {
    message(m) {
      if (m.id === "moby.buildkit.trace" && typeof m.aux === "string") {
        let status: SolveStatus | undefined;
        try {
          status = decodeTrace(m.aux);
        } catch {
          // A newer daemon's trace we cannot read must not fail a build that succeeds.
          undecodable++;
        }
        if (status) printer.write(status);
      } else if (m.id === "moby.image.id") imageId = (m.aux as { ID?: string } | undefined)?.ID;
      if (typeof m.stream === "string") {
        for (const line of m.stream.replace(/\n$/, "").split(/\r?\n/)) if (line.trim() !== "") onLog(line);
      }
      if (m.errorDetail !== undefined || m.error !== undefined) {
        const text = m.errorDetail?.message ?? m.error ?? "unknown error";
        error ??= text;
        onLog(`ERROR: ${text}`);
      }
    },
    finish() {
      printer.flush();
      if (undecodable > 0) onLog(`WARN: ${undecodable} BuildKit progress message(s) could not be decoded`);
      if (error !== undefined) return { imageId, failure: new BuildFailure(error, printer.lastErrorLine()) };
      return { imageId };
    },
  };
}
