// ofc seal (issue #15): seals one secret value for an owner with the cloud's certificate and writes it into
// secrets.yml, in kubeseal's format; no cluster access. Like `faas-cli cloud seal` in the original.
// Usage: npm run seal -- --cert <file|url> --owner <login> --name <secret> (--literal key=value | --from-file key=path)
//        [--file secrets.yml]
import { readFile, writeFile } from "node:fs/promises";
import { basename } from "node:path";
import { parseArgs } from "node:util";
import { publicKeyOfCertificate } from "../shared/sealed-secrets/certificate.js";
import { sealSecret } from "../shared/sealed-secrets/sealed-secret.js";
import { upsertSecretsFile } from "../shared/sealed-secrets/secrets-file.js";
import { sealingTarget } from "../shared/sealed-secrets/tenant.js";

const USAGE =
  "usage: seal --cert <file|url> --owner <login> --name <secret> (--literal key=value | --from-file key=path) " +
  "[--file secrets.yml]";

async function readCertificate(where: string): Promise<string> {
  if (!/^https?:\/\//.test(where)) return readFile(where, "utf8");
  const res = await fetch(where);
  if (!res.ok) throw new Error(`GET ${where} answered ${res.status}`);
  return res.text();
}

/** The one value to seal, keyed as in a Kubernetes Secret (kubectl's --from-literal / --from-file forms). */
async function readValue(literals: string[], files: string[]): Promise<[string, Buffer]> {
  if (literals.length + files.length !== 1) {
    throw new Error("give exactly one --literal or --from-file: an OpenFaaS secret holds one value");
  }
  const [literal] = literals;
  if (literal !== undefined) {
    const at = literal.indexOf("=");
    if (at < 1) throw new Error("--literal must be key=value");
    return [literal.slice(0, at), Buffer.from(literal.slice(at + 1))];
  }
  const spec = files[0]!;
  const at = spec.indexOf("=");
  const path = at < 0 ? spec : spec.slice(at + 1);
  return [at < 0 ? basename(spec) : spec.slice(0, at), await readFile(path)];
}

async function main(argv: string[]): Promise<string> {
  const { values } = parseArgs({
    args: argv,
    options: {
      cert: { type: "string" },
      owner: { type: "string" },
      name: { type: "string" },
      literal: { type: "string", multiple: true, default: [] },
      "from-file": { type: "string", multiple: true, default: [] },
      file: { type: "string", default: "secrets.yml" },
    },
  });
  if (!values.cert || !values.owner || !values.name) throw new Error(USAGE);
  const publicKey = publicKeyOfCertificate(await readCertificate(values.cert), new Date());
  const target = sealingTarget(values.owner, values.name);
  const [key, value] = await readValue(values.literal, values["from-file"]);
  const existing = await readFile(values.file, "utf8").catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return undefined;
    throw error;
  });
  await writeFile(values.file, upsertSecretsFile(existing, sealSecret(publicKey, target, { [key]: value })));
  return `sealed ${target.name} (strict, ${target.namespace}) into ${values.file}`;
}

main(process.argv.slice(2)).then(
  (message) => console.log(message),
  (error: unknown) => {
    console.error(`seal: ${(error as Error).message}`);
    process.exitCode = 1;
  },
);
