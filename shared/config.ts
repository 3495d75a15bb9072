import { readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { parseDuration } from "./function-server.js";

/**
 * Every setting the system reads (DESIGN §4), with the names kept from the original so operators can carry their
 * environment files over. Each entry's doc line is mirrored in docs/configuration.md.
 */
const flag = z
  .enum(["true", "false", "1", "0"], { message: 'expected "true", "false", "1" or "0"' })
  .transform((v) => v === "true" || v === "1");
const url = z.url({ protocol: /^https?$/, message: "expected an absolute http(s) URL" });
const count = z.coerce
  .number({ message: "expected a whole number" })
  .int("expected a whole number")
  .positive("expected a number above 0");
const milli = z.coerce
  .number({ message: "expected a whole number" })
  .int("expected a whole number")
  .nonnegative("expected 0 or more");
const text = z.string().trim().min(1, "expected a value");
// Kept as written ("30m"), so the documented default reads as the operator writes it; parseDuration gives the ms.
const duration = z
  .string()
  .trim()
  .refine((v) => parseDuration(v) !== undefined, 'expected a duration such as "30m", "3m" or "90s"');

const settings = {
  gateway_url: url.default("http://gateway.openfaas:8080/"), // internal gateway address every hop goes through
  gateway_public_url: url.optional(), // public gateway address, used in status links
  gateway_pretty_url: url.optional(), // optional https://user.<domain>/function form for status links
  builder_url: url.default("http://of-builder.openfaas:8080/"), // of-builder's address
  repository_url: text.optional(), // registry prefix functions are deployed from
  push_repository_url: text.optional(), // registry prefix images are pushed to (ends in "/" for one shared account)
  s3_url: text.optional(), // S3 endpoint for build logs, host:port
  s3_region: text.default("us-east-1"),
  s3_tls: flag.default(false),
  s3_bucket: text.default("pipeline"),
  customers_url: url.optional(), // allow-list URL, one login per line; the "customers" secret wins when present
  validate_hmac: flag.default(true), // verify GitHub's X-Hub-Signature-256 (internal hops are always verified)
  validate_customers: flag.default(true), // only build for owners on the customers allow-list
  build_branch: text.optional(), // branch to build; default: the repository's default branch
  // issue #17: build other branches as previews under their own names, for repositories that opt in with
  // `previews: true` in .openfaas-cloud.yml (docs/previews.md)
  enable_previews: flag.default(false),
  max_previews_per_owner: count.default(5), // issue #17: live preview branches one owner may have; more are refused
  enable_dockerfile_lang: flag.default(false), // allow lang: dockerfile
  readonly_root_filesystem: flag.default(true), // deploy functions with a read-only root filesystem
  custom_templates: z.string().default(""), // comma-separated git URLs of extra templates
  // issue #17: where a stack's configuration.templates may come from: comma-separated repository URLs, or prefixes
  // ending in "/"; empty: templates_url and custom_templates only
  template_sources_allowed: z.string().default(""),
  github_app_id: z
    .string()
    .regex(/^[1-9][0-9]*$/, "expected the numeric GitHub App id")
    .optional(),
  report_status: flag.default(true), // post commit statuses to GitHub
  use_checks: flag.default(true), // check runs for stack-deploy and each function beside the statuses (needs the checks permission)
  secret_mount_path: text.default("/var/openfaas/secrets"),
  function_memory_limit_mb: count.default(128),
  function_cpu_requests_milli: milli.optional(),
  function_cpu_limit_milli: milli.optional(),
  scaling_min_limit: count.default(1),
  scaling_max_limit: count.default(4),
  // com.openfaas.scale.factor: the share of scale.max each scale-up adds, in percent; the gateway takes 0–100 (0 turns
  // its alert-driven scaling off), so a value it would ignore fails at boot instead.
  scaling_factor: z.coerce
    .number({ message: "expected a whole number from 0 to 100" })
    .int("expected a whole number from 0 to 100")
    .min(0, "expected a whole number from 0 to 100")
    .max(100, "expected a whole number from 0 to 100")
    .default(20),
  // The OpenFaaS edition the functions deploy to (issue #11): auto asks the gateway's /system/info at the first
  // deploy; Community Edition refuses scale-to-zero labels, over 5 replicas and (faas-netes) private images.
  openfaas_edition: z.enum(["auto", "ce", "pro"], { message: 'expected "auto", "ce" or "pro"' }).default("auto"),
  github_api_url: url.default("https://api.github.com"), // GitHub Enterprise, or a local stand-in
  github_url: url.default("https://github.com"), // the git host git-tar clones from; a payload's clone URL is never used
  // issue #19: the GitLab instance (e.g. https://gitlab.example.com): its API (<gitlab_url>/api/v4) and the host GitLab
  // projects are cloned from; a payload's URLs are never used. Unset: GitLab is not served
  gitlab_url: url.optional(),
  installation_tag: text.default("openfaas-cloud"), // issue #19: the topic a GitLab project carries to be built
  templates_url: text.default("https://github.com/openfaas/templates.git"),
  functions_per_repo_limit: count.default(5),
  build_concurrency: count.default(2),
  max_repo_size_mb: count.default(100), // most a clone may fetch and check out
  // issue #16: clones one git-tar replica runs at once (each holds its pack in memory); more wait for a slot
  max_concurrent_clones: count.default(1),
  // issue #11: how long an accepted push may wait for git-tar (in the queue) before build-reaper ends it as lost
  pending_deadline: duration.default("30m"),
  // issue #11: how long git-tar may go without a heartbeat on a build before build-reaper ends it as lost
  heartbeat_timeout: duration.default("3m"),
  // NATS with JetStream where github-event keeps delivery ids, so a restart still refuses a redelivery (issue #10)
  nats_url: text
    .regex(/^(nats|tls):\/\/[^\s,]+(,(nats|tls):\/\/[^\s,]+)*$/, "expected nats://host:port[,nats://…]")
    .optional(),
  // edge-auth (issue #13): the GitHub App's OAuth client id (public: it is in every authorize URL), the web host
  // users log in at (github_url is where git-tar clones, a separate host in the local runtime), the system's public
  // address (the callback is <system_public_url>/auth/oauth2/authorized), how long a session lasts, and the logins
  // who may see every owner's functions.
  client_id: text.optional(),
  github_oauth_url: url.default("https://github.com"),
  system_public_url: url.optional(),
  session_ttl: duration.default("12h"),
  operators: z.string().default(""),
  // The dashboard APIs (issue #13): the Prometheus that scrapes the gateway (invocation counts, metrics), and whether
  // to send it the gateway's basic-auth account (the local runtime's Prometheus takes that account; the OpenFaaS
  // chart's needs none).
  prometheus_url: url.optional(),
  prometheus_basic_auth: flag.default(false),
  // The dashboard's pages (issue #14): the GitHub App's public page, https://github.com/apps/<slug>, which the empty
  // state links as the install step; unset: it tells the user to ask the operator.
  github_app_url: url.optional(),
  log_level: z
    .enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"], {
      message: "expected fatal, error, warn, info, debug, trace or silent",
    })
    .default("info"),
} as const;

