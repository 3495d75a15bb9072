import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { z } from "zod";
import { BuildFailure, type BuildBackend } from "./backend.js";
import { createProgressPrinter } from "./progress-printer.js";

/** What `buildctl build` needs for one build (anchors §F, canonical command). */
export interface BuildctlCommand {
  addr: string;
  contextDir: string;
  ref: string;
  buildArgs: Readonly<Record<string, string>>;
  metadataFile: string;
}

// `--output` is parsed as CSV by buildctl: a comma or quote in the name would add exporter attributes.
const IMAGE_REF = /^[a-z0-9][a-z0-9._\-/:@]*$/;
const ARG_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The argv after `buildctl`: BuildKit's dockerfile frontend over the extracted context, pushed, rawjson progress. */
export function buildctlArgs(cmd: BuildctlCommand): string[] {
  if (!IMAGE_REF.test(cmd.ref)) throw new BuildFailure(`${JSON.stringify(cmd.ref)} is not a valid image reference`);
  const args = ["--addr", cmd.addr, "build", "--frontend", "dockerfile.v0"];
  args.push("--local", `context=${cmd.contextDir}`, "--local", `dockerfile=${cmd.contextDir}`);
  for (const [name, value] of Object.entries(cmd.buildArgs)) {
    if (!ARG_NAME.test(name)) throw new BuildFailure(`${JSON.stringify(name)} is not a valid build arg name`);
    args.push("--opt", `build-arg:${name}=${value}`);
  }
  args.push("--output", `type=image,name=${cmd.ref},push=true`);
  args.push("--progress", "rawjson", "--metadata-file", cmd.metadataFile);
  return args;
}

// client.SolveStatus as `--progress rawjson` prints it (moby/buildkit client/graph.go json tags): times are RFC 3339
// (Go's zero time when unset), []byte fields base64.
const time = z
  .string()
  .optional()
  .transform((t) => (t === undefined || t.startsWith("0001-") ? undefined : Date.parse(t)));
const bytes = z
  .string()
  .nullish()
  .transform((b) => Buffer.from(b ?? "", "base64"));
const RawSolveStatus = z.object({
  vertexes: z
    .array(
      z.object({
        digest: z.string(),
        name: z.string().default(""),
        cached: z.boolean().default(false),
        started: time,
        completed: time,
        error: z.string().optional(),
      }),
    )
    .nullish(),
  statuses: z
    .array(
      z.object({
        id: z.string(),
        vertex: z.string().default(""),
        name: z.string().default(""),
        current: z.number().default(0),
        total: z.number().default(0),
        completed: time,
      }),
    )
    .nullish(),
  logs: z.array(z.object({ vertex: z.string().default(""), data: bytes })).nullish(),
  warnings: z.array(z.object({ vertex: z.string().default(""), short: bytes })).nullish(),
});

/** Reads buildctl's output lines: rawjson SolveStatus objects, and plain text such as its final `error: …`. */
export interface RawJsonReader {
  line(text: string): void;
  /** Flushes buffered output; a failure when buildctl exited non-zero. */
  finish(exitCode: number | null): BuildFailure | undefined;
}

/** Creates a RawJsonReader that prints through the same printer as the docker backend. */
export function createRawJsonReader(onLog: (line: string) => void): RawJsonReader {
  const printer = createProgressPrinter(onLog);
  let error: string | undefined;
  return {
    line(text) {
      if (text.trim() === "") return;
      const parsed = text.startsWith("{") ? RawSolveStatus.safeParse(safeJson(text)) : undefined;
      if (parsed?.success) {
        const s = parsed.data;
        printer.write({
          vertexes: s.vertexes ?? [],
          statuses: s.statuses ?? [],
          logs: s.logs ?? [],
          warnings: (s.warnings ?? []).map((w) => ({ vertex: w.vertex, short: w.short.toString("utf8") })),
        });
        return;
      }
      onLog(text);
      // buildctl's last words on failure: `error: failed to solve: …`.
      if (text.startsWith("error: ")) error ??= text.slice("error: ".length);
    },
    finish(exitCode) {
      printer.flush();
      if (exitCode === 0) return undefined;
      return new BuildFailure(error ?? `buildctl exited with code ${exitCode}`, printer.lastErrorLine());
    },
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** What the buildctl backend needs: the buildkitd address and the child's environment (PATH, DOCKER_CONFIG). */
export interface BuildctlDeps {
  addr: string;
  env: Readonly<Record<string, string>>;
  /** The binary; `buildctl` on PATH by default (the image ships it). */
  buildctl?: string;
}

/** Builds and pushes with `buildctl` against buildkitd (DESIGN §6); the digest comes from the metadata file. */
export function createBuildctlBackend(deps: BuildctlDeps): BuildBackend {
  return {
    async build({ contextDir, ref, buildArgs, onLog, signal }) {
      // The extracted context lives in a per-build temp folder that the server removes afterwards.
      const metadataFile = join(dirname(contextDir), "buildctl-metadata.json");
      // Lower-cased as the original did for the exporter name (original-spec §6).
      const args = buildctlArgs({ addr: deps.addr, contextDir, ref: ref.toLowerCase(), buildArgs, metadataFile });
      const child = spawn(deps.buildctl ?? "buildctl", args, {
        env: { ...deps.env },
        stdio: ["ignore", "pipe", "pipe"],
      });
      const onAbort = () => child.kill("SIGTERM");
      signal?.addEventListener("abort", onAbort, { once: true });
      const reader = createRawJsonReader(onLog);
      // rawjson goes to stderr (buildctl's progress writer); read both streams so neither pipe fills up.
      const done = Promise.all(
        [child.stdout, child.stderr].map(async (stream) => {
          for await (const line of createInterface({ input: stream, crlfDelay: Infinity })) reader.line(line);
        }),
      );
      const exitCode = await new Promise<number | null>((resolve, reject) => {
        child.on("error", reject);
        child.on("close", resolve);
      }).finally(() => signal?.removeEventListener("abort", onAbort));
      await done;
      if (signal?.aborted) throw new Error("build cancelled", { cause: signal.reason });
      const failure = reader.finish(exitCode);
      if (failure) throw failure;
      const metadata = JSON.parse(await readFile(metadataFile, "utf8")) as Record<string, unknown>;
      const digest = metadata["containerimage.digest"];
      return typeof digest === "string" ? { digest } : {};
    },
  };
}
