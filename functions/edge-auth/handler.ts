import { createPrivateKey, createPublicKey, randomBytes, type KeyObject } from "node:crypto";
import { loadConfig } from "../../shared/config.js";
import { lazyHandler, respond, type FunctionHandler } from "../../shared/function-handler.js";
import { parseDuration } from "../../shared/function-server.js";
import { createLogger } from "../../shared/log.js";
import { operatorList } from "../../shared/session.js";
import type { DestinationStream, Logger } from "pino";
import { createGithubUser } from "./github-user.js";
import { createLoginFlow, type LoginFlowDeps } from "./login-flow.js";

/** edge-auth's dependencies: the login flow's, and the logger the handler maps errors to. */
export type EdgeAuthDeps = LoginFlowDeps & { log: Logger };

/**
 * edge-auth: GitHub login and the session cookie (issue #13). A function, not a service like edge-router: each
 * request is one short exchange that keeps no state between requests (the state lives in the browser's cookies, the
 * session in a signed token) and holds no long connection, so the gateway runs and scales it like any other.
 */
export function createHandler(deps: EdgeAuthDeps): FunctionHandler {
  const flow = createLoginFlow(deps);
  return (event, context) => respond(context, deps.log, () => flow(event));
}

/** The key pair as KeyObjects; a bad PEM or two halves of different pairs stop the start, naming the secret. */
function keyPair(privatePem: string, publicPem: string): { privateKey: KeyObject; publicKey: KeyObject } {
  let privateKey: KeyObject;
  let publicKey: KeyObject;
  try {
    privateKey = createPrivateKey(privatePem);
  } catch {
    throw new Error("secret jwt-private-key: expected an EC P-256 private key in PEM (docs/configuration.md)");
  }
  try {
    publicKey = createPublicKey(publicPem);
  } catch {
    throw new Error("secret jwt-public-key: expected an EC P-256 public key in PEM (docs/configuration.md)");
  }
  if (privateKey.asymmetricKeyDetails?.namedCurve !== "prime256v1") {
    throw new Error("secret jwt-private-key: expected an EC P-256 private key in PEM (sessions are ES256)");
  }
  const derived = createPublicKey(privateKey).export({ type: "spki", format: "der" });
  if (!derived.equals(publicKey.export({ type: "spki", format: "der" }))) {
    throw new Error("secret jwt-public-key: not the public half of jwt-private-key (both must be one EC P-256 pair)");
  }
  return { privateKey, publicKey };
}

/**
 * The composition root: settings, the OAuth client secret and the session key pair, read once.
 * @param logDestination where the log lines go: stdout (as in a deployment) unless the local runtime passes its own.
 */
export function depsFromEnv(env: Record<string, string | undefined>, logDestination?: DestinationStream): EdgeAuthDeps {
  const config = loadConfig(env, {
    settings: ["client_id", "system_public_url"],
    secrets: ["oauth-client-secret", "jwt-private-key", "jwt-public-key"],
  });
  const log = createLogger("edge-auth", config.log_level, logDestination);
  return {
    clientId: config.client_id,
    oauthUrl: config.github_oauth_url,
    publicUrl: config.system_public_url,
    githubUser: createGithubUser({
      oauthUrl: config.github_oauth_url,
      apiUrl: config.github_api_url,
      clientId: config.client_id,
      clientSecret: config.secrets["oauth-client-secret"],
      log,
    }),
    ...keyPair(config.secrets["jwt-private-key"], config.secrets["jwt-public-key"]),
    sessionTtlMs: parseDuration(config.session_ttl) as number, // validated by loadConfig
    operators: operatorList(config.operators),
    now: Date.now,
    newState: () => randomBytes(32).toString("base64url"),
    log,
  };
}

export default lazyHandler(() => createHandler(depsFromEnv(process.env)));
