import type { Stack, StackFunction } from "../../shared/stack.js";
import { parseAllowedSources, stackTemplates } from "./stack-templates.js";

// Issue #17: a stack's configuration.templates, as faas-cli build pulls them, from the operator's allow-list only.
const OFFICIAL = "https://github.com/openfaas/templates.git";

function fn(name: string, lang: string): StackFunction {
  return {
    name,
    lang,
    handler: `./${name}`,
    image: name,
    environment: {},
    secrets: [],
    labels: {},
    annotations: {},
    buildArgs: {},
    buildOptions: [],
    skipBuild: false,
    constraints: [],
  };
}

function stack(langs: string[], templates: Stack["configuration"]["templates"]): Stack {
  return {
    file: "stack.yml",
    provider: { name: "openfaas" },
    functions: langs.map((lang, i) => fn(`f${i}`, lang)),
    configuration: { templates, copy: [] },
  };
}

const refusal = (run: () => unknown) => {
  try {
    run();
  } catch (error) {
    return { status: (error as { status?: number }).status, message: (error as Error).message };
  }
  throw new Error("expected a refusal");
};

describe("stackTemplates", () => {
  const allow = ["https://github.com/acme/", "https://git.example/ops/golang.git", OFFICIAL];

  it.each<[string, string, { url: string; ref?: string }]>([
    ["a repository under an allowed prefix", "https://github.com/acme/tpl", { url: "https://github.com/acme/tpl" }],
    [
      "an allowed repository, with .git and a branch",
      "https://git.example/ops/golang.git#stable",
      { url: "https://git.example/ops/golang.git", ref: "stable" },
    ],
    [
      "an allowed repository, without .git and with a trailing slash",
      "https://git.example/ops/golang/",
      { url: "https://git.example/ops/golang/" },
    ],
    ["the operator's own templates, at a tag", `${OFFICIAL}#1.0.3`, { url: OFFICIAL, ref: "1.0.3" }],
    [
      "a host in capitals and a path through ..",
      "https://GitHub.com/acme/x/../tpl#release/v2",
      { url: "https://github.com/acme/tpl", ref: "release/v2" },
    ],
  ])("%s → pulled", (_, source, expected) => {
    expect(stackTemplates(stack(["go"], [{ name: "go", source }]), allow)).toEqual([{ name: "go", ...expected }]);
  });

  it.each([
    ["a repository elsewhere", "https://evil.example/t.git"],
    ["a neighbour of an allowed prefix", "https://github.com/acme-evil/t"],
    ["a repository beside an allowed one", "https://git.example/ops/golang-x.git"],
    ["leaving the prefix through ..", "https://github.com/acme/../evil/t"],
    ["credentials in the URL", "https://user:pw@github.com/acme/t"],
    ["a query", "https://github.com/acme/t?x=1"],
    ["ssh", "git@github.com:acme/t.git"],
    ["a local path", "/srv/templates"],
    ["plain http to an https-allowed prefix", "http://github.com/acme/t"],
  ])("%s → 400 naming the source and the setting", (_, source) => {
    const shown = source.split("#")[0];
    expect(refusal(() => stackTemplates(stack(["go"], [{ name: "go", source }]), allow))).toEqual({
      status: 400,
      message: `configuration.templates "go": source not in template_sources_allowed: ${shown}`,
    });
  });

  it.each([
    ["#sha-1a2b3c4", 'configuration.templates "go": a commit (#sha-1a2b3c4) is not supported: name a branch or tag'],
    ["#-upload-pack", 'configuration.templates "go": #-upload-pack is not a valid branch or tag name'],
    ["#a..b", 'configuration.templates "go": #a..b is not a valid branch or tag name'],
    ["#", 'configuration.templates "go": # is not a valid branch or tag name'],
    ["#x y", 'configuration.templates "go": #x y is not a valid branch or tag name'],
  ])("ref %s → 400", (ref, message) => {
    const source = `https://github.com/acme/t${ref}`;
    expect(refusal(() => stackTemplates(stack(["go"], [{ name: "go", source }]), allow))).toEqual({
      status: 400,
      message,
    });
  });

  it("a name that is a path → 400, nothing pulled", () => {
    const templates = [{ name: "../go", source: "https://github.com/acme/t" }];
    expect(refusal(() => stackTemplates(stack(["../go"], templates), allow))).toEqual({
      status: 400,
      message: 'configuration.templates "../go": the name must be a plain template name',
    });
  });

  it("entries no function uses, or without a source → not pulled, even from a source off the list", () => {
    const templates = [
      { name: "rust", source: "https://evil.example/t.git" },
      { name: "node20" },
      { name: "go", source: "https://github.com/acme/go" },
    ];
    expect(stackTemplates(stack(["node20", "go", "go"], templates), allow)).toEqual([
      { name: "go", url: "https://github.com/acme/go" },
    ]);
  });

  it("two entries of one name → the first, as faas-cli takes it", () => {
    const templates = [
      { name: "go", source: "https://github.com/acme/first" },
      { name: "go", source: "https://evil.example/second" },
    ];
    expect(stackTemplates(stack(["go"], templates), allow)).toEqual([
      { name: "go", url: "https://github.com/acme/first" },
    ]);
  });
});

describe("parseAllowedSources", () => {
  it("empty → the operator's template URLs only", () => {
    expect(parseAllowedSources(" , ", [OFFICIAL, "https://a.example/t"])).toEqual([OFFICIAL, "https://a.example/t"]);
    expect(stackTemplates(stack(["go"], [{ name: "go", source: `${OFFICIAL}#main` }]), [OFFICIAL])).toHaveLength(1);
  });

  it("a list → its entries, trimmed, replacing the default", () => {
    expect(parseAllowedSources(" https://github.com/acme/ ,https://b.example/t.git", [OFFICIAL])).toEqual([
      "https://github.com/acme/",
      "https://b.example/t.git",
    ]);
  });

  it.each(["github.com/acme/", "ftp://a.example/t", "https://u:p@a.example/t"])(
    "%s → an error naming the setting",
    (entry) => {
      expect(() => parseAllowedSources(`https://ok.example/t,${entry}`, [OFFICIAL])).toThrow(
        `template_sources_allowed: expected http(s) repository URLs, got ${entry}`,
      );
    },
  );
});
