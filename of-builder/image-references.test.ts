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
  ])("%s → 400 naming it", (_, dockerfile) => {
    expect(check(dockerfile)).toThrow(/is another repository in the build registry/);
  });

  it("a variable nobody declared → 400: nobody can tell where it points", () => {
    expect(check("FROM ${SOMEWHERE}/x:1")).toThrow(/cannot resolve the image reference/);
  });

  it("a repository whose name starts like the build's own → refused (the whole repository must match)", () => {
    expect(check(`FROM ${REGISTRY}/alice/fns--api-evil:1`)).toThrow(/another repository/);
  });
});
