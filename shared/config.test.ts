import { loadConfig } from "./config.js";

const files = (entries: Record<string, string>) => (path: string) => {
  const hit = Object.entries(entries).find(([name]) => path.endsWith(`/${name}`));
  if (!hit) throw Object.assign(new Error("ENOENT"), { code: "ENOENT" });
  return hit[1];
};

describe("loadConfig", () => {
  it("nothing set → the documented defaults", () => {
    const config = loadConfig({}, {}, files({}));
    expect(config).toMatchObject({
      gateway_url: "http://gateway.openfaas:8080/",
      validate_hmac: true,
      validate_customers: true,
      report_status: true,
      s3_bucket: "pipeline",
      functions_per_repo_limit: 5,
      build_concurrency: 2,
      github_api_url: "https://api.github.com",
    });
    expect(config.build_branch).toBeUndefined();
  });

  it("openfaas_edition: auto by default (over 5 replicas allowed at start); explicit ce over 5 → a start error naming the key; pro allows it", () => {
    const auto = loadConfig({ scaling_max_limit: "6" }, {}, files({}));
    expect([auto.openfaas_edition, auto.scaling_max_limit]).toEqual(["auto", 6]);
    expect(() => loadConfig({ openfaas_edition: "ce", scaling_max_limit: "6" }, {}, files({}))).toThrow(
      "scaling_max_limit: at most 5 on OpenFaaS Community Edition (openfaas_edition=ce) (got 6)",
    );
    const ce = { openfaas_edition: "ce", scaling_min_limit: "5", scaling_max_limit: "5" };
    expect(() => loadConfig(ce, {}, files({}))).not.toThrow();
    const pro = loadConfig({ openfaas_edition: "pro", scaling_max_limit: "20" }, {}, files({}));
    expect([pro.openfaas_edition, pro.scaling_max_limit]).toEqual(["pro", 20]);
    expect(() => loadConfig({ openfaas_edition: "enterprise" }, {}, files({}))).toThrow(
      /openfaas_edition: expected "auto", "ce" or "pro"/,
    );
  });

  it.each([
    ["0", false],
    ["false", false],
    ["1", true],
    ["true", true],
  ])("validate_hmac=%s → %s", (value, expected) => {
    expect(loadConfig({ validate_hmac: value }, {}, files({})).validate_hmac).toBe(expected);
  });

  it.each([
    ["validate_hmac", "yes", /validate_hmac: expected "true", "false", "1" or "0" \(got "yes"\)/],
    ["gateway_url", "gateway:8080", /gateway_url: expected an absolute http\(s\) URL/],
    ["build_concurrency", "two", /build_concurrency: expected a whole number/],
    ["functions_per_repo_limit", "0", /functions_per_repo_limit: expected a number above 0/],
    ["github_app_id", "abc", /github_app_id: expected the numeric GitHub App id/],
  ])("%s=%s → an error naming the key", (key, value, message) => {
    expect(() => loadConfig({ [key]: value }, {}, files({}))).toThrow(message);
  });

  // Issue #17: the gateway takes com.openfaas.scale.factor from 0 to 100; anything else fails at start.
  it.each([
    [undefined, 20],
    ["0", 0],
    ["50", 50],
    ["100", 100],
  ])("scaling_factor=%s → %s", (value, expected) => {
    expect(loadConfig({ scaling_factor: value }, {}, files({})).scaling_factor).toBe(expected);
  });

  it.each(["101", "-1", "2.5", "half"])("scaling_factor=%s → an error naming the key and the range", (value) => {
    expect(() => loadConfig({ scaling_factor: value }, {}, files({}))).toThrow(
      `scaling_factor: expected a whole number from 0 to 100 (got "${value}")`,
    );
  });

  it("a required setting unset → an error naming it", () => {
    expect(() => loadConfig({}, { settings: ["github_app_id"] }, files({}))).toThrow(
      /github_app_id: required by this function but not set/,
    );
  });

  it("secrets → read from secret_mount_path and trimmed", () => {
    const config = loadConfig(
      { secret_mount_path: "/run/secrets" },
      { secrets: ["payload-secret"], optionalSecrets: ["customers"] },
      files({ "payload-secret": "abc\n" }),
    );
    expect(config.secrets["payload-secret"]).toBe("abc");
    expect(config.secrets.customers).toBeUndefined();
  });

  it("a required secret missing or empty → an error naming the secret and its path", () => {
    expect(() =>
      loadConfig(
        { secret_mount_path: "/run/secrets" },
        { secrets: ["payload-secret", "private-key"] },
        files({ "private-key": " " }),
      ),
    ).toThrow(
      /secret payload-secret: unable to read \/run\/secrets\/payload-secret \(ENOENT\)[\s\S]*secret private-key: \/run\/secrets\/private-key is empty/,
    );
  });
});
