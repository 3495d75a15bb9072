// Builds the system's own functions (stack.yml) the way the pipeline builds a user's: git-tar's shrinkwrap over
// template/, the signed build tar, and of-builder, through buildshiprun's builder client (issue #6, dogfooding).
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import axios from "axios";
import pLimit from "p-limit";
import { createBuilderClient, type BuildOutcome } from "../../functions/buildshiprun/builder-client.js";
import { shrinkwrap } from "../../functions/git-tar/shrinkwrap.js";
import { PROJECT_ROOT } from "../../local/system-stack.js";
import { packBuildContext } from "../../shared/build-tar.js";
import { readStack, type StackFunction } from "../../shared/stack.js";

export interface SystemBuild {
  name: string;
  image: string;
  outcome: BuildOutcome;
  /** Wall time of the build request, ms. */
  ms: number;
}

/**
 * Shrinkwraps and builds every function of the system's stack.yml, with images named by the stack itself:
 * `${REGISTRY}/${REPO}/ofc-ts-<fn>:${TAG}`. The first is built alone (it pays for `npm ci` and shared/'s tests, a
 * layer the rest reuse); the rest two at a time, of-builder's default max_inflight: a build's tsc and jest use one of
 * the machine's two cores each, so two at once take about the time of one. Returned in the stack's order.
 */
export async function buildSystemImages(options: {
  builderUrl: string;
  payloadSecret: string;
  registry: string;
  tag: string;
  workDir: string;
  /** A copy of the project to build instead of this checkout (a test's broken variant). */
  root?: string;
  /** Only these functions. */
  only?: string[];
}): Promise<SystemBuild[]> {
  const root = options.root ?? PROJECT_ROOT;
  const stack = await readStack(root, { REGISTRY: options.registry, REPO: "ofc", TAG: options.tag });
  const builder = createBuilderClient({ url: options.builderUrl, payloadSecret: options.payloadSecret, http: axios });
  await mkdir(options.workDir, { recursive: true });
  const build = async (fn: StackFunction): Promise<SystemBuild> => {
    const outDir = join(options.workDir, "build", fn.name);
    await shrinkwrap({
      repoDir: root,
      templatesDir: join(root, "template"),
      fn,
      copy: stack.configuration.copy,
      outDir,
    });
    const tarFile = join(options.workDir, `${fn.name}.tar`);
    await packBuildContext(outDir, { ref: fn.image }, tarFile);
    const started = Date.now();
    const outcome = await builder.build(await readFile(tarFile));
    return { name: fn.name, image: fn.image, outcome, ms: Date.now() - started };
  };
  const [first, ...rest] = stack.functions.filter((f) => !options.only || options.only.includes(f.name));
  if (!first) return [];
  const two = pLimit(2);
  return [await build(first), ...(await Promise.all(rest.map((fn) => two(() => build(fn)))))];
}
