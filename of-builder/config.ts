import { readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";

const count = z.coerce
  .number({ message: "expected a whole number" })
  .int("expected a whole number")
  .positive("expected a number above 0");
const text = z.string().trim().min(1, "expected a value");
const unixSocket = text.regex(/^(unix:\/\/)?\//, "expected unix:///path/to.sock or /path/to.sock");

/** of-builder's settings (DESIGN §4, §6); each doc line is mirrored in docs/configuration.md. */
const settings = {
  builder_backend: z.enum(["docker", "buildkit"], { message: 'expected "docker" or "buildkit"' }).default("docker"),
  DOCKER_HOST: unixSocket.default("unix:///var/run/docker.sock"), // the Engine API socket (docker backend)
  BUILDKIT_HOST: text.default("unix:///run/buildkit/buildkitd.sock"), // buildctl --addr (buildkit backend)
  max_inflight: count.default(2), // concurrent builds; more are answered 429
  port: z.coerce.number({ message: "expected a port number" }).int().min(0).max(65535).default(8080),
  host: text.default("127.0.0.1"), // production sets 0.0.0.0 explicitly
  max_build_mb: count.default(500), // request body and declared tar contents
  max_build_files: count.default(10_000), // entries under context/
  secret_mount_path: text.default("/var/openfaas/secrets"), // holds payload-secret
  DOCKER_CONFIG: text.optional(), // folder with config.json: registry credentials for the push
  http_proxy: text.optional(), // each proxy variable becomes a build arg when set (original-spec §6)
  https_proxy: text.optional(),
  no_proxy: text.optional(),
  // Build args every build gets, `K=V,K=V`: e.g. NODE_IMAGE pointing templates at a registry mirror.
  build_args: z
    .string()
    .regex(
      /^\s*([A-Za-z_][A-Za-z0-9_]*=[^,]*)(\s*,\s*[A-Za-z_][A-Za-z0-9_]*=[^,]*)*\s*$/,
      "expected K=V pairs separated by commas",
    )
    .optional(),
} as const;

const schema = z.object(settings);
type Settings = z.infer<typeof schema>;

/** The parsed, frozen of-builder configuration. */
export type BuilderConfig = Readonly<
  Omit<Settings, "DOCKER_HOST"> & {
    /** DOCKER_HOST as a socket path (`unix://` stripped). */
    dockerSocket: string;
    payloadSecret: string;
    /** build_args, then http_proxy, https_proxy and no_proxy that are set (original-spec §6): every build gets them. */
    baseBuildArgs: Readonly<Record<string, string>>;
  }
>;

/**
 * Parses of-builder's environment and its payload-secret once; a missing or malformed value throws one error
 * naming every bad key and the form it expects.
 */
export function loadBuilderConfig(
  env: Record<string, string | undefined>,
  readFile: (path: string) => string = (path) => readFileSync(path, "utf8"),
): BuilderConfig {
  // Empty strings count as unset, as they do in an environment_file that leaves a value blank.
  const present = Object.fromEntries(Object.keys(settings).map((k) => [k, env[k]?.trim() ? env[k] : undefined]));
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (i) => `${String(i.path[0])}: ${i.message} (got ${JSON.stringify(present[String(i.path[0])])})`,
    );
    throw new Error(`invalid of-builder configuration:\n  ${problems.join("\n  ")}`);
  }
  const values = parsed.data;
  const secretPath = join(values.secret_mount_path, "payload-secret");
  let payloadSecret: string;
  try {
    payloadSecret = readFile(secretPath).trim();
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new Error(
      `invalid of-builder configuration:\n  secret payload-secret: unable to read ${secretPath} (${reason})`,
      {
        cause: error,
      },
    );
  }
  if (!payloadSecret) {
    throw new Error(`invalid of-builder configuration:\n  secret payload-secret: ${secretPath} is empty`);
  }
  const baseBuildArgs: Record<string, string> = {};
  for (const pair of values.build_args?.split(",") ?? []) {
    const [key = "", ...value] = pair.trim().split("=");
    baseBuildArgs[key] = value.join("=");
  }
  for (const key of ["http_proxy", "https_proxy", "no_proxy"] as const) {
    const value = values[key];
    if (value !== undefined) baseBuildArgs[key] = value;
  }
  const { DOCKER_HOST, ...rest } = values;
  return Object.freeze({
    ...rest,
    dockerSocket: DOCKER_HOST.replace(/^unix:\/\//, ""),
    payloadSecret,
    baseBuildArgs: Object.freeze(baseBuildArgs),
  });
}
