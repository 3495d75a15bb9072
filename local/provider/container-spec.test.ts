import { containerSpec, fromLabels, memoryBytes } from "./container-spec.js";

describe("memoryBytes", () => {
  it.each([
    ["128Mi", 128 * 2 ** 20],
    ["128m", 128 * 2 ** 20],
    ["128M", 128e6],
    ["1Gi", 2 ** 30],
    ["0.5Gi", 2 ** 29],
    ["2g", 2 * 2 ** 30],
    ["512Ki", 512 * 1024],
    ["64k", 64_000],
    ["134217728", 134217728],
  ])("%s → %d bytes", (quantity, bytes) => {
    expect(memoryBytes(quantity)).toBe(bytes);
  });

  it.each(["", "lots", "128MB", "-1Mi", "1.Mi"])("%j → 400 naming the value", (quantity) => {
    let error: unknown;
    try {
      memoryBytes(quantity);
    } catch (err) {
      error = err;
    }
    expect(error).toMatchObject({ status: 400, message: expect.stringContaining(`"${quantity}"`) });
  });
});

describe("containerSpec", () => {
  const deployment = {
    service: "alice-fn",
    image: "127.0.0.1:5000/alice/fn:1",
    namespace: "openfaas-fn",
    envProcess: "node index.js",
    envVars: { A: "1", port: "9999" },
    labels: { "com.openfaas.cloud.git-owner": "alice" },
    limits: { memory: "64Mi" },
    readOnlyRootFilesystem: true,
  };

  const HARDENED = {
    NetworkMode: "host",
    RestartPolicy: { Name: "unless-stopped" },
    Privileged: false,
    CapDrop: ["ALL"],
    SecurityOpt: ["no-new-privileges"],
    PidsLimit: 256,
    ReadonlyRootfs: true,
    Tmpfs: { "/tmp": "rw,nosuid,nodev,mode=1777" },
  };

  it("deployment + port → host network, port/http_port winning over envVars, fprocess, limits, tmpfs, secrets bind", () => {
    const spec = containerSpec({
      deployment,
      port: 31000,
      createdAt: "2024-01-01T00:00:00Z",
      name: "ofc-fn-alice-fn",
      secretsDir: "/s/alice-fn/31000",
      imageUser: "1000",
    });
    expect(spec.name).toBe("ofc-fn-alice-fn");
    expect(spec.Env).toEqual(["A=1", "port=31000", "fprocess=node index.js", "http_port=31000", "http_host=127.0.0.1"]);
    expect(spec.User).toBeUndefined();
    expect(spec.HostConfig).toEqual({
      ...HARDENED,
      Memory: 64 * 2 ** 20,
      MemorySwap: 64 * 2 ** 20,
      Binds: ["/s/alice-fn/31000:/var/openfaas/secrets:ro"],
    });
    expect(spec.Labels).toMatchObject({ "com.openfaas.cloud.git-owner": "alice", faas_function: "alice-fn" });
  });

  it("a deployment asking for a writable root and no limits, no secrets → still confined: read-only, 128Mi, no bind (issue #10)", () => {
    const spec = containerSpec({
      deployment: { ...deployment, limits: undefined, readOnlyRootFilesystem: false },
      port: 31001,
      createdAt: "2024-01-01T00:00:00Z",
      name: "ofc-fn-alice-fn",
      imageUser: "app",
    });
    expect(spec.HostConfig).toEqual({ ...HARDENED, Memory: 128 * 2 ** 20, MemorySwap: 128 * 2 ** 20, Binds: [] });
  });

  const NOBODY = "65534:65534";
  it.each([
    ["no USER", "nobody", undefined, NOBODY],
    ['USER ""', "nobody", "", NOBODY],
    ["USER root", "nobody", "root", NOBODY],
    ["USER 0", "nobody", "0", NOBODY],
    ["USER 0:0", "nobody", "0:0", NOBODY],
    ["USER root:app", "nobody", "root:app", NOBODY],
    ["USER 1000 (the node templates)", "the image's user", "1000", undefined],
    ["USER nobody (the python template)", "the image's user", "nobody", undefined],
    ["USER app:app", "the image's user", "app:app", undefined],
  ])("an image with %s → runs as %s", (_, _outcome, imageUser, user) => {
    const spec = containerSpec({ deployment, port: 31000, createdAt: "x", name: "x", imageUser });
    expect(spec.User).toBe(user);
  });

  it("its labels → the same deployment, port and creation time back", () => {
    const spec = containerSpec({ deployment, port: 31000, createdAt: "2024-01-01T00:00:00Z", name: "x" });
    expect(fromLabels(spec.Labels ?? null)).toEqual({ deployment, port: 31000, createdAt: "2024-01-01T00:00:00Z" });
    expect(fromLabels({ ...spec.Labels, "com.openfaas.cloud.local.deployment": "{" })).toBeUndefined();
    expect(fromLabels(null)).toBeUndefined();
  });
});
