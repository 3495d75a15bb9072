import type { DeploySpec } from "../../shared/deploy-spec.js";
import { toDeployment, type DeployPolicy } from "./deployment.js";
import type { Edition } from "./edition.js";

const spec: DeploySpec = {
  owner: "alice",
  ownerId: 1001,
  repo: "fns",
  repoUrl: "https://github.com/alice/fns",
  sha: "04b8e44aaaabbbbccccddddeeeeffff000011112",
  branch: "main",
  private: false,
  installationId: 7,
  function: "api",
  service: "alice--api",
  image: "registry:5000/alice/fns--api:latest-04b8e44",
  environment: {},
  secrets: [],
  labels: {},
  annotations: {},
  constraints: [],
};
const policy: DeployPolicy = {
  repositoryUrl: "registry:5000",
  pushRepositoryUrl: "registry:5000",
  scalingMin: 1,
  scalingMax: 4,
  scalingFactor: 20,
  memoryLimitMb: 128,
  readonlyRootFilesystem: true,
};
const ce: Edition = { name: "ce", publicImagesOnly: true, source: "openfaas_edition=ce" };
const now = new Date("2026-11-25T12:00:00Z");

// Issue #12: readonly_root_filesystem is the operator's; a stack can only make its own function stricter.
describe("toDeployment: read-only root filesystem (operator setting × stack field)", () => {
  it.each([
    [true, undefined, true],
    [true, false, true],
    [true, true, true],
    [false, undefined, false],
    [false, false, false],
    [false, true, true],
  ])("operator %s, stack %s → readOnlyRootFilesystem %s", (operator, stack, expected) => {
    const deployment = toDeployment(
      { ...spec, readonlyRootFilesystem: stack },
      spec.image,
      { ...policy, readonlyRootFilesystem: operator },
      ce,
      now,
    );
    expect(deployment.readOnlyRootFilesystem).toBe(expected);
  });
});
