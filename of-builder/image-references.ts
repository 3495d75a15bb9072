import { HttpError } from "../shared/http-error.js";
import { registryOf } from "./registry-auth.js";

/**
 * Every image a Dockerfile makes the builder resolve: `FROM`, `COPY`/`ADD --from=`, `RUN --mount=…,from=` and the
 * `# syntax=` frontend, with build args substituted as BuildKit would (global `ARG` defaults, overridden by the
 * build's args). Stage names and stage indexes are not images and are left out.
 */
export function imageReferences(dockerfile: string, buildArgs: Readonly<Record<string, string>>): string[] {
  const lines = logicalLines(dockerfile);
  const refs: string[] = [];
  const syntax = /^#\s*syntax\s*=\s*(\S+)/i.exec(dockerfile.trimStart());
  if (syntax) refs.push(syntax[1] as string);

  const args = new Map<string, string>();
  const stages = new Set<string>();
  let seenFrom = false;
  const expand = (value: string) => substitute(value, args);
  const addUnlessStage = (value: string) => {
    const image = expand(value);
    if (!stages.has(image.toLowerCase()) && !/^\d+$/.test(image)) refs.push(image);
  };

  for (const line of lines) {
    // split() always yields a first element.
    const [instruction, ...rest] = line.split(/\s+/) as [string, ...string[]];
    const word = instruction.toUpperCase();
    if (word === "ARG" && !seenFrom) {
      // Only ARGs before the first FROM are in scope for FROM lines (the Dockerfile reference's rule).
      for (const decl of rest) {
        const [name, ...value] = decl.split("=") as [string, ...string[]];
        args.set(name, buildArgs[name] ?? unquote(value.join("=")));
      }
    } else if (word === "FROM") {
      seenFrom = true;
      const words = rest.filter((w) => !w.startsWith("--"));
      if (words[0] !== undefined) addUnlessStage(words[0]);
      if (words[1]?.toUpperCase() === "AS" && words[2]) stages.add(words[2].toLowerCase());
    } else if (word === "COPY" || word === "ADD") {
      for (const flag of rest) {
        const from = /^--from=(.+)/i.exec(flag);
        if (from) addUnlessStage(from[1] as string);
      }
    } else if (word === "RUN") {
      for (const flag of rest) {
        if (!/^--mount=/i.test(flag)) continue;
        const from = /(?:^--mount=|,)from=([^,]+)/i.exec(flag);
        if (from) addUnlessStage(from[1] as string);
      }
    }
  }
  return refs;
}

/**
 * Refuses a build whose Dockerfile reaches into the push registry for anything but its own repository or the
 * operator's base images (issue #10): the builder holds credentials for every tenant's images there, so a
 * `FROM <registry>/bob/api--fn` in alice's Dockerfile would hand her bob's code. A reference whose variables cannot
 * be resolved is refused too, since nobody can tell where it points.
 */
export function checkImageReferences(
  dockerfile: string,
  build: { ref: string; buildArgs: Readonly<Record<string, string>>; allowed: readonly string[] },
): void {
  const registry = registryOf(build.ref);
  const own = repositoryOf(build.ref);
  const allowed = new Set(build.allowed.map((image) => image.toLowerCase()));
  for (const image of imageReferences(dockerfile, build.buildArgs)) {
    if (image.includes("$")) {
      throw new HttpError(400, `Dockerfile: cannot resolve the image reference ${JSON.stringify(image)}`);
    }
    if (registryOf(image) !== registry) continue;
    if (repositoryOf(image) === own || allowed.has(image.toLowerCase())) continue;
    throw new HttpError(
      400,
      `Dockerfile: ${JSON.stringify(image)} is another repository in the build registry; only the base images and this function's own image may be used`,
    );
  }
}

/** `host:5000/a/b:tag@sha256:…` → `host:5000/a/b`, lowercased. */
function repositoryOf(image: string): string {
  const withoutDigest = image.split("@")[0] as string;
  const lastSlash = withoutDigest.lastIndexOf("/");
  const colon = withoutDigest.indexOf(":", lastSlash + 1);
  // Stryker disable next-line MethodExpression: both sides of every comparison come from here, so any one case will do.
  return (colon === -1 ? withoutDigest : withoutDigest.slice(0, colon)).toLowerCase();
}

/** Joins `\`-continued lines and drops comments and blank lines (the parser directive is read separately). */
function logicalLines(text: string): string[] {
  // Stryker disable next-line ArrayDeclaration: a first line "Stryker was here" is no instruction the parser reads
  const out: string[] = [];
  let current = "";
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    // Inside a `\`-continued instruction too: BuildKit drops comment and empty lines there, so `FROM \`, `# x`,
    // `<image>` is a FROM of <image>, which must not hide behind the comment.
    if (line === "" || line.startsWith("#")) continue;
    if (line.endsWith("\\")) {
      current += `${line.slice(0, -1)} `;
      continue;
    }
    out.push(current + line);
    current = "";
  }
  // Stryker disable next-line all: a last line of only spaces, or one trailing space, parses to nothing more.
  if (current.trim() !== "") out.push(current.trim());
  return out;
}

/** `$A`, `${A}`, `${A:-default}`, `${A:+alt}` as the Dockerfile reference defines them; unknown names stay as written. */
function substitute(value: string, args: ReadonlyMap<string, string>): string {
  return value.replace(
    /\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?::([-+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g,
    (match, braced?: string, op?: string, word?: string, bare?: string) => {
      const name = (braced ?? bare) as string;
      const set = args.get(name);
      // With an operator, the word's group always takes part (maybe empty).
      if (op === "-") return set ? set : (word as string);
      if (op === "+") return set ? (word as string) : "";
      return set ?? match;
    },
  );
}

function unquote(value: string): string {
  return /^(["']).*\1$/.test(value) ? value.slice(1, -1) : value;
}
