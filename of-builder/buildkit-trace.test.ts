// The fixtures are raw `POST /v1.41/build?version=2` answers captured from the private dockerd (Engine 20.10.24,
// BuildKit as vendored there) of docs/local-services.md: a Dockerfile FROM the local base image with a RUN that
// writes to stdout and stderr and a COPY, built uncached then cached, and `RUN node -e "syntax error("`.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createEngineProgress, decodeTrace } from "./buildkit-trace.js";
import type { JsonMessage } from "./docker-engine.js";

const fixtures = fileURLToPath(new URL("fixtures", import.meta.url));
const messages = (name: string) =>
  readFileSync(join(fixtures, name), "utf8")
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as JsonMessage);
const trace = (name: string, index: number) => messages(name)[index]?.aux as string;

function replay(name: string) {
  const lines: string[] = [];
  const progress = createEngineProgress((line) => lines.push(line));
  for (const message of messages(name)) progress.message(message);
  return { lines, ...progress.finish() };
}

const RUN = `[2/3] RUN node -e "console.log('hello from RUN'); console.error('to stderr')"`;

describe("decodeTrace", () => {
  it("a completed RUN vertex → digest, name and Timestamps as epoch milliseconds", () => {
    expect(decodeTrace(trace("engine-build-ok.ndjson", 14))).toEqual({
      vertexes: [
        {
          digest: "sha256:3a0498a6444c1715b0ff5700ced43bc5ca7834ad6e2ee0fc30f63d0c7486351c",
          name: RUN,
          cached: false,
          started: 1795610641988.7534,
          completed: 1795610642432.8403,
        },
      ],
      statuses: [],
      logs: [],
      warnings: [],
    });
  });

  it.each([
    [12, "to stderr\n"],
    [13, "hello from RUN\n"],
  ])("log trace #%i → the RUN vertex's raw output %j", (index, text) => {
    const { logs } = decodeTrace(trace("engine-build-ok.ndjson", index));
    expect(logs).toHaveLength(1);
    expect(logs[0]?.vertex).toBe("sha256:3a0498a6444c1715b0ff5700ced43bc5ca7834ad6e2ee0fc30f63d0c7486351c");
    expect(Buffer.from(logs[0]!.data).toString()).toBe(text);
  });

  it("a status trace → id, vertex and completion time", () => {
    const { statuses } = decodeTrace(trace("engine-build-ok.ndjson", 18));
    expect(statuses).toEqual([
      {
        id: "exporting layers",
        vertex: "sha256:e8c613e07b0b7ff33893b694f7759a10d42e180f2b4dc349fb57dc6b71dcab00",
        name: "",
        current: 0,
        total: 0,
        completed: 1795610642518.688,
      },
    ]);
  });

  it("not protobuf → throws", () => {
    expect(() => decodeTrace(Buffer.from("\x0a\xff\xff\xff").toString("base64"))).toThrow();
  });
});

describe("createEngineProgress", () => {
  it("uncached build → BuildKit plain-progress lines, output prefixed by step, image id, no failure", () => {
    const { lines, imageId, failure } = replay("engine-build-ok.ndjson");
    expect(failure).toBeUndefined();
    expect(imageId).toBe("sha256:8ee610093527834f25dc56b414e495bce0ecd63454d34925e27bea78d356b575");
    expect(lines).toEqual([
      "#1 [internal] load remote build context",
      "#1 DONE 0.0s",
      "#2 copy /context /",
      "#2 DONE 0.2s",
      "#3 [internal] load metadata for 127.0.0.1:5999/base/node:20",
      "#3 DONE 0.0s",
      "#4 [1/3] FROM 127.0.0.1:5999/base/node:20",
      "#4 DONE 0.0s",
      `#5 ${RUN}`,
      "#5 to stderr",
      "#5 hello from RUN",
      "#5 DONE 0.4s",
      "#6 [3/3] COPY index.js /app/",
      "#6 DONE 0.0s",
      "#7 exporting to image",
      "#7 exporting layers done",
      "#7 writing image sha256:8ee610093527834f25dc56b414e495bce0ecd63454d34925e27bea78d356b575 done",
      "#7 naming to 127.0.0.1:5999/fx/ok:1 done",
      "#7 DONE 0.1s",
      "Successfully tagged 127.0.0.1:5999/fx/ok:1",
    ]);
  });

  it("cached build → CACHED steps", () => {
    const { lines, failure } = replay("engine-build-cached.ndjson");
    expect(failure).toBeUndefined();
    expect(lines).toEqual(
      expect.arrayContaining([`#5 ${RUN}`, "#5 CACHED", "#6 [3/3] COPY index.js /app/", "#6 CACHED"]),
    );
  });

  it("RUN with a syntax error (HTTP 200 stream) → failure naming the SyntaxError line and the executor error", () => {
    const { lines, failure } = replay("engine-build-syntax-error.ndjson");
    const executor = `executor failed running [/bin/sh -c node -e "syntax error("]: exit code: 1`;
    expect(failure?.reason).toBe(executor);
    expect(failure?.lastErrorLine).toBe("SyntaxError: Unexpected identifier 'error'");
    expect(failure?.message).toBe(`SyntaxError: Unexpected identifier 'error' (${executor})`);
    expect(lines).toEqual(
      expect.arrayContaining([
        `#5 [2/2] RUN node -e "syntax error("`,
        "#5 SyntaxError: Unexpected identifier 'error'",
        `#5 ERROR: ${executor}`,
        `ERROR: ${executor}`,
      ]),
    );
  });

  it("errorDetail without any trace (Dockerfile parse error) → failure with the Engine's message", () => {
    const lines: string[] = [];
    const progress = createEngineProgress((line) => lines.push(line));
    const message = "dockerfile parse error line 1: unknown instruction: FORM";
    progress.message({ stream: "Step 1\nStep 2\n" });
    progress.message({ errorDetail: { message }, error: message });
    const { failure } = progress.finish();
    expect(failure?.message).toBe(message);
    expect(lines).toEqual(["Step 1", "Step 2", `ERROR: ${message}`]);
  });
});
