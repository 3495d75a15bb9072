import { gitlabOwner } from "./naming.js";
import { parseBuildRequest, type BuildRequest } from "./push.js";

// Issue #19 (contract §3): one build request for both SCMs; GitLab's fields are checked where git-tar relies on them.
const SHA = "6113728f27ae82c7b1a177c8d03f9e96e0adf246";
const github: BuildRequest = {
  owner: "alice",
  ownerId: 42,
  repo: "fns",
  fullName: "alice/fns",
  repoUrl: "https://github.com/alice/fns",
  private: false,
  sha: SHA,
  ref: "refs/heads/master",
  branch: "master",
  installationId: 1,
  deliveryId: "d-1",
};
const gitlab: BuildRequest = {
  ...github,
  scm: "gitlab",
  owner: gitlabOwner("group/sub"),
  ownerId: "gitlab-7",
  repo: "project",
  fullName: "group/sub/project",
  repoUrl: "https://gitlab.example.com/group/sub/project",
  installationId: 1001,
};
const parse = (request: Record<string, unknown>) => parseBuildRequest(Buffer.from(JSON.stringify(request)));

describe("parseBuildRequest", () => {
  it.each([
    ["a GitHub request without scm (queued before GitLab)", github],
    ["a GitHub request with scm github", { ...github, scm: "github" }],
    ["a GitLab request of a subgroup project", gitlab],
    ["a GitLab request of a user's project", { ...gitlab, fullName: "alice/project" }],
  ])("%s → accepted as sent", (_, request) => {
    expect(parse(request)).toEqual(request);
  });

  it.each([
    ["one segment", { fullName: "project" }, "fullName"],
    ["a .. segment", { fullName: "group/../project" }, "fullName"],
    ["a . segment", { fullName: "group/./project" }, "fullName"],
    ["an empty segment", { fullName: "group//project" }, "fullName"],
    ["a URL", { fullName: "https://evil.example/x/y" }, "fullName"],
    ["GitHub's numeric owner id", { ownerId: 7 }, "ownerId"],
    ["a GitHub login as owner", { owner: "group" }, "owner"],
    ["an owner key in capitals", { owner: gitlabOwner("group/sub").toUpperCase() }, "owner"],
    ["a preview", { preview: true }, "scm"],
    ["a check run", { checkRunId: 5 }, "scm"],
  ])("a GitLab request with %s %j → a 400 naming %s", (_, change, field) => {
    expect(() => parse({ ...gitlab, ...change })).toThrow(new RegExp(`^build request.*${field}`, "s"));
  });

  it.each([
    ["a GitLab owner id", { ownerId: "gitlab-7" }],
    ["an owner id of neither form", { ownerId: "7" }],
    ["owner id 0", { ownerId: 0 }],
    ["an unknown scm", { scm: "bitbucket" }],
  ])("a GitHub request with %s → a 400", (_, change) => {
    expect(() => parse({ ...github, ...change })).toThrow(/^build request/);
  });
});
