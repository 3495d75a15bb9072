import { deployImage, functionName, imageName, secretName } from "./naming.js";

describe("functionName", () => {
  it.each([
    ["alexellis", "tester", "alexellis-tester"],
    ["AlexEllis", "Tester", "alexellis-tester"],
    ["Codertocat", "hello-world", "codertocat-hello-world"],
  ])("%s + %s → %s", (owner, fn, expected) => {
    expect(functionName(owner, fn)).toBe(expected);
  });

  it.each([
    ["an underscore", "my_fn"],
    ["a dot", "my.fn"],
    ["a trailing dash", "fn-"],
    ["over 63 characters", "f".repeat(60)],
  ])("function with %s → a 400 naming the DNS-1123 label rule", (_, fn) => {
    expect(() => functionName("alex", fn)).toThrow(/function name ".*" must be a DNS-1123 label/);
  });
});

describe("secretName", () => {
  it("owner-prefixed and lowercased", () => expect(secretName("Alex", "API-Key")).toBe("alex-api-key"));
  it("an invalid character → a 400 naming the subdomain rule", () =>
    expect(() => secretName("alex", "api key")).toThrow(/secret name "alex-api key" must be a DNS-1123 subdomain/));
});

describe("imageName", () => {
  const sha = "04b8e44aaaabbbbccccddddeeeeffff000011112";
  it.each([
    ["registry:5000", "alexellis", "go-fns", "tester", "registry:5000/alexellis/go-fns-tester:latest-04b8e44"],
    [
      "docker.io/of-community/",
      "AlexEllis",
      "go-fns",
      "func",
      "docker.io/of-community/alexellis-go-fns-func:latest-04b8e44",
    ],
    ["127.0.0.1:5000/", "Codertocat", "Hello-World", "fn", "127.0.0.1:5000/codertocat-hello-world-fn:latest-04b8e44"],
  ])("%s %s/%s %s → %s", (registry, owner, repo, fn, expected) => {
    expect(imageName(registry, owner, repo, fn, sha)).toBe(expected);
  });

  it("a repo name the registry cannot hold → a 400 naming the component", () => {
    expect(() => imageName("reg:5000", "alex", "my_", "fn", sha)).toThrow(/image path component "my_-fn"/);
  });
});

describe("deployImage", () => {
  it.each([
    ["registry:5000/u/f:1", "registry:5000", "127.0.0.1:5000", "127.0.0.1:5000/u/f:1"],
    ["registry:31115/u/f:1", "registry:31115/", "127.0.0.1", "127.0.0.1/u/f:1"],
    ["other.io/u/f:1", "registry:5000", "127.0.0.1:5000", "other.io/u/f:1"],
  ])("%s (push %s, pull %s) → %s", (image, push, pull, expected) => {
    expect(deployImage(image, push, pull)).toBe(expected);
  });
});
