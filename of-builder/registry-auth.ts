import { z } from "zod";

const DOCKER_HUB = "docker.io";
// Keys `docker login` writes for Docker Hub (anchors §F: "https://index.docker.io/v1/").
const HUB_ALIASES = new Set(["docker.io", "index.docker.io", "registry-1.docker.io"]);

const Entry = z.object({
  auth: z.string().optional(),
  username: z.string().optional(),
  password: z.string().optional(),
  identitytoken: z.string().optional(),
});
const DockerConfig = z.object({ auths: z.record(z.string(), Entry).optional() });

/** The registry host an image name pushes to: `127.0.0.1:5000/a/b:t` → `127.0.0.1:5000`, `alice/b` → docker.io. */
export function registryOf(image: string): string {
  const first = image.split("/")[0] ?? "";
  const isHost = image.includes("/") && (first.includes(".") || first.includes(":") || first === "localhost");
  return isHost ? first : DOCKER_HUB;
}

/** `https://index.docker.io/v1/` → `docker.io`; `http://127.0.0.1:5000` → `127.0.0.1:5000`. */
function hostOf(key: string): string {
  const host = key.replace(/^[a-z]+:\/\//i, "").split("/")[0] ?? "";
  return HUB_ALIASES.has(host) ? DOCKER_HUB : host;
}

/** Docker's base64url *with* padding: the Engine decodes X-Registry-Auth with Go's base64.URLEncoding. */
function base64url(json: unknown): string {
  return Buffer.from(JSON.stringify(json)).toString("base64").replace(/\+/g, "-").replace(/\//g, "_");
}

/**
 * The X-Registry-Auth header for pushing `image` (anchors §F): `{username, password, serveraddress}` (or
 * `{identitytoken, serveraddress}`) from the matching `auths` entry of a Docker `config.json`, base64url; `e30=`
 * (`{}`) when there is no config or no entry for that registry. Credential helpers (`credsStore`) are not run.
 */
export function registryAuthHeader(configJson: string | undefined, image: string): string {
  const anonymous = base64url({});
  if (configJson === undefined) return anonymous;
  let parsed: z.infer<typeof DockerConfig>;
  try {
    parsed = DockerConfig.parse(JSON.parse(configJson));
  } catch (error) {
    throw new Error(`DOCKER_CONFIG config.json is not a Docker config: ${(error as Error).message}`, { cause: error });
  }
  const registry = registryOf(image);
  const entry = Object.entries(parsed.auths ?? {}).find(([key]) => hostOf(key) === registry)?.[1];
  if (!entry) return anonymous;
  const serveraddress = registry;
  if (entry.identitytoken) return base64url({ identitytoken: entry.identitytoken, serveraddress });
  let { username, password } = entry;
  if (entry.auth) {
    const decoded = Buffer.from(entry.auth, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon === -1)
      throw new Error(`DOCKER_CONFIG config.json: the auth for ${registry} is not base64 "user:password"`);
    username = decoded.slice(0, colon);
    password = decoded.slice(colon + 1);
  }
  return username === undefined ? anonymous : base64url({ username, password: password ?? "", serveraddress });
}
