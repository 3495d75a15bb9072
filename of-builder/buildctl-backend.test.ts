// No buildkitd runs on this machine (DESIGN §8 builds through dockerd), so the buildctl backend is tested on its
// command line, on rawjson lines written by hand from the documented shape (moby/buildkit client/graph.go json tags,
// `--progress rawjson`, one SolveStatus per line, []byte as base64), and end to end against a stand-in `buildctl`
// script that replays those lines and writes a metadata file, as buildctl v0.13 does.
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BuildFailure } from "./backend.js";
import { buildctlArgs, createBuildctlBackend, createRawJsonReader } from "./buildctl-backend.js";

const b64 = (text: string) => Buffer.from(text).toString("base64");
const DOCKERFILE = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
const FROM = "sha256:2222222222222222222222222222222222222222222222222222222222222222";
const RUN = "sha256:3333333333333333333333333333333333333333333333333333333333333333";
const T = (s: string) => `2024-05-01T10:00:${s}Z`;
const failed = `process "/bin/sh -c npm ci" did not complete successfully: exit code: 1`;

const SUCCESS = [
  {
    vertexes: [
      { digest: DOCKERFILE, name: "[internal] load build definition from Dockerfile", started: T("00.000000001") },
    ],
  },
  {
    vertexes: [
      {
        digest: DOCKERFILE,
        name: "[internal] load build definition from Dockerfile",
        started: T("00.000000001"),
        completed: T("00.120000000"),
      },
    ],
    statuses: [
      {
        id: "transferring dockerfile:",
        vertex: DOCKERFILE,
        current: 118,
        timestamp: T("00.1"),
        started: T("00.0"),
        completed: T("00.1"),
      },
    ],
  },
  {
    vertexes: [
      {
        digest: FROM,
        name: "[1/2] FROM docker.io/library/node:20-alpine",
        cached: true,
        started: T("01"),
        completed: T("01"),
      },
    ],
  },
  { vertexes: [{ digest: RUN, inputs: [FROM], name: "[2/2] RUN npm ci", started: T("01.5") }] },
  { logs: [{ vertex: RUN, stream: 1, data: b64("added 3 pack"), timestamp: T("02") }] },
  { logs: [{ vertex: RUN, stream: 1, data: b64("ages in 1s\n"), timestamp: T("02.1") }] },
  { vertexes: [{ digest: RUN, inputs: [FROM], name: "[2/2] RUN npm ci", started: T("01.5"), completed: T("03.5") }] },
].map((status) => JSON.stringify(status));

const FAILURE = [
  { vertexes: [{ digest: RUN, name: "[2/2] RUN npm ci", started: T("01.5") }] },
  {
    logs: [
      {
        vertex: RUN,
        stream: 2,
        data: b64("npm ERR! code E404\nnpm ERR! 404 Not Found - GET https://registry.npmjs.org/nope\n"),
        timestamp: T("02"),
      },
    ],
  },
  { vertexes: [{ digest: RUN, name: "[2/2] RUN npm ci", started: T("01.5"), completed: T("02.5"), error: failed }] },
]
  .map((status) => JSON.stringify(status))
  .concat([`error: failed to solve: ${failed}`]);

function read(lines: string[], exitCode: number) {
  const out: string[] = [];
  const reader = createRawJsonReader((line) => out.push(line));
  lines.forEach((line) => reader.line(line));
  return { lines: out, failure: reader.finish(exitCode) };
}

describe("buildctlArgs", () => {
  it("context, ref and build args → the canonical buildctl build command with rawjson and a metadata file", () => {
    const args = buildctlArgs({
      addr: "tcp://buildkitd:1234",
      contextDir: "/tmp/buildctx-1/build/context",
      ref: "registry:5000/alice/fn:latest-abc1234",
      buildArgs: { http_proxy: "http://proxy:3128", NODE_IMAGE: "node:20-alpine" },
      metadataFile: "/tmp/buildctx-1/build/buildctl-metadata.json",
    });
    expect(args).toEqual([
      "--addr", "tcp://buildkitd:1234",
      "build", "--frontend", "dockerfile.v0",
      "--local", "context=/tmp/buildctx-1/build/context",
      "--local", "dockerfile=/tmp/buildctx-1/build/context",
      "--opt", "build-arg:http_proxy=http://proxy:3128",
      "--opt", "build-arg:NODE_IMAGE=node:20-alpine",
      "--output", "type=image,name=registry:5000/alice/fn:latest-abc1234,push=true",
      "--progress", "rawjson",
      "--metadata-file", "/tmp/buildctx-1/build/buildctl-metadata.json",
    ]); // prettier-ignore
  });

  it.each([
    ["a ref with a comma (would add exporter attributes)", "reg/a:1,registry.insecure=true", {}],
    ["an upper-case ref", "reg/Alice:1", {}],
    ["a build arg name with '='", "reg/a:1", { "A=B": "c" }],
  ])("%s → BuildFailure", (_, ref, buildArgs) => {
    const cmd = { addr: "unix:///x", contextDir: "/c", ref, buildArgs, metadataFile: "/m" };
    expect(() => buildctlArgs(cmd)).toThrow(BuildFailure);
  });
});

