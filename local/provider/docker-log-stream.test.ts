import { Readable } from "node:stream";
import { parseLogStream, type LogLine } from "./docker-log-stream.js";

/** One frame of the Engine API's multiplexed stream: [stream, 0, 0, 0, size (uint32 BE)] + payload. */
function frame(stream: number, payload: string): Buffer {
  const body = Buffer.from(payload, "utf8");
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
}

async function parse(chunks: Buffer[]): Promise<LogLine[]> {
  const lines: LogLine[] = [];
  for await (const line of parseLogStream(Readable.from(chunks))) lines.push(line);
  return lines;
}

const T1 = "2026-11-30T08:52:24.123456789Z";
const T2 = "2026-11-30T08:52:25.000000001Z";

describe("parseLogStream: the Engine API's multiplexed log frames with timestamps", () => {
  it("a known frame (stdout, 'hi') byte by byte → one line with its timestamp", async () => {
    const bytes = Buffer.concat([Buffer.from([1, 0, 0, 0, 0, 0, 0, 34]), Buffer.from(`${T1} hi\n`)]);
    expect(bytes).toEqual(frame(1, `${T1} hi\n`));
    const oneByteChunks = [...bytes].map((b) => Buffer.from([b]));
    expect(await parse(oneByteChunks)).toEqual([{ stream: "stdout", timestamp: T1, text: "hi" }]);
  });

  it("stdout and stderr frames in one chunk, an empty line, text with spaces and unicode → each in order", async () => {
    const chunk = Buffer.concat([
      frame(1, `${T1} GET /path?x=1\n`),
      frame(2, `${T2} error: café ☕ failed\n`),
      frame(1, `${T2} \n`),
    ]);
    expect(await parse([chunk])).toEqual([
      { stream: "stdout", timestamp: T1, text: "GET /path?x=1" },
      { stream: "stderr", timestamp: T2, text: "error: café ☕ failed" },
      { stream: "stdout", timestamp: T2, text: "" },
    ]);
  });

  it("a frame cut across chunks mid-header and mid-payload; a last entry without a newline → whole lines", async () => {
    const bytes = Buffer.concat([frame(1, `${T1} first\n`), frame(2, `${T2} partial`)]);
    expect(await parse([bytes.subarray(0, 3), bytes.subarray(3, 20), bytes.subarray(20)])).toEqual([
      { stream: "stdout", timestamp: T1, text: "first" },
      { stream: "stderr", timestamp: T2, text: "partial" },
    ]);
  });

  it("a payload of two lines (CRLF) → two lines, the second with the entry's timestamp; stdin/system frames skipped", async () => {
    expect(await parse([frame(0, "ignored\n"), frame(1, `${T1} one\r\ntwo\r\n`), frame(3, "daemon says\n")])).toEqual([
      { stream: "stdout", timestamp: T1, text: "one" },
      { stream: "stdout", timestamp: T1, text: "two" },
    ]);
  });

  it("a stream that ends inside a frame → an error naming the bytes left", async () => {
    await expect(parse([frame(1, `${T1} cut\n`).subarray(0, 12)])).rejects.toThrow(
      "docker log stream ended inside a frame (12 bytes left)",
    );
  });
});
