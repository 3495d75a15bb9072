import {
  communityEditionAnswer,
  communityEditionRefusal,
  type CommunityCluster,
} from "../../test/support/faas-netes-ce.js";
import { gatewaySchema } from "../../test/support/openapi.js";
import type { DeploySpec } from "../../shared/deploy-spec.js";
import { functionUrl, toDeployment, type DeployPolicy } from "./deployment.js";
import type { Edition } from "./edition.js";

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
  scalingFactor: 50,
  memoryLimitMb: 128,
  cpuLimitMilli: 500,
  cpuRequestsMilli: 100,
  readonlyRootFilesystem: true,
};
const CE: Edition = { name: "ce", publicImagesOnly: true, source: "faas-netes-ce" };
const PRO: Edition = { name: "pro", publicImagesOnly: false, source: "openfaas_edition=pro" };
const now = new Date("2026-11-25T12:00:00Z");
const validDeployment = gatewaySchema("FunctionDeployment");

describe("toDeployment", () => {
  // Built in each test, not once when the file loads: mutation testing (docs/testing.md) runs for each mutant only the
  // tests that reached it, and a call at describe level reaches it in none.
  let deployment: ReturnType<typeof toDeployment>;
  beforeEach(() => {
    deployment = toDeployment(spec, spec.image, policy, CE, now);
  });

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
      "com.openfaas.scale.factor": "50",
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

  // Issue #17: the label was "20" whatever scaling_factor said.
  it.each([0, 20, 100])("scaling_factor %s → com.openfaas.scale.factor says it", (scalingFactor) => {
    const d = toDeployment(spec, spec.image, { ...policy, scalingFactor }, CE, now);
    expect(d.labels?.["com.openfaas.scale.factor"]).toBe(String(scalingFactor));
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
      CE,
      now,
    );
    expect(d.readOnlyRootFilesystem).toBe(true);
  });

  it("user labels under com.openfaas. or openfaas-cloud → dropped; others, even openfaas-like, kept", () => {
    const labels = {
      "openfaas-cloud": "1",
      "com.openfaas.cloud.git-owner-id": "1",
      "com.openfaas.health.http.path": "/x",
      "openfaas.io/team": "web",
      "com.example.openfaas": "x",
    };
    const d = toDeployment({ ...spec, labels }, spec.image, policy, PRO, now);
    expect(d.labels).not.toHaveProperty("openfaas-cloud");
    expect(d.labels).not.toHaveProperty("com.openfaas.health.http.path");
    expect(d.labels?.["com.openfaas.cloud.git-owner-id"]).toBe("653013");
    expect(d.labels).toMatchObject({ "openfaas.io/team": "web", "com.example.openfaas": "x" });
  });

  it("user labels named like the platform's own (faas_function, app, scale to zero) → the platform's values win", () => {
    const labels = { faas_function: "bob--api", app: "bob--api", "com.openfaas.scale.zero": "TRUE" };
    const d = toDeployment({ ...spec, labels }, spec.image, policy, PRO, now);
    expect(d.labels).toMatchObject({
      faas_function: "alexellis--tester",
      app: "alexellis--tester",
      "com.openfaas.scale.zero": "true",
    });
  });

  it("a public repository, no CPU limit or request from the operator → git-private 0, memory only, no requests", () => {
    const memoryOnly = { ...policy, cpuLimitMilli: undefined, cpuRequestsMilli: undefined };
    const d = toDeployment({ ...spec, private: false }, spec.image, memoryOnly, PRO, now);
    expect(d.labels?.["com.openfaas.cloud.git-private"]).toBe("0");
    expect(d.limits).toEqual({ memory: "128Mi" });
    expect(d).not.toHaveProperty("requests");
  });

  it("git-deploytime → whole seconds, rounded down", () => {
    const d = toDeployment(spec, spec.image, policy, PRO, new Date("2026-11-25T12:00:00.999Z"));
    expect(d.labels?.["com.openfaas.cloud.git-deploytime"]).toBe(String(now.getTime() / 1000));
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
  // A default stack: no scaling labels or annotations of its own, as most users write it.
  const plain: DeploySpec = { ...spec, labels: { team: "web" }, annotations: {} };
  const deploy = (
    stack: { labels?: Record<string, string>; annotations?: Record<string, string> },
    edition: Edition,
    limits = {},
  ) =>
    toDeployment(
      { ...plain, labels: stack.labels ?? {}, annotations: stack.annotations ?? {} },
      plain.image,
      { ...policy, ...limits },
      edition,
      now,
    );

  // Every deployment buildshiprun produces on CE for these stacks passes CE's label and annotation rules.
  it.each([
    ["a default stack", {}],
    ["scale to zero turned off by the stack", { labels: { "com.openfaas.scale.zero": "false" } }],
    [
      "a stack asking for 1000 replicas (dropped: the operator's limits apply)",
      { labels: { "com.openfaas.scale.max": "1000" } },
    ],
    ["a stack asking for a CPU autoscaling target (dropped)", { labels: { "com.openfaas.scale.target": "50" } }],
    [
      "a stack with every annotation users may set, one topic",
      {
        annotations: {
          topic: "orders",
          schedule: "*/5 * * * *",
          "com.openfaas.health.http.path": "/healthz",
          "com.openfaas.health.http.initialDelay": "2s",
        },
      },
    ],
    [
      "a stack with cloud-provider annotations CE refuses (dropped: not on the allow-list)",
      { annotations: { "iam.amazonaws.com/role": "admin", "cloud.google.com/gke.io-pool": "a" } },
    ],
  ])("CE: %s → no refusal from faas-netes CE's rules", (_, stack) => {
    const deployment = deploy(stack, CE);
    expect(communityEditionRefusal(deployment)).toBeUndefined();
    expect(deployment.labels?.["com.openfaas.scale.zero"]).toBe("false");
  });

  it("CE, the operator's largest limits (5) → no refusal", () => {
    expect(communityEditionRefusal(deploy({}, CE, { scalingMin: 5, scalingMax: 5 }))).toBeUndefined();
  });

  it.each([
    [
      "a stack asking to scale to zero",
      { labels: { "com.openfaas.scale.zero": "true" } },
      {},
      "com.openfaas.scale.zero needs OpenFaaS Standard or Enterprise; this cluster runs Community Edition",
    ],
    [
      "scaling_max_limit 6 (auto found faas-netes-ce)",
      {},
      { scalingMax: 6 },
      "scaling_max_limit 6 is over OpenFaaS CE's 5 replicas (faas-netes-ce): the operator lowers it",
    ],
    [
      "a stack with two topics",
      { annotations: { topic: "orders,refunds" } },
      {},
      'topic "orders,refunds": OpenFaaS CE takes one topic per function; keep one or use Standard/Enterprise',
    ],
  ])(
    "CE, %s → a refusal naming the limit and the edition, before the gateway is asked",
    (_, stack, limits, message) => {
      expect(() => deploy(stack, CE, limits)).toThrow(message);
    },
  );

  it("Pro: scale to zero by default, and kept when the stack asks; off when the stack says false", () => {
    expect(deploy({}, PRO).labels?.["com.openfaas.scale.zero"]).toBe("true");
    const zero = (value: string) => deploy({ labels: { "com.openfaas.scale.zero": value } }, PRO);
    expect(zero("true").labels?.["com.openfaas.scale.zero"]).toBe("true");
    expect(zero("false").labels?.["com.openfaas.scale.zero"]).toBe("false");
  });

  it("Pro: over 5 replicas and two topics → sent as they are", () => {
    const deployment = deploy({ annotations: { topic: "a,b" } }, PRO, { scalingMax: 20 });
    expect([deployment.labels?.["com.openfaas.scale.max"], deployment.annotations?.topic]).toEqual(["20", "a,b"]);
  });

  it("the CE rules can refuse: scale to zero, over 5 replicas, two topics, a cloud annotation, a private image", () => {
    expect(communityEditionRefusal(deploy({}, PRO))).toBe(
      "com.openfaas.scale.zero not available for Community Edition",
    );
    expect(communityEditionRefusal({ ...deploy({}, CE), labels: { "com.openfaas.scale.max": "6" } })).toBe(
      "com.openfaas.scale.max is set too high for Community Edition",
    );
    const base = deploy({}, CE);
    expect(communityEditionRefusal({ ...base, annotations: { topic: "a,b" } })).toBe(
      "the topic annotation may only support one value in the Community Edition",
    );
    expect(communityEditionRefusal({ ...base, annotations: { "iam.amazonaws.com/role": "x" } })).toBe(
      'annotation "iam.amazonaws.com/role" is not supported in the Community Edition',
    );
    expect(communityEditionRefusal(base, { isPublic: () => false })).toBe(
      "the Community Edition license agreement only allows public images",
    );
  });
});

describe("the faas-netes CE oracle's answers (test/support/faas-netes-ce.ts)", () => {
  const deployment = { service: "alice--api", image: "ghcr.io/alice/fns--api:1" };
  const hidden = { isPublic: () => false };
  const cap =
    "unable to create function, maximum: 15, visit https://openfaas.com/pricing to upgrade to OpenFaaS Standard";

  it.each<[string, "POST" | "PUT", CommunityCluster, number, string]>([
    ["POST, a private image", "POST", hidden, 400, "the Community Edition license agreement only allows public images"],
    ["PUT, a private image (update.go writes no status: nothing is updated)", "PUT", hidden, 200, ""],
    ["POST, 15 functions running", "POST", { functions: 15 }, 400, cap],
    ["PUT, 15 functions running (the cap counts creates only)", "PUT", { functions: 15 }, 202, ""],
    ["POST, 14 functions running, a public image", "POST", { functions: 14 }, 202, ""],
  ])("%s → %s %s", (_, method, cluster, status, body) => {
    expect(communityEditionAnswer(method, deployment, cluster)).toEqual({ status, body });
  });

  it("POST with scale to zero → 400 'validation failed: …', before the image is looked at", () => {
    const zero = { ...deployment, labels: { "com.openfaas.scale.zero": "true" } };
    expect(communityEditionAnswer("POST", zero, { isPublic: () => false })).toEqual({
      status: 400,
      body: "validation failed: com.openfaas.scale.zero not available for Community Edition",
    });
  });
});
