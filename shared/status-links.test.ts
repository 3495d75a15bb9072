import { verifyLogLink } from "./log-link.js";
import { statusLinks } from "./status-links.js";

const SHA = "04b8e44aaaabbbbccccddddeeeeffff000011112";
const key = { owner: "Alice", repo: "Fns", sha: SHA, function: "api" };

describe("statusLinks with system_public_url (the dashboard, issue #14)", () => {
  // Made in each test, not at describe level: Stryker counts only what runs inside a test (docs/testing.md).
  const dashboardLinks = () =>
    statusLinks({
      systemPublicUrl: "https://system.example.com/",
      publicUrl: "https://gw.example.com/",
      payloadSecret: "s",
    });

  it("stack-deploy → the owner's dashboard page", () => {
    expect(dashboardLinks().stack("Alice")).toBe("https://system.example.com/dashboard/alice");
  });

  it("a function's pending and failure statuses → that build's page, not the raw log", () => {
    const page = `https://system.example.com/dashboard/alice/builds/fns/${SHA}/api`;
    const links = dashboardLinks();
    expect([links.pending(key), links.failure(key)]).toEqual([page, page]);
  });
});

describe("statusLinks without system_public_url (as before the dashboard)", () => {
  it("stack-deploy and pending → no link", () => {
    const links = statusLinks({ publicUrl: "https://gw.example.com/", payloadSecret: "s" });
    expect([links.stack("alice"), links.pending(key)]).toEqual([undefined, undefined]);
  });

  it("failure → the signed pipeline-log link on the gateway's public URL", () => {
    const url = new URL(statusLinks({ publicUrl: "https://gw.example.com/", payloadSecret: "s" }).failure(key)!);
    expect(`${url.origin}${url.pathname}`).toBe("https://gw.example.com/function/pipeline-log");
    expect(verifyLogLink("s", key, url.searchParams.get("sig") ?? undefined)).toBe(true);
  });

  it.each([
    ["no public URL", { payloadSecret: "s" }],
    ["no payload secret", { publicUrl: "https://gw.example.com/" }],
    ["an empty system_public_url", { systemPublicUrl: "", publicUrl: "https://gw.example.com/" }],
  ])("failure with %s → no link (nothing that could not be verified)", (_, settings) => {
    expect(statusLinks(settings).failure(key)).toBeUndefined();
  });
});
