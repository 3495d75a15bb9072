/** One line a container wrote, as the Engine API's logs endpoint reports it with `timestamps=1`. */
export interface LogLine {
  stream: "stdout" | "stderr";
  /** RFC 3339 with nanoseconds, as the daemon recorded it. */
  timestamp: string;
  text: string;
}

const HEADER_BYTES = 8;
const STREAMS = { 1: "stdout", 2: "stderr" } as const;
// `2026-11-30T12:17:24.299123456Z text`: the daemon's timestamp, one space, the line.
const STAMPED = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)) (.*)$/s;

/**
 * Reads the multiplexed stream of `GET /containers/{id}/logs` for a container without a TTY: frames of an 8-byte
 * header (stream 1 stdout or 2 stderr, three zero bytes, the payload's length as a big-endian uint32) then the
 * payload (Engine API, "Stream format"). With `timestamps=1` each payload is one log entry, `<RFC3339Nano> <text>`,
 * usually ending in a newline; a frame may arrive cut across chunks. A payload holding several lines gives one line
 * each, the later ones with the entry's timestamp.
 */
export async function* parseLogStream(chunks: AsyncIterable<Buffer>): AsyncGenerator<LogLine> {
  let pending: Buffer = Buffer.alloc(0);
  for await (const chunk of chunks) {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (pending.length >= HEADER_BYTES) {
      const size = pending.readUInt32BE(4);
      if (pending.length < HEADER_BYTES + size) break;
      const stream = STREAMS[pending[0] as 1 | 2];
      const payload = pending.subarray(HEADER_BYTES, HEADER_BYTES + size).toString("utf8");
      pending = pending.subarray(HEADER_BYTES + size);
      // Stream 0 (stdin) and 3 (the daemon's own error text) are not the function's output.
      if (stream) yield* entryLines(stream, payload);
    }
  }
  if (pending.length > 0) throw new Error(`docker log stream ended inside a frame (${pending.length} bytes left)`);
}

function* entryLines(stream: LogLine["stream"], payload: string): Generator<LogLine> {
  let timestamp = "";
  for (const line of payload.replace(/\r?\n$/, "").split(/\r?\n/)) {
    const stamped = STAMPED.exec(line);
    if (stamped) {
      timestamp = stamped[1]!;
      yield { stream, timestamp, text: stamped[2]! };
    } else yield { stream, timestamp, text: line };
  }
}
