import { registryAuthHeader, registryOf } from "./registry-auth.js";

const decode = (header: string) =>
  JSON.parse(Buffer.from(header.replace(/-/g, "+").replace(/_/g, "/"), "base64").toString()) as unknown;
const auth = (user: string, pass: string) => Buffer.from(`${user}:${pass}`).toString("base64");

describe("registryOf", () => {
  it.each([
    ["127.0.0.1:5000/alice/fn:1", "127.0.0.1:5000"],
    ["ghcr.io/alice/fn:1", "ghcr.io"],
    ["localhost/fn", "localhost"],
    ["alice/fn:latest", "docker.io"],
    ["fn", "docker.io"],
  ])("%s → %s", (image, registry) => expect(registryOf(image)).toBe(registry));
});

describe("registryAuthHeader", () => {
  const config = JSON.stringify({
    auths: {
      "https://index.docker.io/v1/": { auth: auth("hubuser", "hubpass") },
      "ghcr.io": { username: "gh", password: "tok?en>" },
      "http://127.0.0.1:5000": { auth: auth("local", "pa:ss") },
      "ecr.example.com": { identitytoken: "idtok" },
    },
  });

  it.each([
    ["alice/fn:1", { username: "hubuser", password: "hubpass", serveraddress: "docker.io" }],
    ["ghcr.io/alice/fn:1", { username: "gh", password: "tok?en>", serveraddress: "ghcr.io" }],
    ["127.0.0.1:5000/alice/fn:1", { username: "local", password: "pa:ss", serveraddress: "127.0.0.1:5000" }],
    ["ecr.example.com/fn:1", { identitytoken: "idtok", serveraddress: "ecr.example.com" }],
    ["quay.io/other/fn:1", {}],
  ])("%s → %j", (image, expected) => {
    const header = registryAuthHeader(config, image);
    expect(header).toMatch(/^[A-Za-z0-9_-]+=*$/);
    expect(decode(header)).toEqual(expected);
  });

  it("no config → e30= (anonymous `{}`, as the Engine requires the header)", () => {
    expect(registryAuthHeader(undefined, "127.0.0.1:5000/a:1")).toBe("e30=");
  });

  it("base64url keeps padding and uses - and _ (Go's base64.URLEncoding) → known answer", () => {
    const text = JSON.stringify({ auths: { "r.io": { username: "??>", password: "~~~" } } });
    expect(registryAuthHeader(text, "r.io/a")).toBe(
      "eyJ1c2VybmFtZSI6Ij8_PiIsInBhc3N3b3JkIjoifn5-Iiwic2VydmVyYWRkcmVzcyI6InIuaW8ifQ==",
    );
  });

  it.each([
    ["not json", /not a Docker config/],
    [
      JSON.stringify({ auths: { "r.io": { auth: Buffer.from("nocolon").toString("base64") } } }),
      /not base64 "user:password"/,
    ],
  ])("malformed config %j → error", (text, message) => {
    expect(() => registryAuthHeader(text, "r.io/a")).toThrow(message);
  });
});