const envSchema = z.object(settings);
type Env = z.infer<typeof envSchema>;
export type SettingName = keyof typeof settings;

/** Secret files under secret_mount_path (DESIGN §4). */
export type SecretName =
  | "github-webhook-secret"
  // issue #19: gitlab-event's system hook secret token, and the GitLab API token (api scope, Maintainer on the
  // opted-in projects: statuses, deploy tokens): optional secrets, empty where GitLab is not used.
  | "gitlab-webhook-secret"
  | "gitlab-api-token"
  | "payload-secret"
  | "private-key"
  | "basic-auth-user"
  | "basic-auth-password"
  | "s3-access-key"
  | "s3-secret-key"
  | "customers"
  | "nats-user"
  | "nats-password"
  | "oauth-client-secret"
  | "jwt-private-key"
  | "jwt-public-key"
  // import-secrets only (issue #15): the sealing keys, PEM private keys each followed by its certificate.
  | "sealed-secrets-keys";

export type Config<S extends SecretName = never, R extends SettingName = never> = Readonly<
  Omit<Env, R> & Required<Pick<Env, R>> & { secrets: Readonly<Record<S, string>> & Partial<Record<SecretName, string>> }
>;

export type ReadFile = (path: string) => string;

/** The most replicas OpenFaaS Community Edition lets a function's scaling labels ask for. */
export const CE_MAX_REPLICAS = 5;

/**
 * Parses the environment and the secret files once. `settings` and `secrets` name what this process cannot run
 * without; a missing or malformed value throws one error listing every bad key and the form it expects.
 */
export function loadConfig<S extends SecretName = never, R extends SettingName = never>(
  env: Record<string, string | undefined>,
  needs: { settings?: readonly R[]; secrets?: readonly S[]; optionalSecrets?: readonly SecretName[] } = {},
  readFile: ReadFile = (path) => readFileSync(path, "utf8"),
): Config<S, R> {
  // Empty strings count as unset, as they do in an environment_file that leaves a value blank.
  const present = Object.fromEntries(Object.keys(settings).map((k) => [k, env[k]?.trim() ? env[k] : undefined]));
  const parsed = envSchema.safeParse(present);
  const problems: string[] = parsed.success
    ? []
    : parsed.error.issues.map(
        (i) => `${String(i.path[0])}: ${i.message} (got ${JSON.stringify(present[String(i.path[0])])})`,
      );
  const values = parsed.success ? parsed.data : ({} as Env);
  for (const key of needs.settings ?? []) {
    if (parsed.success && values[key] === undefined) problems.push(`${key}: required by this function but not set`);
  }
  // faas-netes CE refuses scale.min/scale.max labels over 5 on every deploy (pkg/handlers/validate.go): say so at
  // start, not on every user's push. With auto the edition is known only at the first deploy, which fails instead.
  if (parsed.success && values.openfaas_edition === "ce") {
    for (const key of ["scaling_min_limit", "scaling_max_limit"] as const) {
      if (values[key] > CE_MAX_REPLICAS) {
        problems.push(
          `${key}: at most ${CE_MAX_REPLICAS} on OpenFaaS Community Edition (openfaas_edition=ce) (got ${values[key]})`,
        );
      }
    }
  }

  const secrets: Partial<Record<SecretName, string>> = {};
  // Read the secrets even when a setting was malformed, so one start reports every problem.
  const dir = values.secret_mount_path ?? present.secret_mount_path ?? "/var/openfaas/secrets";
  for (const name of [...(needs.secrets ?? []), ...(needs.optionalSecrets ?? [])]) {
    const path = join(dir, name);
    try {
      const value = readFile(path).trim();
      if (value) secrets[name] = value;
      else if ((needs.secrets as readonly string[] | undefined)?.includes(name))
        problems.push(`secret ${name}: ${path} is empty`);
    } catch (error) {
      if ((needs.secrets as readonly string[] | undefined)?.includes(name)) {
        problems.push(
          `secret ${name}: unable to read ${path} (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
        );
      }
    }
  }

  if (problems.length > 0) throw new Error(`invalid configuration:\n  ${problems.join("\n  ")}`);
  return Object.freeze({ ...values, secrets: Object.freeze(secrets) }) as unknown as Config<S, R>;
}

/** The names of every setting, for the docs check. */
export const settingNames = Object.keys(settings) as SettingName[];
