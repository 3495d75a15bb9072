import { loadRouterConfig, trustedProxyList } from "./config.js";

describe("loadRouterConfig", () => {
  it("only a domain → the documented defaults, frozen, no proxy trusted", () => {
    const config = loadRouterConfig({ domain: "example.com" });
    expect({ ...config, trustedProxies: undefined }).toEqual({
      domain: "example.com",
      gateway_url: "http://gateway.openfaas:8080/",
      port: 8080,
      host: "127.0.0.1",
      trusted_proxies: [],
      log_level: "info",
      trustedProxies: undefined,
    });
    expect(Object.isFrozen(config)).toBe(true);
    expect(config.trustedProxies.check("10.0.0.1", "ipv4")).toBe(false);
  });

  it("every setting → parsed: the domain lowercased without its trailing dot, proxies as a matcher", () => {
    const config = loadRouterConfig({
      domain: "Cloud.Example.COM.",
      gateway_url: "http://127.0.0.1:31112/",
      port: "0",
      host: "0.0.0.0",
      trusted_proxies: " 10.0.0.0/8, 192.168.1.7 ,fd00::/8",
      log_level: "warn",
    });
    expect(config).toMatchObject({
      domain: "cloud.example.com",
      gateway_url: "http://127.0.0.1:31112/",
      port: 0,
      host: "0.0.0.0",
      trusted_proxies: ["10.0.0.0/8", "192.168.1.7", "fd00::/8"],
      log_level: "warn",
    });
    expect(
      ["10.42.0.9", "192.168.1.7", "192.168.1.8", "fd12::1", "2001:db8::1"].map((a) =>
        config.trustedProxies.check(a, a.includes(":") ? "ipv6" : "ipv4"),
      ),
    ).toEqual([true, true, false, true, false]);
  });

  it.each([
    [{}, /domain: required, not set/],
    [{ domain: "" }, /domain: required, not set/],
    [{ domain: "https://example.com" }, /domain: expected a DNS name such as example.com or localhost/],
    [{ domain: "example.com:443" }, /domain: expected a DNS name/],
    [{ domain: "*.example.com" }, /domain: expected a DNS name/],
    [{ domain: "x", gateway_url: "gateway:8080" }, /gateway_url: expected the gateway's http:\/\/ URL/],
    [{ domain: "x", gateway_url: "https://gateway:8443/" }, /gateway_url: expected the gateway's http:\/\/ URL/],
    [{ domain: "x", port: "http" }, /port: expected a port number/],
    [{ domain: "x", log_level: "loud" }, /log_level: expected fatal, error/],
    [{ domain: "x", trusted_proxies: "10.0.0.0/33" }, /trusted_proxies: "10.0.0.0\/33" is not an IP address or CIDR/],
    [{ domain: "x", trusted_proxies: "ingress" }, /trusted_proxies: "ingress" is not an IP address/],
  ])("%j → an error naming the key and the expected form", (env, message) => {
    expect(() => loadRouterConfig(env)).toThrow(message);
    expect(() => loadRouterConfig(env)).toThrow(/^invalid edge-router configuration:/);
  });

  it("two bad keys → both named in one error", () => {
    expect(() => loadRouterConfig({ port: "-1", trusted_proxies: "x" })).toThrow(
      /domain: required, not set.*\n.*port:.*\n.*trusted_proxies: "x"/,
    );
  });
});

describe("trustedProxyList", () => {
  it("an IPv4 block → also matches IPv4-mapped IPv6 peers", () => {
    expect(trustedProxyList(["127.0.0.0/8"]).check("::ffff:127.0.0.1", "ipv6")).toBe(true);
  });
});
