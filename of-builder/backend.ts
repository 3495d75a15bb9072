import type { StageTimer } from "../shared/stage-timing.js";

/** What a backend builds: the extracted `context/` folder, pushed as `ref` (DESIGN §6). */
export interface BuildRequest {
  contextDir: string;
  ref: string;
  buildArgs: Readonly<Record<string, string>>;
  /** Each readable progress line, as it comes. */
  onLog: (line: string) => void;
  /** Cancels the build (client gone, or shutdown past its grace period). */
  signal?: AbortSignal;
  /** Where a backend that builds and pushes in two steps times each (issue #16). */
  timer?: StageTimer;
}

/** A pushed image; the digest when the backend learns it. */
export interface BuildOutcome {
  digest?: string;
}

/** The docker and buildkit backends (DESIGN §6) share this shape. */
export interface BuildBackend {
  /** Builds and pushes; throws a BuildFailure when the build or the push failed. */
  build(request: BuildRequest): Promise<BuildOutcome>;
}

/**
 * A failed build: the builder's own error, and the last error-looking line of the failing step's output (the
 * `SyntaxError: …` a user needs, where the builder only says "exit code: 1").
 */
export class BuildFailure extends Error {
  readonly reason: string;
  readonly lastErrorLine: string | undefined;

  constructor(reason: string, lastErrorLine?: string) {
    super(lastErrorLine ? `${lastErrorLine} (${reason})` : reason);
    this.name = "BuildFailure";
    this.reason = reason;
    this.lastErrorLine = lastErrorLine;
  }
}
