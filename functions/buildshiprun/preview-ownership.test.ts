import type { DeploySpec } from "../../shared/deploy-spec.js";
import { toDeployment, type DeployPolicy } from "./deployment.js";
import { claimName } from "./ownership.js";

// Issue #17: a preview carries its branch's key as a label, and a main deployment and a preview never update each
// other, even under one name.
const base = { owner: "alice", ownerId: 42, repo: "fns", service: "alice--api" } as DeploySpec;
const gatewayWith = (labels: Record<string, string>) => ({
  getFunction: () => Promise.resolve({ name: "alice--api", image: "i", labels }),
});
const ours = { "com.openfaas.cloud.git-owner-id": "42", "com.openfaas.cloud.git-repo": "fns" };
const PREVIEW = "com.openfaas.cloud.preview-branch";

describe("claimName and previews", () => {
  it.each([
    ["a main push, the main function", base, ours, { action: "update" }],
    [
      "a preview push, its own preview",
      { ...base, preview: "feat-0123456789" },
      { ...ours, [PREVIEW]: "feat-0123456789" },
      { action: "update" },
    ],
    [
      "a preview push, a main function",
      { ...base, preview: "feat-0123456789" },
      ours,
      { action: "refuse", reason: "deploy refused: alice--api is the main deployment" },
    ],
    [
      "a main push, a preview",
      base,
      { ...ours, [PREVIEW]: "feat-0123456789" },
      { action: "refuse", reason: "deploy refused: alice--api is the preview feat-0123456789" },
    ],
    [
      "a preview push, another branch's preview",
      { ...base, preview: "other-abcdefabcd" },
      { ...ours, [PREVIEW]: "feat-0123456789" },
      { action: "refuse", reason: "deploy refused: alice--api is the preview feat-0123456789" },
    ],
  ])("%s → its claim", async (_, spec, labels, claim) => {
    await expect(claimName(gatewayWith(labels), spec)).resolves.toEqual(claim);
  });
});

describe("toDeployment and previews", () => {
  const spec = {
    ...base,
    sha: "0".repeat(40),
    branch: "feat",
    private: false,
    installationId: 1,
    function: "api",
    image: "r/alice/fns--api:x",
    repoUrl: "https://github.com/alice/fns",
    environment: {},
    secrets: [],
    labels: { [PREVIEW]: "forged-0123456789" },
    annotations: {},
    constraints: [],
  } as DeploySpec;
  const policy = {
    repositoryUrl: "r",
    pushRepositoryUrl: "r",
    scalingMin: 1,
    scalingMax: 4,
    scalingFactor: 20,
    memoryLimitMb: 128,
    readonlyRootFilesystem: true,
  } as DeployPolicy;
  const edition = { name: "pro", publicImagesOnly: false, source: "test" } as const;

  it("a preview spec → the preview-branch label with its key; a stack's own label of that name is dropped", () => {
    const labels = toDeployment(
      { ...spec, preview: "feat-0123456789" },
      spec.image,
      policy,
      edition,
      new Date(0),
    ).labels;
    expect(labels?.[PREVIEW]).toBe("feat-0123456789");
    expect(toDeployment(spec, spec.image, policy, edition, new Date(0)).labels?.[PREVIEW]).toBeUndefined();
  });
});
