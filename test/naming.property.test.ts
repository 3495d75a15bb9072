import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import fc from "fast-check";
import { parse, parseAllDocuments } from "yaml";
import { isHttpError } from "../shared/http-error.js";
import { functionName, gitlabOwner, imageName, previewFunctionName, secretName } from "../shared/naming.js";

// Issue #10 item 1: (owner, function) → deployed name and (owner, secret) → secret name are injective and never give
// a system name, for every login GitHub allows. The system's names are read from the files that deploy them.
const ROOT = join(import.meta.dirname, "..");

/** Functions and secrets of the root stack.yml, every object name under yaml/, the compose services and secrets. */
async function systemNames(): Promise<{ functions: string[]; secrets: string[] }> {
  const stack = parse(await readFile(join(ROOT, "stack.yml"), "utf8")) as {
    functions: Record<string, { secrets?: string[] }>;
  };
  const objects: string[] = [];
  for (const file of (await readdir(join(ROOT, "yaml"))).filter((f) => f.endsWith(".yaml"))) {
    for (const doc of parseAllDocuments(await readFile(join(ROOT, "yaml", file), "utf8"))) {
      const name = (doc.toJS() as { metadata?: { name?: unknown } } | null)?.metadata?.name;
      if (typeof name === "string") objects.push(name);
    }
  }
  const compose = parse(await readFile(join(ROOT, "docker-compose.yml"), "utf8")) as {
    services: Record<string, unknown>;
    secrets?: Record<string, unknown>;
  };
  const listed = [...(await readFile(join(ROOT, "yaml", "secrets.md"), "utf8")).matchAll(/^\| `([^`]+)`/gm)].map(
    (m) => m[1]!,
  );
  // The OpenFaaS and original OpenFaaS Cloud components an operator may run beside the stages.
  const components = ["gateway", "queue-worker", "nats", "prometheus", "alertmanager", "basic-auth", "faas-idler"];
  const original = ["system-github-event", "github-status", "import-secrets", "list-functions", "audit-event"];
  const edge = ["edge-router", "edge-auth", "system-dashboard", "of-builder", "buildkitd", "registry"];
  return {
    functions: [...Object.keys(stack.functions), ...Object.keys(compose.services), ...components, ...original, ...edge],
    secrets: [
      ...Object.values(stack.functions).flatMap((fn) => fn.secrets ?? []),
      ...listed,
      ...Object.keys(compose.secrets ?? {}),
      ...objects,
      "registry-auth",
      "basic-auth",
    ],
  };
}

const ALNUM = [..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"];
/** Hyphen-joined runs of `chars`, 1 to `max` characters; a small alphabet makes near-collisions likely. */
const hyphenated = (chars: string[], max: number) =>
  fc
    .array(fc.string({ unit: fc.constantFrom(...chars), minLength: 1, maxLength: max }), { minLength: 1, maxLength: 6 })
    .map((runs) => runs.join("-"))
    .filter((s) => s.length <= max);

/** Valid GitHub logins: alphanumerics and single hyphens, 1-39 characters, any case, digits-only included. */
const login = fc.oneof(
  hyphenated(["a", "b", "A"], 39),
  hyphenated(ALNUM, 39),
  fc.string({ unit: fc.constantFrom(..."0123456789"), minLength: 1, maxLength: 39 }),
  fc.string({ unit: fc.constantFrom(...ALNUM), minLength: 39, maxLength: 39 }),
  fc.constantFrom("alice", "alice-bob", "bob", "github", "private", "payload", "basic", "s3", "s3-secret", "of"),
);
/** Valid stack.yml function names: DNS-1123 labels without "--". */
const fnName = fc.oneof(
  hyphenated(["a", "b"], 24),
  hyphenated([..."abcdefghijklmnopqrstuvwxyz0123456789"], 60),
  fc.constantFrom("api", "bob-api", "event", "push", "key", "secret", "secret-key", "auth-user"),
);
/** Valid stack.yml secret names: DNS-1123 subdomains without "--". */
const secretPart = fc.oneof(
  fnName,
  fc.tuple(fnName, fnName).map(([a, b]) => `${a}.${b}`),
);
/** GitHub repository names the registry can hold (others are refused, not mapped). */
const repoName = fc.oneof(hyphenated(["a", "b"], 20), hyphenated([..."ab.-_"], 20), hyphenated(ALNUM, 100));

/** Short runs joined by "-": one string cut in different places gives the pairs a weak separator confuses. */
const runs = fc.array(fc.string({ unit: fc.constantFrom("a", "b", "1"), minLength: 1, maxLength: 4 }), {
  minLength: 3,
  maxLength: 8,
});
const cut = (parts: string[], ...at: number[]) =>
  [0, ...at].map((start, i) => parts.slice(start, [...at, parts.length][i]).join("-"));
/** Two (owner, name) pairs: independent, or the same hyphenated string cut at two places (alice+bob-api, alice-bob+api). */
const twoPairs = (name: fc.Arbitrary<string>) =>
  fc.oneof(
    fc.tuple(fc.tuple(login, name), fc.tuple(login, name)),
    runs.chain((parts) =>
      fc
        .tuple(fc.integer({ min: 1, max: parts.length - 1 }), fc.integer({ min: 1, max: parts.length - 1 }))
        .map(([i, j]) => [cut(parts, i), cut(parts, j)] as [[string, string], [string, string]]),
    ),
  );
/** Two (owner, repo, function) triples: independent, or one hyphenated string cut in three at two places. */
const twoTriples = fc.oneof(
  fc.tuple(fc.tuple(login, repoName, fnName), fc.tuple(login, repoName, fnName)),
  runs.chain((parts) => {
    const split = fc
      .tuple(fc.integer({ min: 1, max: parts.length - 1 }), fc.integer({ min: 1, max: parts.length - 1 }))
      .filter(([i, k]) => i < k);
    return fc
      .tuple(split, split)
      .map(([[i1, k1], [i2, k2]]) => [cut(parts, i1, k1), cut(parts, i2, k2)] as [string[], string[]]);
  }),
);

/** The name, or undefined when the pair is refused (too long for its kind): a refusal cannot collide. */
function attempt(make: () => string): string | undefined {
  try {
    return make();
  } catch (error) {
    if (isHttpError(error) && error.status === 400) return undefined;
    throw error;
  }
}

let system: { functions: string[]; secrets: string[] };
beforeAll(async () => {
  system = await systemNames();
});

describe("the system's names", () => {
  it("are all read, and none contains the separator", () => {
    expect(system.functions).toEqual(
      expect.arrayContaining([
        "github-event",
        "github-push",
        "git-tar",
        "buildshiprun",
        "garbage-collect",
        "pipeline-log",
      ]),
    );
    expect(system.secrets).toEqual(
      expect.arrayContaining(["github-webhook-secret", "payload-secret", "private-key", "s3-secret-key", "customers"]),
    );
    expect([...system.functions, ...system.secrets].filter((n) => n.includes("--"))).toEqual([]);
  });
});

describe("functionName", () => {
  it("distinct (owner, function) pairs (logins case-insensitive) → distinct names", () => {
    fc.assert(
      fc.property(twoPairs(fnName), ([[o1, f1], [o2, f2]]) => {
        const a = attempt(() => functionName(o1, f1));
        const b = attempt(() => functionName(o2, f2));
        if (a === undefined || b === undefined) return;
        expect(a === b).toBe(o1.toLowerCase() === o2.toLowerCase() && f1 === f2);
      }),
      { numRuns: 5000 },
    );
  });

  it("the owner is exactly what precedes the first --: the name decodes to its pair", () => {
    fc.assert(
      fc.property(login, fnName, (owner, fn) => {
        const name = attempt(() => functionName(owner, fn));
        if (name === undefined) return;
        expect(name.split("--")).toEqual([owner.toLowerCase(), fn]);
      }),
      { numRuns: 2000 },
    );
  });

  it("never a system function's name", () => {
    fc.assert(
      fc.property(login, fnName, (owner, fn) => {
        const name = attempt(() => functionName(owner, fn));
        expect(system.functions).not.toContain(name);
      }),
      { numRuns: 5000 },
    );
  });

  it("the same property over the original's <owner>-<fn> finds a collision (the property can fail)", () => {
    const original = (o: string, f: string) => `${o}-${f}`.toLowerCase();
    const result = fc.check(
      fc.property(twoPairs(fnName), ([[o1, f1], [o2, f2]]) => {
        const same = o1.toLowerCase() === o2.toLowerCase() && f1 === f2;
        return (original(o1, f1) === original(o2, f2)) === same;
      }),
    );
    expect(result.failed).toBe(true);
  });
});

describe("secretName", () => {
  it("distinct (owner, secret) pairs → distinct names", () => {
    fc.assert(
      fc.property(twoPairs(secretPart), ([[o1, s1], [o2, s2]]) => {
        const a = attempt(() => secretName(o1, s1));
        const b = attempt(() => secretName(o2, s2));
        if (a === undefined || b === undefined) return;
        expect(a === b).toBe(o1.toLowerCase() === o2.toLowerCase() && s1 === s2);
      }),
      { numRuns: 5000 },
    );
  });

  it("never a system secret's name", () => {
    fc.assert(
      fc.property(login, secretPart, (owner, secret) => {
        expect(system.secrets).not.toContain(attempt(() => secretName(owner, secret)));
      }),
      { numRuns: 5000 },
    );
  });
});

describe("imageName", () => {
  const sha = "04b8e44aaaabbbbccccddddeeeeffff000011112";
  it.each([
    ["one account per owner", "registry:5000"],
    ["one shared account", "docker.io/of-community/"],
  ])("%s: distinct (owner, repo, function) → distinct images", (_, registry) => {
    fc.assert(
      fc.property(twoTriples, ([[o1 = "", r1 = "", f1 = ""], [o2 = "", r2 = "", f2 = ""]]) => {
        const a = attempt(() => imageName(registry, o1, r1, f1, sha));
        const b = attempt(() => imageName(registry, o2, r2, f2, sha));
        if (a === undefined || b === undefined) return;
        const same = o1.toLowerCase() === o2.toLowerCase() && r1.toLowerCase() === r2.toLowerCase() && f1 === f2;
        expect(a === b).toBe(same);
      }),
      { numRuns: 5000 },
    );
  });
});

describe("the issue's counterexamples", () => {
  it.each([
    ["alice", "bob-api", "alice-bob", "api"],
    ["alice", "bob-db", "alice-bob", "db"],
  ])("%s + %s and %s + %s → two different names", (o1, n1, o2, n2) => {
    expect(functionName(o1, n1)).not.toBe(functionName(o2, n2));
    expect(secretName(o1, n1)).not.toBe(secretName(o2, n2));
  });

  it.each([
    ["github", "event", "github--event"],
    ["github", "push", "github--push"],
    ["git", "tar", "git--tar"],
    ["garbage", "collect", "garbage--collect"],
    ["pipeline", "log", "pipeline--log"],
    ["of", "builder", "of--builder"],
    ["edge", "router", "edge--router"],
    ["system", "dashboard", "system--dashboard"],
  ])("function: %s + %s → %s, not the system's", (owner, fn, expected) => {
    expect(functionName(owner, fn)).toBe(expected);
    expect(system.functions).toContain(`${owner}-${fn}`);
  });

  it.each([
    ["private", "key", "private--key"],
    ["payload", "secret", "payload--secret"],
    ["s3", "secret-key", "s3--secret-key"],
    ["s3-secret", "key", "s3-secret--key"],
    ["s3", "access-key", "s3--access-key"],
    ["basic", "auth-user", "basic--auth-user"],
    ["basic-auth", "password", "basic-auth--password"],
    ["github", "webhook-secret", "github--webhook-secret"],
    ["registry", "secret", "registry--secret"],
  ])("secret: %s + %s → %s, not the system's", (owner, secret, expected) => {
    expect(secretName(owner, secret)).toBe(expected);
    expect(system.secrets).toContain(`${owner}-${secret}`);
  });

  it("every split of every system name at a hyphen (owner + rest) → never a system name", () => {
    const splits = (name: string) =>
      [...name.matchAll(/-/g)].map((m) => [name.slice(0, m.index), name.slice(m.index + 1)] as const);
    for (const name of system.functions)
      for (const [owner, fn] of splits(name))
        expect(system.functions).not.toContain(attempt(() => functionName(owner, fn)));
    for (const name of system.secrets)
      for (const [owner, secret] of splits(name))
        expect(system.secrets).not.toContain(attempt(() => secretName(owner, secret)));
  });
});

// Issue #19: GitLab namespaces (users, groups, subgroups) are owners too, as keys `<slug>-<h8>--gl`. No key is a GitHub
// login, and no name of a GitLab owner is a name of a GitHub owner, whatever the inputs.
/** GitLab namespace paths: 1-4 segments of letters (mixed case), digits, "_", "." and "-", joined by "/". */
const gitlabPath = fc.oneof(
  fc
    .array(fc.string({ unit: fc.constantFrom(..."aAbB01_.-"), minLength: 1, maxLength: 12 }), {
      minLength: 1,
      maxLength: 4,
    })
    .map((segments) => segments.join("/")),
  fc.array(hyphenated(ALNUM, 30), { minLength: 1, maxLength: 3 }).map((segments) => segments.join("/")),
  fc.constantFrom("alice", "group", "group/sub", "Group/Sub", "group_sub", "group.sub", "group-sub", "a/b/c/d"),
);
/** A GitHub login, lowercased, with what a GitLab owner's name would hold in its place: near misses on purpose. */
const githubNearGitlab = gitlabPath.map((path) => gitlabOwner(path).slice(0, -"--gl".length));
const githubOwner = fc.oneof(login, githubNearGitlab);
/** Function names including the reserved "gl" and names that look like preview keys or GitLab suffixes. */
const anyFn = fc.oneof(fnName, fc.constantFrom("gl", "gl-api", "api-0123456789", "x-2d711642b7"));
/** Repository names, including those a GitHub owner would need to imitate a GitLab shared-account image. */
const anyRepo = fc.oneof(
  repoName,
  repoName.map((r) => `gl--${r}`),
  fc.constantFrom("gl", "gl-", "project"),
);
const branch = fc.oneof(fc.constantFrom("main", "x", "feature/a"), fc.string({ maxLength: 30 }));

describe("GitLab owner keys", () => {
  it("no key of any namespace path is a GitHub login (keys hold --, logins never do)", () => {
    fc.assert(
      fc.property(gitlabPath, login, (path, gh) => {
        const key = gitlabOwner(path);
        expect(key).not.toBe(gh.toLowerCase());
        expect(/^[a-z0-9](?:-?[a-z0-9])*$/.test(key)).toBe(false);
        expect(key).toMatch(/^[a-z0-9](?:-?[a-z0-9])*--gl$/);
        expect(key.length).toBeLessThanOrEqual(40);
      }),
      { numRuns: 5000 },
    );
  });

  it("distinct namespace paths (case-insensitively) → distinct keys; the same path in any case → one key", () => {
    fc.assert(
      fc.property(gitlabPath, gitlabPath, (a, b) => {
        expect(gitlabOwner(a) === gitlabOwner(b)).toBe(a.toLowerCase() === b.toLowerCase());
        expect(gitlabOwner(a.toUpperCase())).toBe(gitlabOwner(a));
      }),
      { numRuns: 5000 },
    );
  });

  it("functionName and secretName of a GitLab owner never equal a GitHub owner's", () => {
    fc.assert(
      fc.property(githubOwner, gitlabPath, anyFn, anyFn, secretPart, secretPart, (gh, path, f1, f2, s1, s2) => {
        const gl = gitlabOwner(path);
        const a = attempt(() => functionName(gh, f1));
        const b = attempt(() => functionName(gl, f2));
        if (a !== undefined && b !== undefined) expect(a).not.toBe(b);
        const c = attempt(() => secretName(gh, s1));
        const d = attempt(() => secretName(gl, s2));
        if (c !== undefined && d !== undefined) expect(c).not.toBe(d);
      }),
      { numRuns: 5000 },
    );
  });

  it("a GitHub preview (or main) name never equals a GitLab main or preview name", () => {
    fc.assert(
      fc.property(githubOwner, gitlabPath, anyFn, anyFn, branch, branch, (gh, path, f1, f2, b1, b2) => {
        const gl = gitlabOwner(path);
        const github = [attempt(() => previewFunctionName(gh, f1, b1)), attempt(() => functionName(gh, f1))];
        const gitlab = [attempt(() => functionName(gl, f2)), attempt(() => previewFunctionName(gl, f2, b2))];
        for (const a of github) for (const b of gitlab) if (a !== undefined && b !== undefined) expect(a).not.toBe(b);
      }),
      { numRuns: 5000 },
    );
  });

  it('the near miss: GitHub owner <slug>-<h8>\'s preview of a function "gl" would be the GitLab main name: refused', () => {
    fc.assert(
      fc.property(gitlabPath, fnName, (path, fn) => {
        const gl = gitlabOwner(path);
        const name = attempt(() => functionName(gl, fn));
        if (name === undefined) return;
        expect(name).toBe(`${gl.slice(0, -4)}--gl--${fn}`);
        expect(attempt(() => previewFunctionName(gl.slice(0, -4), "gl", "main"))).toBeUndefined();
      }),
      { numRuns: 1000 },
    );
  });

  it.each([
    ["one account per owner", "registry:5000"],
    ["one shared account", "docker.io/of-community/"],
  ])("%s: a GitHub owner's image never equals a GitLab owner's", (_, registry) => {
    const sha = "04b8e44aaaabbbbccccddddeeeeffff000011112";
    fc.assert(
      fc.property(githubOwner, gitlabPath, anyRepo, anyRepo, anyFn, anyFn, (gh, path, r1, r2, f1, f2) => {
        const a = attempt(() => imageName(registry, gh, r1, f1, sha));
        const b = attempt(() => imageName(registry, gitlabOwner(path), r2, f2, sha));
        if (a !== undefined && b !== undefined) expect(a).not.toBe(b);
      }),
      { numRuns: 5000 },
    );
  });

  it("the shared-account near miss: GitHub <slug>-<h8> + repository gl--<repo> is refused, not mapped", () => {
    fc.assert(
      fc.property(gitlabPath, repoName, fnName, (path, repo, fn) => {
        const gl = gitlabOwner(path);
        const image = attempt(() => imageName("docker.io/ofc/", gl, repo, fn, "04b8e44"));
        if (image === undefined) return;
        expect(
          attempt(() => imageName("docker.io/ofc/", gl.slice(0, -4), `gl--${repo}`, fn, "04b8e44")),
        ).toBeUndefined();
      }),
      { numRuns: 1000 },
    );
  });

  it("a GitLab owner's function and secret names are never the system's", () => {
    fc.assert(
      fc.property(gitlabPath, fnName, secretPart, (path, fn, secret) => {
        expect(system.functions).not.toContain(attempt(() => functionName(gitlabOwner(path), fn)));
        expect(system.secrets).not.toContain(attempt(() => secretName(gitlabOwner(path), secret)));
      }),
      { numRuns: 2000 },
    );
  });
});
