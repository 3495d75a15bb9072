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

  it("deployment + port → host network, port/http_port winning over envVars, fprocess, limits, tmpfs, secrets bind", () => {
    const spec = containerSpec({
      deployment,
      port: 31000,
      createdAt: "2024-01-01T00:00:00Z",
      name: "ofc-fn-alice-fn",
      secretsDir: "/s/alice-fn/31000",
    });
    expect(spec.name).toBe("ofc-fn-alice-fn");
    expect(spec.Env).toEqual(["A=1", "port=31000", "fprocess=node index.js", "http_port=31000", "http_host=127.0.0.1"]);
    expect(spec.HostConfig).toEqual({
      NetworkMode: "host",
      RestartPolicy: { Name: "unless-stopped" },
      ReadonlyRootfs: true,
      Tmpfs: { "/tmp": "rw,nosuid,nodev,mode=1777" },
      Memory: 64 * 2 ** 20,
      Binds: ["/s/alice-fn/31000:/var/openfaas/secrets:ro"],
    });
    expect(spec.Labels).toMatchObject({ "com.openfaas.cloud.git-owner": "alice", faas_function: "alice-fn" });
  });

  it("its labels → the same deployment, port and creation time back", () => {
    const spec = containerSpec({ deployment, port: 31000, createdAt: "2024-01-01T00:00:00Z", name: "x" });
    expect(fromLabels(spec.Labels ?? null)).toEqual({ deployment, port: 31000, createdAt: "2024-01-01T00:00:00Z" });
    expect(fromLabels({ ...spec.Labels, "com.openfaas.cloud.local.deployment": "{" })).toBeUndefined();
    expect(fromLabels(null)).toBeUndefined();
  });
});
