// Independent cross-check of kubeseal's format (issue #15): @linode/kubeseal-encrypt, another implementation of
// kubeseal's per-value sealing (WebCrypto, written from the Go source), seals; the project's code opens. It only
// seals namespace-wide (its label is the namespace), so that is the scope checked here; the byte layout is the same
// for every scope, which shared/sealed-secrets/sealed-secret.test.ts checks label by label.
import { encryptSecretItem } from "@linode/kubeseal-encrypt";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { createSealingKey } from "../shared/sealed-secrets/certificate.js";
import { openSealedSecret } from "../shared/sealed-secrets/sealed-secret.js";
import { parseSecretsFile } from "../shared/sealed-secrets/secrets-file.js";

const NOW = new Date("2026-01-01T00:00:00Z");
const pair = createSealingKey(NOW, 2048);
const publicPem = new X509Certificate(pair.certificatePem).publicKey.export({ type: "spki", format: "pem" }).toString();
const privateKeys = [createPrivateKey(pair.privateKeyPem)];

describe("@linode/kubeseal-encrypt seals → the project opens", () => {
  it.each(["hunter2", "", "ünïcødé ✓", "x".repeat(5000)])(
    "value %#, namespace-wide in openfaas-fn → opens",
    async (value) => {
      const sealed = await encryptSecretItem(publicPem, "openfaas-fn", value);
      const [secret] = parseSecretsFile(
        `apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata:\n  name: alice--db\n  namespace: openfaas-fn\n` +
          `  annotations: {sealedsecrets.bitnami.com/namespace-wide: "true"}\nspec:\n  encryptedData:\n    db: ${sealed}\n`,
      );
      const result = openSealedSecret(privateKeys, secret!);
      expect(result.ok && result.data.db!.toString()).toBe(value);
    },
  );

  it("sealed for another namespace → does not open", async () => {
    const sealed = await encryptSecretItem(publicPem, "default", "hunter2");
    const secret = {
      name: "alice--db",
      namespace: "openfaas-fn",
      scope: "namespace-wide" as const,
      encryptedData: { db: sealed },
    };
    expect(openSealedSecret(privateKeys, secret).ok).toBe(false);
  });
});
