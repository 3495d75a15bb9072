import type { FunctionStatus } from "../../shared/gateway.js";
import { previewKey } from "../../shared/naming.js";
import { previewCapRefusal } from "./preview-cap.js";

// Issue #17: one owner's live preview branches are capped (max_previews_per_owner).
describe("previewCapRefusal", () => {
  const spec = { owner: "alice", ownerId: 42, repo: "fns", preview: previewKey("new") };
  const fn = (name: string, ownerId: number, repo: string, branch?: string): FunctionStatus => ({
    name,
    image: "i",
    labels: {
      "com.openfaas.cloud.git-owner-id": String(ownerId),
      "com.openfaas.cloud.git-repo": repo,
      ...(branch ? { "com.openfaas.cloud.preview-branch": previewKey(branch) } : {}),
    },
  });
  const gateway = (fns: FunctionStatus[]) => ({ listFunctions: () => Promise.resolve(fns) });
  // Two functions of one branch count once; the same branch name in two repositories counts twice.
  const two = [fn("a1", 42, "fns", "b1"), fn("a2", 42, "fns", "b1"), fn("a3", 42, "other", "b1")];

  it.each([
    ["2 live, cap 3", two, 3],
    ["2 live, cap 2, the pushed branch among them", [...two, fn("a4", 42, "fns", "new")], 2],
    [
      "main functions and other owners' previews do not count",
      [fn("m", 42, "fns"), fn("b", 7, "fns", "x"), fn("c", 7, "fns", "y")],
      1,
    ],
  ])("%s → allowed", async (_, fns, cap) => {
    await expect(previewCapRefusal(gateway(fns), spec, cap)).resolves.toBeUndefined();
  });

  it("2 live branches, cap 2, a new branch → refused, naming the cap", async () => {
    await expect(previewCapRefusal(gateway(two), spec, 2)).resolves.toBe(
      "preview refused: alice already has 2 live previews, the cap (max_previews_per_owner=2); " +
        "delete a branch or close its pull request",
    );
  });
});
