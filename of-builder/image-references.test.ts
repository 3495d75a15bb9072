import { checkImageReferences, imageReferences } from "./image-references.js";

const REGISTRY = "127.0.0.1:5000";
const build = {
  ref: `${REGISTRY}/alice/fns--api:latest-abc1234`,
  buildArgs: { NODE_IMAGE: `${REGISTRY}/base/node:24` },
  allowed: [`${REGISTRY}/base/node:24`],
};
const check =
  (dockerfile: string, overrides: Partial<typeof build> = {}) =>
  () =>
    checkImageReferences(dockerfile, { ...build, ...overrides });

describe("imageReferences", () => {
  it("FROM with global ARG defaults, build args over defaults, stage aliases, COPY --from, RUN --mount from, # syntax", () => {
    const dockerfile = [
      "# syntax=docker/dockerfile:1.7",
      "ARG NODE_IMAGE=node:24-alpine",
      'ARG TOOLS="ghcr.io/acme/tools:1"',
      "FROM --platform=linux/amd64 ${NODE_IMAGE} AS build",
      "RUN --mount=type=cache,target=/root/.npm \\",
      "    --mount=type=bind,from=busybox:1,target=/bb npm ci",
      "FROM $TOOLS as tools",
      "FROM build",
      "COPY --from=tools /bin/x /bin/x",
      "COPY --from=0 /a /a",
      "COPY --from=alpine:3 /etc/os-release /",
      "ADD --from=build /app /app",
    ].join("\n");
    expect(imageReferences(dockerfile, { NODE_IMAGE: "127.0.0.1:5000/base/node:24" })).toEqual([
      "docker/dockerfile:1.7",
      "127.0.0.1:5000/base/node:24",
      "busybox:1",
      "ghcr.io/acme/tools:1",
      "alpine:3",
    ]);
  });

  it("${A:-default} and ${A:+alt} follow the Dockerfile reference", () => {
    expect(imageReferences("ARG A\nFROM ${A:-node:24}\nFROM x${A:+-never}", {})).toEqual(["node:24", "x"]);
    expect(imageReferences("ARG A\nFROM ${A:-node:24}", { A: "deno:2" })).toEqual(["deno:2"]);
  });

  it("${A:-default} when A is set but empty → the default; ${A:+alt} when A is set → alt", () => {
    expect(imageReferences('ARG A=""\nFROM ${A:-node:24}', {})).toEqual(["node:24"]);
    expect(imageReferences("ARG A=1\nFROM node${A:+:24}", {})).toEqual(["node:24"]);
    expect(imageReferences("ARG A=1\nFROM node${A:+}", {})).toEqual(["node"]);
  });

  it("$A and ${A} are substituted; an undeclared name stays as written, $ and all", () => {
    expect(imageReferences("ARG R=reg.io\nFROM $R/a:1\nFROM ${R}/b:2\nFROM $NOPE/c:3\nFROM ${NOPE}/d", {})).toEqual([
      "reg.io/a:1",
      "reg.io/b:2",
      "$NOPE/c:3",
      "${NOPE}/d",
    ]);
  });

  it("a declared ARG without a default and no build arg → empty, not left as a variable", () => {
    expect(imageReferences("ARG TAG\nFROM node:24${TAG}", {})).toEqual(["node:24"]);
  });

  it("several ARGs on one line, quoted in either quotes, a default holding '=' → each declared", () => {
    expect(imageReferences("ARG A='x.io/a' B=\"y.io/b\" C=z.io/c?k=v\nFROM $A\nFROM $B\nFROM $C", {})).toEqual([
      "x.io/a",
      "y.io/b",
      "z.io/c?k=v",
    ]);
  });

  it("quotes not around the whole value are kept as written", () => {
    expect(imageReferences("ARG A='x.io/a\nFROM $A", {})).toEqual(["'x.io/a"]);
    expect(imageReferences("ARG A=x.io/'a'\nFROM $A", {})).toEqual(["x.io/'a'"]);
    expect(imageReferences("ARG A='x.io/'a\nFROM $A", {})).toEqual(["'x.io/'a"]);
  });

  it("a build arg for a name the Dockerfile never declared is not substituted", () => {
    expect(imageReferences("FROM $IMG", { IMG: "node:24" })).toEqual(["$IMG"]);
  });

  // The Dockerfile reference: an ARG after the first FROM is in its stage's scope only, never in a later FROM.
  it("an ARG after the first FROM does not reach later FROM lines", () => {
    expect(imageReferences("FROM node:24\nARG B=reg.io/b\nFROM $B", {})).toEqual(["node:24", "$B"]);
  });

  it("instructions and flags in any case; only the first FROM word is the image, flags skipped", () => {
    const dockerfile = [
      "from --platform=$BUILDPLATFORM node:24 as Build",
      "copy --FROM=build /a /a",
      "add --chown=1:1 --From=x.io/y:1 /b /b",
      "run --MOUNT=type=bind,FROM=build,target=/c ls",
      "FROM BUILD",
    ].join("\n");
    expect(imageReferences(dockerfile, {})).toEqual(["node:24", "x.io/y:1"]);
  });

  it("a FROM naming a stage index or no image → nothing; AS without a name adds no stage", () => {
    expect(imageReferences("FROM node:24\nFROM 0\nFROM\nFROM x AS\nFROM x", {})).toEqual(["node:24", "x", "x"]);
  });

  it("RUN --mount with from= first or later in the list; a --mount without from, other flags, other words → nothing", () => {
    const dockerfile = [
      "FROM node:24",
      "RUN --mount=from=a.io/first,target=/a --mount=type=cache,target=/c ls",
      "RUN --network=none --mount=type=bind,target=/b,from=b.io/later echo from=c.io/not",
      "RUN --mount=type=bind,ifrom=e.io/not,target=/e ls",
    ].join("\n");
    expect(imageReferences(dockerfile, {})).toEqual(["node:24", "a.io/first", "b.io/later"]);
  });

  it("COPY without --from and other instructions naming images → nothing", () => {
    expect(imageReferences("FROM a\nCOPY x.io/y /z\nLABEL from=b.io/c\nENV --from=c.io/d", {})).toEqual(["a"]);
  });

  it("comments, blank lines and CRLF are skipped; continuation lines are joined, even at the end", () => {
    const dockerfile =
      "\r\n# FROM hidden.io/x\r\n  \r\nFROM \\\r\n  a.io/b:1 \\\r\n  AS s\r\nCOPY \\\n --from=c.io/d /x /y \\";
    expect(imageReferences(dockerfile, {})).toEqual(["a.io/b:1", "c.io/d"]);
  });

  // BuildKit drops comment and empty lines inside a continued instruction: the image after them is the FROM's.
  it("a comment or an empty line inside a continued FROM → the image after it is still found", () => {
    expect(imageReferences("FROM \\\n# a comment\n\n  x.io/hidden:1 AS s\nFROM s", {})).toEqual(["x.io/hidden:1"]);
  });

  it("a comment ending in a backslash continues nothing", () => {
    expect(imageReferences("# a note \\\nFROM x.io/y", {})).toEqual(["x.io/y"]);
  });

  it("a backslash followed by spaces still continues the line", () => {
    expect(imageReferences("FROM \\  \n  x.io/y", {})).toEqual(["x.io/y"]);
  });

  it("a stage index of several digits is no image; a FROM's third word other than AS names no stage", () => {
    expect(imageReferences("FROM a\nCOPY --from=12 /a /a", {})).toEqual(["a"]);
    expect(imageReferences("FROM x.io/a not other\nFROM other", {})).toEqual(["x.io/a", "other"]);
  });

  it("--from= and --mount= count only as whole flags, and --mount only on RUN", () => {
    const dockerfile = [
      "FROM a",
      "COPY a--from=x.io/1 /z",
      "RUN a--mount=type=bind,from=x.io/2 ls",
      "RUN echo a,from=x.io/3",
      "LABEL --mount=from=x.io/4",
      // One mount whose value holds "--mount=from=": a from= key only at the start of the flag or after a comma.
      "RUN --mount=type=bind,target=/a--mount=from=x.io/5 ls",
    ].join("\n");
    expect(imageReferences(dockerfile, {})).toEqual(["a"]);
  });

  it("# syntax= only as the first line, with spaces and any case; later it is a comment", () => {
    expect(imageReferences("\n  #  SYNTAX = a.io/front:1 \nFROM x", {})).toEqual(["a.io/front:1", "x"]);
    expect(imageReferences("FROM x\n# syntax=b.io/front:1", {})).toEqual(["x"]);
  });
});

