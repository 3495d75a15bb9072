// Builds the system's own functions (stack.yml) the way the pipeline builds a user's: git-tar's shrinkwrap over
// template/, the signed build tar, and of-builder, through buildshiprun's builder client (issue #6, dogfooding).
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import axios from "axios";
import { createBuilderClient, type BuildOutcome } from "../../functions/buildshiprun/builder-client.js";
import { shrinkwrap } from "../../functions/git-tar/shrinkwrap.js";
import { PROJECT_ROOT } from "../../local/system-stack.js";
import { packBuildContext } from "../../shared/build-tar.js";
import { readStack } from "../../shared/stack.js";

export interface SystemBuild {
  name: string;
  image: string;
  outcome: BuildOutcome;
  /** Wall time of the build request, ms. */
  ms: number;
}

/**
 * Shrinkwraps and builds every function of the system's stack.yml, one after another (the first pays for
 * `npm ci`; the rest reuse its layer), with images named by the stack itself: `${REGISTRY}/${REPO}/ofc-ts-<fn>:${TAG}`.
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
  const builds: SystemBuild[] = [];
  await mkdir(options.workDir, { recursive: true });
  for (const fn of stack.functions.filter((f) => !options.only || options.only.includes(f.name))) {
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
    builds.push({ name: fn.name, image: fn.image, outcome, ms: Date.now() - started });
  }
  return builds;
}
