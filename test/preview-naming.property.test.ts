import fc from "fast-check";
import { isHttpError } from "../shared/http-error.js";
import { functionName, previewFunctionName, servedName } from "../shared/naming.js";

// Issue #17: a preview's deployed name never equals a main deployment's or another (owner, function, branch)'s
// preview, and the edge router's path for it reaches exactly it.
const ALNUM = [..."abcdefghijklmnopqrstuvwxyz0123456789"];
const hyphenated = (chars: string[], max: number) =>
  fc
    .array(fc.string({ unit: fc.constantFrom(...chars), minLength: 1, maxLength: max }), { minLength: 1, maxLength: 4 })
    .map((runs) => runs.join("-"))
    .filter((s) => s.length <= max);
const login = fc.oneof(hyphenated(["a", "b"], 39), hyphenated(ALNUM, 39), fc.constantFrom("alice", "alice-bob", "bob"));
const fnName = fc.oneof(hyphenated(["a", "b"], 20), hyphenated(ALNUM, 40), fc.constantFrom("api", "bob-api", "web"));
/** Git branch names: slugs that collide often (case, "/", "_", ".", unicode), and long ones. */
const branch = fc.oneof(
  fc.string({ unit: fc.constantFrom("a", "A", "/", "-", "_", ".", "1"), minLength: 1, maxLength: 12 }),
  fc.constantFrom("main", "master", "feature/x", "Feature/X", "feature-x", "feature_x", "ü", "日本"),
  fc.string({ minLength: 1, maxLength: 80 }),
);
const triple = fc.tuple(login, fnName, branch);
/** Two triples: independent, or the same owner and function on two branches (where a weak key collides). */
const twoTriples = fc.oneof(
  fc.tuple(triple, triple),
  fc.tuple(login, fnName, branch, branch).map(
    ([o, f, b1, b2]) =>
      [
        [o, f, b1],
        [o.toUpperCase(), f, b2],
      ] as const,
  ),
);

/** The name, or undefined when refused (too long): a refusal cannot collide. */
function attempt(make: () => string): string | undefined {
  try {
    return make();
  } catch (error) {
    if (isHttpError(error) && error.status === 400) return undefined;
    throw error;
  }
}

describe("previewFunctionName", () => {
  it("distinct (owner, function, branch) → distinct names", () => {
    fc.assert(
      fc.property(twoTriples, ([[o1, f1, b1], [o2, f2, b2]]) => {
        const a = attempt(() => previewFunctionName(o1, f1, b1));
        const b = attempt(() => previewFunctionName(o2, f2, b2));
        if (a === undefined || b === undefined) return;
        expect(a === b).toBe(o1.toLowerCase() === o2.toLowerCase() && f1 === f2 && b1 === b2);
      }),
      { numRuns: 10000 },
    );
  });

  it("never any owner's main name", () => {
    fc.assert(
      fc.property(triple, login, fnName, ([o1, f1, b1], o2, f2) => {
        const preview = attempt(() => previewFunctionName(o1, f1, b1));
        const main = attempt(() => functionName(o2, f2));
        if (preview === undefined) return;
        expect(preview).not.toBe(main);
        // A main name has one "--", a preview's two.
        expect(preview.split("--")).toHaveLength(3);
      }),
      { numRuns: 5000 },
    );
  });

  it("a DNS-1123 label of at most 63 characters, starting with <owner>--<fn>--", () => {
    fc.assert(
      fc.property(triple, ([owner, fn, b]) => {
        const name = attempt(() => previewFunctionName(owner, fn, b));
        if (name === undefined) return;
        expect(name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
        expect(name.length).toBeLessThanOrEqual(63);
        expect(name.startsWith(`${functionName(owner, fn)}--`)).toBe(true);
      }),
      { numRuns: 5000 },
    );
  });

  it("the edge router's <owner>.<domain>/<fn>--<key> → exactly that preview, under that owner", () => {
    fc.assert(
      fc.property(triple, login, ([owner, fn, b], host) => {
        const name = attempt(() => previewFunctionName(owner, fn, b));
        if (name === undefined) return;
        const segment = name.slice(owner.length + 2);
        expect(servedName(owner, segment)).toBe(name);
        // The same path on another owner's host names that owner's function, never this one.
        const elsewhere = attempt(() => servedName(host, segment));
        if (host.toLowerCase() !== owner.toLowerCase()) expect(elsewhere).not.toBe(name);
      }),
      { numRuns: 5000 },
    );
  });

  it("the property can fail: without the hash, slugs that agree collide", () => {
    const slugOnly = (o: string, f: string, b: string) =>
      `${functionName(o, f)}--${b.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`;
    const result = fc.check(
      fc.property(twoTriples, ([[o1, f1, b1], [o2, f2, b2]]) => {
        const same = o1.toLowerCase() === o2.toLowerCase() && f1 === f2 && b1 === b2;
        return (attempt(() => slugOnly(o1, f1, b1)) === attempt(() => slugOnly(o2, f2, b2))) === same;
      }),
      { numRuns: 20000 },
    );
    expect(result.failed).toBe(true);
  });
});
