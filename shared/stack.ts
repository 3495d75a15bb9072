/**
 * stack.yml, as faas-cli reads it (anchors §B). The types are the contract between git-tar's stages; the parser
 * (`readStack`) lives below them.
 */

/** One function of a stack, with every field faas-cli knows, defaults filled in. */
export interface StackFunction {
  /** The key under `functions:`, as written. */
  name: string;
  lang: string;
  /** The handler folder as written, relative to the repository root. */
  handler: string;
  image: string;
  fprocess?: string;
  namespace?: string;
  /** `environment`, overlaid by each `environment_file` in order (faas-cli's precedence). */
  environment: Record<string, string>;
  secrets: string[];
  labels: Record<string, string>;
  annotations: Record<string, string>;
  limits?: { memory?: string; cpu?: string };
  requests?: { memory?: string; cpu?: string };
  buildArgs: Record<string, string>;
  buildOptions: string[];
  readonlyRootFilesystem?: boolean;
  skipBuild: boolean;
  constraints: string[];
}

/** A parsed stack file. */
export interface Stack {
  /** The file it came from: "stack.yml" or "stack.yaml". */
  file: string;
  version?: string;
  provider: { name: "openfaas"; gateway?: string };
  /** In the order the file declares them. */
  functions: StackFunction[];
  configuration: { templates: Array<{ name: string; source?: string }>; copy: string[] };
}
