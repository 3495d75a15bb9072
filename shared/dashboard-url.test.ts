import { dashboardUrls } from "./dashboard-url.js";

const SHA = "04b8e44aaaabbbbccccddddeeeeffff000011112";

describe("dashboardUrls", () => {
  it.each(["https://system.example.com", "https://system.example.com/", "https://system.example.com//"])(
    "system_public_url %s → pages under /dashboard with one slash",
    (base) => {
      const urls = dashboardUrls(base);
      expect(urls.owner("alice")).toBe("https://system.example.com/dashboard/alice");
      expect(urls.function("alice", "api")).toBe("https://system.example.com/dashboard/alice/functions/api");
      expect(urls.build("alice", "fns", SHA, "api")).toBe(
        `https://system.example.com/dashboard/alice/builds/fns/${SHA}/api`,
      );
    },
  );

  it("a public URL with a path keeps it (a system host behind a path prefix)", () => {
    expect(dashboardUrls("http://127.0.0.1:8080/cloud/").owner("bob")).toBe(
      "http://127.0.0.1:8080/cloud/dashboard/bob",
    );
  });

  // GitHub's logins and repository names are case-insensitive; the pages and the keys behind them are lowercase.
  it("lowercases every part, so a status for Alice/Fns opens alice's page", () => {
    expect(dashboardUrls("https://s.example").build("Alice", "Fns", SHA.toUpperCase(), "API")).toBe(
      `https://s.example/dashboard/alice/builds/fns/${SHA}/api`,
    );
  });

  it("percent-encodes each part, so no value can add a path segment or a query", () => {
    const urls = dashboardUrls("https://s.example");
    expect(urls.function("alice", "a/../b?x#y")).toBe("https://s.example/dashboard/alice/functions/a%2F..%2Fb%3Fx%23y");
    expect(new URL(urls.build("alice", "r/e", "s", "f")).pathname.split("/")).toHaveLength(7);
  });
});