describe("checkImageReferences", () => {
  it.each([
    [
      "the template's FROM ${NODE_IMAGE}, the operator's base image",
      "ARG NODE_IMAGE=node:24-alpine\nFROM ${NODE_IMAGE}",
    ],
    ["an image from another registry", "FROM ghcr.io/someone/else:1\nCOPY --from=docker.io/library/alpine:3 / /"],
    ["this function's own earlier image", `FROM ${REGISTRY}/alice/fns--api:latest-0000000`],
    ["a stage of the same Dockerfile", "FROM node:24 AS b\nFROM b\nCOPY --from=b / /"],
  ])("%s → accepted", (_, dockerfile) => {
    expect(check(dockerfile)).not.toThrow();
  });

  it.each([
    ["FROM another tenant's image", `FROM ${REGISTRY}/bob/api--fn:latest-1234567`],
    ["COPY --from another tenant's image", `FROM node:24\nCOPY --from=${REGISTRY}/bob/api--fn:latest-1 /home/app /x`],
    [
      "RUN --mount from another tenant's image",
      `FROM node:24\nRUN --mount=type=bind,from=${REGISTRY}/bob/x,target=/x ls`,
    ],
    ["another repository of the same owner", `FROM ${REGISTRY}/alice/other--api:latest-1`],
    ["the registry hidden in an ARG default", `ARG X=${REGISTRY}/bob/api--fn:1\nFROM $X`],
    ["a # syntax frontend from the registry", `# syntax=${REGISTRY}/bob/frontend:1\nFROM node:24`],
    ["a digest reference", `FROM ${REGISTRY}/bob/api--fn@sha256:${"a".repeat(64)}`],
    ["a name differing only in case", `FROM ${REGISTRY}/Bob/API--fn:1`],
    ["a FROM continued over a comment line", `FROM \\\n# nothing to see\n${REGISTRY}/bob/api--fn:1`],
  ])("%s → 400 naming it", (_, dockerfile) => {
    expect(check(dockerfile)).toThrow(/is another repository in the build registry/);
  });

  it("a variable nobody declared → 400: nobody can tell where it points", () => {
    expect(check("FROM ${SOMEWHERE}/x:1")).toThrow(/cannot resolve the image reference/);
  });

  it("a repository whose name starts like the build's own → refused (the whole repository must match)", () => {
    expect(check(`FROM ${REGISTRY}/alice/fns--api-evil:1`)).toThrow(/another repository/);
  });

  it("the refusal names the image and the rule", () => {
    expect(check(`FROM ${REGISTRY}/bob/x:1`)).toThrow(
      `Dockerfile: "${REGISTRY}/bob/x:1" is another repository in the build registry; only the base images and this function's own image may be used`,
    );
    expect(check("FROM ${SOMEWHERE}/x:1")).toThrow('Dockerfile: cannot resolve the image reference "${SOMEWHERE}/x:1"');
  });

  it("this function's own image by digest, with a tag and digest, or in another case → accepted", () => {
    expect(check(`FROM ${REGISTRY}/alice/fns--api@sha256:${"a".repeat(64)}`)).not.toThrow();
    expect(check(`FROM ${REGISTRY}/alice/fns--api:old@sha256:${"a".repeat(64)}`)).not.toThrow();
    expect(check(`FROM ${REGISTRY}/Alice/FNS--api:old`)).not.toThrow();
  });

  it("a colon right before the last '/' is no tag: <own repository>:/x is another repository → refused", () => {
    expect(check(`FROM ${REGISTRY}/alice/fns--api:/x`)).toThrow(/another repository/);
  });

  it("an allowed base image named in another case → accepted; only the exact allowed image, not its repository", () => {
    expect(check(`FROM ${REGISTRY}/BASE/Node:24`)).not.toThrow();
    expect(check(`FROM ${REGISTRY}/base/node:23`)).toThrow(/another repository/);
    expect(check(`FROM ${REGISTRY}/base/node:24`, { allowed: [`${REGISTRY}/BASE/NODE:24`] })).not.toThrow();
  });

  it("a build registry without a port: the same host on another port is another registry", () => {
    const ref = "registry.local/alice/fns--api:latest-1";
    expect(check("FROM registry.local:5000/bob/x:1", { ref })).not.toThrow();
    expect(check("FROM registry.local/bob/x:1", { ref })).toThrow(/another repository/);
  });

  it("the refusal comes on the first bad reference even after good ones", () => {
    expect(check(`FROM node:24 AS a\nFROM ${REGISTRY}/alice/fns--api:1\nCOPY --from=${REGISTRY}/bob/x:1 / /`)).toThrow(
      /bob\/x:1/,
    );
  });
});