describe("createRawJsonReader", () => {
  it("successful rawjson stream, exit 0 → plain-progress lines and no failure", () => {
    expect(read(SUCCESS, 0)).toEqual({
      lines: [
        "#1 [internal] load build definition from Dockerfile",
        "#1 transferring dockerfile: 118B done",
        "#1 DONE 0.1s",
        "#2 [1/2] FROM docker.io/library/node:20-alpine",
        "#2 CACHED",
        "#3 [2/2] RUN npm ci",
        "#3 added 3 packages in 1s",
        "#3 DONE 2.0s",
      ],
      failure: undefined,
    });
  });

  it("failed step and buildctl's `error:` line, exit 1 → BuildFailure with the solve error and the npm ERR! line", () => {
    const { lines, failure } = read(FAILURE, 1);
    expect(failure?.reason).toBe(`failed to solve: ${failed}`);
    expect(failure?.lastErrorLine).toBe("npm ERR! 404 Not Found - GET https://registry.npmjs.org/nope");
    expect(lines).toEqual([
      "#1 [2/2] RUN npm ci",
      "#1 npm ERR! code E404",
      "#1 npm ERR! 404 Not Found - GET https://registry.npmjs.org/nope",
      `#1 ERROR: ${failed}`,
      `error: failed to solve: ${failed}`,
    ]);
  });

  it("non-JSON output and exit 2 without an error line → passed through, failure names the exit code", () => {
    const { lines, failure } = read(["buildctl: unknown flag", "{not json"], 2);
    expect(lines).toEqual(["buildctl: unknown flag", "{not json"]);
    expect(failure?.message).toBe("buildctl exited with code 2");
  });
});

describe("createBuildctlBackend with a stand-in buildctl", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "buildctl-"));
    await mkdir(join(dir, "build", "context"), { recursive: true });
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  /** A `buildctl` that records its argv and DOCKER_CONFIG, prints `lines` to stderr, writes metadata, exits `code`. */
  async function standIn(lines: string[], code: number): Promise<string> {
    const script = join(dir, "buildctl");
    const metadata = { "containerimage.digest": "sha256:" + "d".repeat(64), "image.name": "reg/a:1" };
    await writeFile(
      script,
      `#!/usr/bin/env node
const fs = require("node:fs");
const argv = process.argv.slice(2);
fs.writeFileSync(${JSON.stringify(join(dir, "called.json"))}, JSON.stringify({ argv, dockerConfig: process.env.DOCKER_CONFIG }));
process.stderr.write(${JSON.stringify(lines.join("\n") + "\n")});
if (${code} === 0) fs.writeFileSync(argv[argv.indexOf("--metadata-file") + 1], ${JSON.stringify(JSON.stringify(metadata))});
process.exit(${code});
`,
    );
    await chmod(script, 0o755);
    return script;
  }

  const backend = (buildctl: string) =>
    createBuildctlBackend({
      addr: "tcp://bk:1234",
      env: { PATH: process.env.PATH ?? "", DOCKER_CONFIG: "/home/app/.docker" },
      buildctl,
    });

  it("exit 0 → digest from the metadata file, log lines streamed, DOCKER_CONFIG passed through", async () => {
    const lines: string[] = [];
    const contextDir = join(dir, "build", "context");
    const outcome = await backend(await standIn(SUCCESS, 0)).build({
      contextDir,
      ref: "Reg/A:1",
      buildArgs: {},
      onLog: (line) => lines.push(line),
    });
    expect(outcome).toEqual({ digest: "sha256:" + "d".repeat(64) });
    expect(lines).toContain("#3 added 3 packages in 1s");
    const called = JSON.parse(await readFile(join(dir, "called.json"), "utf8")) as {
      argv: string[];
      dockerConfig: string;
    };
    expect(called.dockerConfig).toBe("/home/app/.docker");
    expect(called.argv).toContain("type=image,name=reg/a:1,push=true");
    expect(called.argv).toContain(`context=${contextDir}`);
  });

  it("exit 1 → BuildFailure with buildctl's error", async () => {
    const build = backend(await standIn(FAILURE, 1)).build({
      contextDir: join(dir, "build", "context"),
      ref: "reg/a:1",
      buildArgs: {},
      onLog: () => {},
    });
    await expect(build).rejects.toThrow(
      new BuildFailure(`failed to solve: ${failed}`, "npm ERR! 404 Not Found - GET https://registry.npmjs.org/nope"),
    );
  });

  it("no buildctl binary → a fault (not a BuildFailure)", async () => {
    const build = backend(join(dir, "missing")).build({
      contextDir: dir,
      ref: "reg/a:1",
      buildArgs: {},
      onLog: () => {},
    });
    await expect(build).rejects.toThrow(/ENOENT/);
  });
});
