import { envsubst } from "./envsubst.js";

// Expected values follow drone/envsubst v1.0.3 (eval_test.go, parse_test.go), the version faas-cli pins.
const thrown = (run: () => unknown): unknown => {
  try {
    run();
  } catch (error) {
    return error;
  }
};
const vars = { SET: "value", EMPTY: "", MIXED: "abcDEF", DEF: "fallback" };

describe("envsubst", () => {
  it.each([
    ["${SET}", "value"],
    ["${UNSET}", ""],
    ["${EMPTY}", ""],
    ["a-${SET}-b", "a-value-b"],
    ["${SET}${SET}", "valuevalue"],
    ["${#MIXED}", "6"],
    ["${MIXED,,}", "abcdef"],
    ["${MIXED^^}", "ABCDEF"],
    ["${MIXED,}", "abcDEF"],
    ["${SET^}", "Value"],
    ["no variables at all", "no variables at all"],
    ["http://github.com", "http://github.com"],
  ])("%s → %j", (input, output) => {
    expect(envsubst(input, vars)).toBe(output);
  });

  describe.each(["-", ":-", "=", ":=", ":?", ":+"])("${VAR%sdefault}", (op) => {
    it.each([
      ["UNSET", "default"],
      ["EMPTY", "default"],
      ["SET", "value"],
    ])("%s → %j", (name, output) => {
      expect(envsubst(`\${${name}${op}default}`, vars)).toBe(output);
    });
  });

  it.each([
    ["${UNSET:-${DEF}}", "fallback"],
    ["${UNSET:-pre${DEF}-post}", "prefallback-post"],
    ["${UNSET:-${ALSO_UNSET:-deep}}", "deep"],
    ["${UNSET:-a b:c/d}", "a b:c/d"],
    ["${UNSET:-}", ""],
    ["${UNSET:-$$}", "$$"],
  ])("nested or literal default %s → %j", (input, output) => {
    expect(envsubst(input, vars)).toBe(output);
  });

  it.each([
    ["$SET", "$SET"],
    ["$$", "$"],
    ["$${SET}", "${SET}"],
    ["$$SET", "$SET"],
    ["$$${SET}", "$value"],
    ["cost: 5$", "cost: 5$"],
    ["a\\/b", "a/b"],
    ["a\\\\b", "a\\b"],
    ["a\\nb", "a\\nb"],
  ])("drone's escapes: %j → %j (a bare $VAR is left alone)", (input, output) => {
    expect(envsubst(input, vars)).toBe(output);
  });

  it.each(["constructor", "toString", "__proto__", "hasOwnProperty"])(
    '${%s} → "" (only own keys of vars are variables)',
    (name) => {
      expect(envsubst(`\${${name}}`, vars)).toBe("");
    },
  );

  it('${HOME} and ${PATH} → "" (process.env is never read)', () => {
    expect(process.env.PATH).toBeTruthy();
    expect(envsubst("${PATH}|${HOME}", {})).toBe("|");
  });

  it.each([
    ["${SET", /line 1: "\$\{SET": missing closing brace/],
    ["${UNSET:-abc", /missing closing brace/],
    ["${}", /unable to parse variable name/],
    ["${ SET }", /unable to parse variable name/],
    ["${SET+x}", /missing closing brace/],
    ["${SET:1:2}", /the ":" operator is not supported/],
    ["${SET#pre}", /the "#" operator is not supported/],
    ["${SET%suf}", /the "%" operator is not supported/],
    ["${SET/a/b}", /the "\/" operator is not supported/],
    ["a: 1\nb: 2\nc: ${BAD", /line 3: "\$\{BAD"/],
    [`${"${X:-".repeat(40)}x${"}".repeat(40)}`, /nested deeper than 32/],
  ])("%j → 400 %s", (input, message) => {
    expect(thrown(() => envsubst(input, vars))).toMatchObject({ status: 400, message: expect.stringMatching(message) });
  });
});
