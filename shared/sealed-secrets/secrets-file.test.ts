import { createSealingKey, publicKeyOfCertificate } from "./certificate.js";
import { sealSecret } from "./sealed-secret.js";
import { parseSecretsFile, upsertSecretsFile } from "./secrets-file.js";

const NOW = new Date("2026-01-01T00:00:00Z");
const publicKey = publicKeyOfCertificate(createSealingKey(NOW, 2048).certificatePem, NOW);

// What `kubeseal -o yaml` prints for a namespace-wide secret (values shortened).
const KUBESEAL_OUTPUT = `---
apiVersion: bitnami.com/v1alpha1
kind: SealedSecret
metadata:
  annotations:
    sealedsecrets.bitnami.com/namespace-wide: "true"
  creationTimestamp: null
  name: alice--db
  namespace: openfaas-fn
spec:
  encryptedData:
    password: AgBy3i4OJSWK+PiTySYZZA==
  template:
    metadata:
      annotations:
        sealedsecrets.bitnami.com/namespace-wide: "true"
      creationTimestamp: null
      name: alice--db
      namespace: openfaas-fn
    type: Opaque
`;

describe("parseSecretsFile", () => {
  it("kubeseal's output and a strict secret in one file → both, with their scopes", () => {
    const strict = `# the API token\napiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata: {name: alice--token, namespace: openfaas-fn}\nspec:\n  encryptedData: {token: AAAA}\n`;
    expect(parseSecretsFile(`${KUBESEAL_OUTPUT}---\n${strict}---\n`)).toEqual([
      {
        name: "alice--db",
        namespace: "openfaas-fn",
        scope: "namespace-wide",
        encryptedData: { password: "AgBy3i4OJSWK+PiTySYZZA==" },
      },
      { name: "alice--token", namespace: "openfaas-fn", scope: "strict", encryptedData: { token: "AAAA" } },
    ]);
  });

  it("cluster-wide annotation → cluster-wide, no namespace needed", () => {
    const text = `apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata:\n  name: alice--x\n  annotations: {sealedsecrets.bitnami.com/cluster-wide: "true"}\nspec: {encryptedData: {x: AAAA}}\n`;
    expect(parseSecretsFile(text)[0]).toMatchObject({ scope: "cluster-wide", namespace: "" });
  });

  it.each([
    ["malformed YAML", "apiVersion: [\n", /^secrets.yml document 1: line \d+, column \d+/],
    [
      "a Secret instead",
      "apiVersion: v1\nkind: Secret\nmetadata: {name: a}\nspec: {encryptedData: {}}\n",
      /document 1: apiVersion/,
    ],
    [
      "a second document of another kind",
      `${KUBESEAL_OUTPUT}---\napiVersion: bitnami.com/v1alpha1\nkind: ConfigMap\n`,
      /^secrets.yml document 2: kind/,
    ],
    [
      "no name",
      "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata: {}\nspec: {encryptedData: {}}\n",
      /metadata.name/,
    ],
    [
      "the deprecated data blob",
      "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata: {name: a}\nspec: {data: AAAA, encryptedData: {}}\n",
      /deprecated spec.data/,
    ],
    [
      "a value that is not a string",
      "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata: {name: a}\nspec: {encryptedData: {a: [1]}}\n",
      /spec.encryptedData.a/,
    ],
  ])("%s → a 400 naming the document and the problem", (_, text, message) => {
    let thrown: unknown;
    try {
      parseSecretsFile(text);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({ status: 400 });
    expect((thrown as Error).message).toMatch(message);
  });
});

describe("upsertSecretsFile", () => {
  const sealed = (name: string) =>
    sealSecret(publicKey, { name, namespace: "openfaas-fn", scope: "strict" }, { [name]: Buffer.from("v") });

  it("no file → one document that parses back to the secret", () => {
    const secret = sealed("alice--token");
    expect(parseSecretsFile(upsertSecretsFile(undefined, secret))).toEqual([secret]);
  });

  it("a file with another secret → the other kept as written, the new one appended", () => {
    const secret = sealed("alice--token");
    const text = upsertSecretsFile(KUBESEAL_OUTPUT, secret);
    expect(text).toContain(KUBESEAL_OUTPUT.replace(/^---\n/, ""));
    expect(parseSecretsFile(text).map((s) => s.name)).toEqual(["alice--db", "alice--token"]);
  });

  it("a file with the same name → that document replaced, order kept", () => {
    const first = upsertSecretsFile(upsertSecretsFile(KUBESEAL_OUTPUT, sealed("alice--token")), sealed("alice--z"));
    const again = sealed("alice--token");
    const secrets = parseSecretsFile(upsertSecretsFile(first, again));
    expect(secrets.map((s) => s.name)).toEqual(["alice--db", "alice--token", "alice--z"]);
    expect(secrets[1]).toEqual(again);
  });

  it("a malformed file → refused, not overwritten", () => {
    expect(() => upsertSecretsFile("kind: [", sealed("alice--token"))).toThrow(/line/);
  });
});
