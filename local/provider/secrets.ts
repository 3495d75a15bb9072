import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { HttpError } from "../../shared/http-error.js";
import { parseJsonBody } from "../../shared/json-body.js";
import { checkNamespace } from "./deployment.js";

/** Secrets as files under one folder (faas-provider keeps them as files too), copied per function when it starts. */
export interface SecretStore {
  /** The names, sorted. */
  list(): string[];
  /** 409 when it exists (faas-netes maps Kubernetes' AlreadyExists to 409; faas-cli says so). */
  create(name: string, value: Buffer): void;
  /** 404 when it does not exist. */
  replace(name: string, value: Buffer): void;
  /** 404 when it does not exist. */
  remove(name: string): void;
  /** A 400 naming the first secret of `names` that does not exist, as providers refuse such a deployment. */
  check(names: readonly string[]): void;
  /** Copies `names` into a fresh `folder`, readable by the function's (non-root) user. */
  copyTo(names: readonly string[], folder: string): void;
}

// Kubernetes secret names are DNS-1123 subdomains; here they are also file names, so this rule keeps them inside `dir`.
const SECRET_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

const secretSchema = z.object({
  name: z.string().nullish(),
  namespace: z.string().nullish(),
  value: z.string().nullish(),
  rawValue: z.base64().nullish(),
});

/** Parses a Secret body (anchors §A): `value`, or `rawValue` (base64) when `value` is empty. */
export function parseSecret(body: Buffer, queryNamespace?: string | null): { name: string; value: Buffer } {
  const secret = parseJsonBody(secretSchema, body, "Secret");
  // faasd reads delete-secret's namespace from the query, others from the body (anchors §A): check both.
  checkNamespace(secret.namespace);
  checkNamespace(queryNamespace);
  const name = secret.name ?? "";
  if (!SECRET_NAME.test(name)) {
    throw new HttpError(400, `secret name "${name}" is invalid: must be lower-case letters, digits, '-' and '.'`);
  }
  const value = secret.value ? Buffer.from(secret.value) : Buffer.from(secret.rawValue ?? "", "base64");
  return { name, value };
}

/** A SecretStore over `dir` (created 0700: only the gateway reads it). */
export function createSecretStore(options: { dir: string }): SecretStore {
  const { dir } = options;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = (name: string) => join(dir, name);
  const exists = (name: string) => SECRET_NAME.test(name) && existsSync(path(name));

  return {
    list: () =>
      readdirSync(dir)
        .filter((name) => SECRET_NAME.test(name))
        .sort(),
    create(name, value) {
      try {
        writeFileSync(path(name), value, { mode: 0o600, flag: "wx" });
      } catch (err) {
        if ((err as { code?: string }).code === "EEXIST") throw new HttpError(409, `secret ${name} already exists`);
        throw err;
      }
    },
    replace(name, value) {
      if (!exists(name)) throw new HttpError(404, `secret ${name} not found`);
      writeFileSync(path(name), value, { mode: 0o600 });
    },
    remove(name) {
      if (!exists(name)) throw new HttpError(404, `secret ${name} not found`);
      rmSync(path(name));
    },
    check(names) {
      // faasd's text (pkg/provider/handlers/deploy.go validateSecrets).
      for (const name of names) if (!exists(name)) throw new HttpError(400, `unable to find secret: ${name}`);
    },
    copyTo(names, folder) {
      rmSync(folder, { recursive: true, force: true });
      mkdirSync(folder, { recursive: true, mode: 0o755 });
      for (const name of names) {
        copyFileSync(path(name), join(folder, name));
        // Kubernetes mounts secret files 0644; the function usually runs as a non-root user.
        chmodSync(join(folder, name), 0o444);
      }
    },
  };
}
