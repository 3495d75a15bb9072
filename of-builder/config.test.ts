import { loadBuilderConfig } from "./config.js";

const secrets = (files: Record<string, string>) => (path: string) => {
  const text = files[path];
  if (text === undefined) throw Object.assign(new Error(`ENOENT ${path}`), { code: "ENOENT" });
  return text;
};
const withSecret = secrets({ "/var/openfaas/secrets/payload-secret": "s3cret\n" });

describe("loadBuilderConfig", () => {
  it("empty env and a payload-secret → the documented defaults, frozen", () => {
    const config = loadBuilderConfig({}, withSecret);
    expect(config).toEqual({
      builder_backend: "docker",
      dockerSocket: "/var/run/docker.sock",
      BUILDKIT_HOST: "unix:///run/buildkit/buildkitd.sock",
      max_inflight: 2,
      port: 8080,
      host: "127.0.0.1",
      max_build_mb: 500,
      max_build_files: 10_000,
      secret_mount_path: "/var/openfaas/secrets",
      payloadSecret: "s3cret",
      baseBuildArgs: {},
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it("DOCKER_HOST, proxies, buildkit backend → socket path and proxy build args", () => {
    const config = loadBuilderConfig(
      {
        builder_backend: "buildkit",
        DOCKER_HOST: "unix:///run/ofc-docker.sock",
        BUILDKIT_HOST: "tcp://127.0.0.1:1234",
        http_proxy: "http://proxy:3128",
        no_proxy: "localhost",
        https_proxy: "",
        DOCKER_CONFIG: "/home/app/.docker",
        secret_mount_path: "/run/s",
        host: "0.0.0.0",
        port: "0",
      },
      secrets({ "/run/s/payload-secret": "x" }),
    );
    expect(config).toMatchObject({
      builder_backend: "buildkit",
      dockerSocket: "/run/ofc-docker.sock",
      BUILDKIT_HOST: "tcp://127.0.0.1:1234",
      DOCKER_CONFIG: "/home/app/.docker",
      host: "0.0.0.0",
      port: 0,
      baseBuildArgs: { http_proxy: "http://proxy:3128", no_proxy: "localhost" },
    });
  });

  it.each([
    [{ builder_backend: "kaniko" }, /builder_backend: expected "docker" or "buildkit"/],
    [{ max_inflight: "0" }, /max_inflight: expected a number above 0/],
    [{ max_build_mb: "lots" }, /max_build_mb: expected a whole number/],
    [{ DOCKER_HOST: "tcp://1.2.3.4:2375" }, /DOCKER_HOST: expected unix:\/\/\/path/],
    [{ port: "70000" }, /port:/],
    [{ build_args: "NODE_IMAGE" }, /build_args: expected K=V pairs separated by commas/],
  ])("%j → startup error naming the key", (env, message) => {
    expect(() => loadBuilderConfig(env, withSecret)).toThrow(message);
  });

  it("build_args → every pair, before the proxy variables", () => {
    const config = loadBuilderConfig(
      { build_args: "NODE_IMAGE=127.0.0.1:5000/base/node:20, X=a=b", http_proxy: "http://p" },
      withSecret,
    );
    expect(config.baseBuildArgs).toEqual({
      NODE_IMAGE: "127.0.0.1:5000/base/node:20",
      X: "a=b",
      http_proxy: "http://p",
    });
  });

  it.each([
    [secrets({}), /secret payload-secret: unable to read \/var\/openfaas\/secrets\/payload-secret \(ENOENT\)/],
    [secrets({ "/var/openfaas/secrets/payload-secret": " \n" }), /payload-secret: .* is empty/],
  ])("missing or empty payload-secret → startup error", (readFile, message) => {
    expect(() => loadBuilderConfig({}, readFile)).toThrow(message);
  });
});
