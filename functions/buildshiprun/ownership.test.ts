import type { DeploySpec } from "../../shared/deploy-spec.js";
import type { FunctionStatus } from "../../shared/gateway.js";
import { claimName } from "./ownership.js";

// DESIGN §5, issue #10: a deployed name is ours only when it carries our owner id and our repository.
const spec = { owner: "Alice", ownerId: 42, repo: "Fns", service: "alice--api" } as DeploySpec;
const labels = (id: string | undefined, owner: string | undefined, repo: string | undefined, extra = {}) => ({
  ...(id === undefined ? {} : { "com.openfaas.cloud.git-owner-id": id }),
  ...(owner === undefined ? {} : { "com.openfaas.cloud.git-owner": owner }),
  ...(repo === undefined ? {} : { "com.openfaas.cloud.git-repo": repo }),
  ...extra,
});
/** The gateway's answer to GET /system/function/alice--api: the narrow part claimName reads. */
const gatewayWith = (existing?: Partial<FunctionStatus>) => ({
  getFunction: (name: string) =>
    Promise.resolve(existing && name === "alice--api" ? { name, image: "i", ...existing } : undefined),
});

describe("claimName", () => {
  it("no function by that name → create", async () => {
    await expect(claimName(gatewayWith(), spec)).resolves.toEqual({ action: "create" });
  });

  it.each([
    ["same owner id and repository", labels("42", "alice", "fns")],
    ["same id, repository in another case", labels("42", "alice", "FNS")],
    ["same id, the login renamed since", labels("42", "alice-old", "fns")],
    ["same id, no login label", labels("42", undefined, "fns")],
  ])("%s → update", async (_, existing) => {
    await expect(claimName(gatewayWith({ labels: existing }), spec)).resolves.toEqual({ action: "update" });
  });

  it.each([
    ["another owner id", labels("7", "bob", "fns"), "belongs to bob/fns"],
    [
      "another owner id, private repository",
      labels("7", "bob", "x", { "com.openfaas.cloud.git-private": "1" }),
      "belongs to bob (a private repository)",
    ],
    [
      "another owner id, public repository marked 0",
      labels("7", "bob", "x", { "com.openfaas.cloud.git-private": "0" }),
      "belongs to bob/x",
    ],
    [
      "another owner id under the same login (a renamed account)",
      labels("7", "ALICE", "fns"),
      "belongs to ALICE/fns, owner id 7",
    ],
    ["another owner id, no login label", labels("7", undefined, undefined), "belongs to another owner/"],
    ["the same owner's other repository", labels("42", "alice", "first"), "belongs to alice/first"],
    ["the same owner id, no repository label", labels("42", "alice", undefined), "belongs to alice/"],
    ["the same owner id, no labels but the id", labels("42", undefined, undefined), "belongs to another owner/"],
    [
      "no owner id (a system or operator function)",
      labels(undefined, "alice", "fns"),
      "is a system or operator function",
    ],
    ["an empty owner id", labels("", "alice", "fns"), "is a system or operator function"],
  ])("%s → refuse: %s", async (_, existing, holder) => {
    await expect(claimName(gatewayWith({ labels: existing }), spec)).resolves.toEqual({
      action: "refuse",
      reason: `deploy refused: alice--api ${holder}`,
    });
  });

  it.each([
    ["null", null],
    ["absent", undefined],
  ])("labels %s → refuse as a system or operator function", async (_, value) => {
    await expect(claimName(gatewayWith({ labels: value }), spec)).resolves.toEqual({
      action: "refuse",
      reason: "deploy refused: alice--api is a system or operator function",
    });
  });
});
