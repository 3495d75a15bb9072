import { communityEditionRefusal } from "../../test/support/faas-netes-ce.js";
import { gatewaySchema } from "../../test/support/openapi.js";
import type { DeploySpec } from "../../shared/deploy-spec.js";
import { functionUrl, toDeployment, type DeployPolicy } from "./deployment.js";

const spec: DeploySpec = {
  owner: "AlexEllis",
  ownerId: 653013,
  repo: "Go-Fns",
  repoUrl: "https://github.com/AlexEllis/Go-Fns",
  sha: "04b8e44aaaabbbbccccddddeeeeffff000011112",
  branch: "master",
  private: true,
  installationId: 9,
  function: "tester",
  service: "alexellis--tester",
  image: "registry:5000/alexellis/go-fns--tester:latest-04b8e44",
  environment: { MODE: "prod" },
  secrets: ["alexellis--db"],
  labels: {
    team: "web",
    "com.openfaas.scale.zero": "false",
    "com.openfaas.scale.max": "1000",
    "com.openfaas.cloud.git-owner": "bob",
    role: "openfaas-system",
  },
  annotations: { topic: "orders", "com.openfaas.health.http.path": "/healthz", "iam.amazonaws.com/role": "admin" },
  limits: { memory: "4Gi" },
  constraints: ["node.role == manager"],
};
const policy: DeployPolicy = {
  repositoryUrl: "127.0.0.1:5000",
  pushRepositoryUrl: "registry:5000",
  scalingMin: 1,
  scalingMax: 4,
  memoryLimitMb: 128,
  cpuLimitMilli: 500,
  cpuRequestsMilli: 100,
  readonlyRootFilesystem: true,
  edition: "ce",
};
const now = new Date("2026-11-25T12:00:00Z");
const validDeployment = gatewaySchema("FunctionDeployment");

describe("toDeployment", () => {
  const deployment = toDeployment(spec, spec.image, policy, now);

  it("→ valid against the gateway's OpenAPI FunctionDeployment schema", () => {
    expect(validDeployment(deployment)).toEqual([]);
  });

  it("the schema check can fail: a deployment without an image → errors", () => {
    expect(validDeployment({ service: "x" })).not.toEqual([]);
  });

  it("image → pulled from repository_url instead of the push registry, lower case", () => {
    expect(deployment.image).toBe("127.0.0.1:5000/alexellis/go-fns--tester:latest-04b8e44");
  });

  it("labels → the platform's identity labels, lower-case owner and repo, the real owner id", () => {
    expect(deployment.labels).toEqual({
      team: "web",
      faas_function: "alexellis--tester",
      app: "alexellis--tester",
      "com.openfaas.scale.min": "1",
      "com.openfaas.scale.max": "4",
      "com.openfaas.scale.factor": "20",
      "com.openfaas.scale.zero": "false",
      "com.openfaas.cloud.git-cloud": "1",
      "com.openfaas.cloud.git-owner": "alexellis",
      "com.openfaas.cloud.git-owner-id": "653013",
      "com.openfaas.cloud.git-repo": "go-fns",
      "com.openfaas.cloud.git-deploytime": String(now.getTime() / 1000),
      "com.openfaas.cloud.git-sha": spec.sha,
      "com.openfaas.cloud.git-private": "1",
      "com.openfaas.cloud.git-scm": "github",
      "com.openfaas.cloud.git-branch": "master",
    });
  });

  it("a user label claiming another owner, a scaling limit or the system role → dropped", () => {
    expect(deployment.labels?.role).toBeUndefined();
    expect(deployment.labels?.["com.openfaas.cloud.git-owner"]).toBe("alexellis");
    expect(deployment.labels?.["com.openfaas.scale.max"]).toBe("4");
  });

  it("annotations → only the allow-list, plus the repository URL", () => {
    expect(deployment.annotations).toEqual({
      topic: "orders",
      "com.openfaas.health.http.path": "/healthz",
      "com.openfaas.cloud.git-repo-url": "https://github.com/AlexEllis/Go-Fns",
    });
  });

  it("limits → the operator's (the stack's 4Gi is ignored), CPU request, read-only root, env, prefixed secrets", () => {
    expect(deployment).toMatchObject({
      limits: { memory: "128Mi", cpu: "500m" },
      requests: { cpu: "100m" },
      readOnlyRootFilesystem: true,
      envVars: { MODE: "prod" },
      secrets: ["alexellis--db"],
    });
    expect(deployment).not.toHaveProperty("constraints");
    expect(deployment).not.toHaveProperty("namespace");
  });

  it("read-only root off for the operator but asked by the stack → on", () => {
    const d = toDeployment(
      { ...spec, readonlyRootFilesystem: true },
      spec.image,
      { ...policy, readonlyRootFilesystem: false },
      now,
    );
    expect(d.readOnlyRootFilesystem).toBe(true);
  });
});

