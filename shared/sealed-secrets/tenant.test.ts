import { SEALING_NAMESPACE, refusalFor, sealingTarget } from "./tenant.js";
import type { SealedSecret } from "./sealed-secret.js";

const secret = (over: Partial<SealedSecret>): SealedSecret => ({
  name: "alice--api-key",
  namespace: SEALING_NAMESPACE,
  scope: "strict",
  encryptedData: { "api-key": "AAAA" },
  ...over,
});

describe("sealingTarget", () => {
  it("Alice + api-key → strict, alice--api-key in openfaas-fn", () => {
    expect(sealingTarget("Alice", "api-key")).toEqual({
      name: "alice--api-key",
      namespace: "openfaas-fn",
      scope: "strict",
    });
  });

  it.each([["a--b"], ["Bad_Name"], [""]])("secret name %j → refused naming the rule", (name) => {
    expect(() => sealingTarget("alice", name)).toThrow(/secret name/);
  });
});

describe("refusalFor", () => {
  it("alice's own strict secret → allowed (login compared case-insensitively)", () => {
    expect(refusalFor("Alice", secret({}))).toBeUndefined();
  });

  it.each<[string, Partial<SealedSecret>, RegExp]>([
    ["bob's secret", { name: "bob--api-key" }, /does not belong to alice: a secret's name must be alice--<name>/],
    ["a name without the owner", { name: "api-key" }, /does not belong to alice/],
    ["an owner prefix only by accident", { name: "alice-x--api-key" }, /does not belong to alice/],
    ["a second separator", { name: "alice--a--b" }, /must not contain "--"/],
    ["no value", { encryptedData: {} }, /holds 0 values: an OpenFaaS secret holds exactly one/],
    ["two values", { encryptedData: { a: "AAAA", b: "AAAA" } }, /holds 2 values/],
    ["namespace-wide", { scope: "namespace-wide" }, /only strict scope binds a secret to its owner/],
    ["cluster-wide", { scope: "cluster-wide", namespace: "" }, /is sealed cluster-wide/],
    ["another namespace", { namespace: "default" }, /namespace "default", the cloud seals for "openfaas-fn"/],
  ])("%s → refused with the reason", (_, over, reason) => {
    expect(refusalFor("alice", secret(over))).toMatch(reason);
  });
});