describe("functionUrl", () => {
  it.each([
    ["http://127.0.0.1:8080/", undefined, "http://127.0.0.1:8080/function/alexellis--tester"],
    ["http://127.0.0.1:8080", undefined, "http://127.0.0.1:8080/function/alexellis--tester"],
    ["https://cloud.o6s.io/", "https://user.o6s.io/function", "https://alexellis.o6s.io/tester"],
  ])("public %s, pretty %s → %s", (publicUrl, pretty, expected) => {
    expect(functionUrl(spec, publicUrl, pretty)).toBe(expected);
  });
});

describe("toDeployment against OpenFaaS editions (issue #11)", () => {
  // A default stack: no scaling labels of its own, as most users write it.
  const plain: DeploySpec = { ...spec, labels: { team: "web" } };
  const deploy = (labels: Record<string, string>, edition: DeployPolicy["edition"], limits = {}) =>
    toDeployment({ ...plain, labels }, plain.image, { ...policy, ...limits, edition }, now);

  it.each([
    ["a default stack", {}],
    ["scale to zero turned off by the stack", { "com.openfaas.scale.zero": "false" }],
    ["a stack asking for 1000 replicas (dropped: the operator's limits apply)", { "com.openfaas.scale.max": "1000" }],
    ["a stack asking for a CPU autoscaling target (dropped)", { "com.openfaas.scale.target": "50" }],
  ])("CE: %s → no refusal from faas-netes CE's validation", (_, labels) => {
    const deployment = deploy(labels, "ce");
    expect(communityEditionRefusal(deployment)).toBeUndefined();
    expect(deployment.labels?.["com.openfaas.scale.zero"]).toBe("false");
  });

  it("CE, the operator's largest limits (5) → no refusal", () => {
    expect(communityEditionRefusal(deploy({}, "ce", { scalingMin: 5, scalingMax: 5 }))).toBeUndefined();
  });

  it("CE, a stack asking to scale to zero → a refusal naming the edition, before the gateway is asked", () => {
    expect(() => deploy({ "com.openfaas.scale.zero": "true" }, "ce")).toThrow(
      "com.openfaas.scale.zero needs OpenFaaS Standard or Enterprise; this cluster runs Community Edition",
    );
  });

  it("Pro: scale to zero by default, and kept when the stack asks; off when the stack says false", () => {
    expect(deploy({}, "pro").labels?.["com.openfaas.scale.zero"]).toBe("true");
    expect(deploy({ "com.openfaas.scale.zero": "true" }, "pro").labels?.["com.openfaas.scale.zero"]).toBe("true");
    expect(deploy({ "com.openfaas.scale.zero": "false" }, "pro").labels?.["com.openfaas.scale.zero"]).toBe("false");
  });

  it("the CE rules can refuse: a Pro deployment with scale to zero, or over 5 replicas → refused by them", () => {
    expect(communityEditionRefusal(deploy({}, "pro"))).toBe(
      "com.openfaas.scale.zero not available for Community Edition",
    );
    expect(communityEditionRefusal(deploy({}, "ce", { scalingMax: 6 }))).toBe(
      "com.openfaas.scale.max is set too high for Community Edition",
    );
  });
});
