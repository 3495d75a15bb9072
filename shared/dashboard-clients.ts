import { createPublicKey } from "node:crypto";
import type { Config } from "./config.js";
import type { ViewerDeps } from "./dashboard-api.js";
import { createPrometheus, type PrometheusApi } from "./prometheus.js";
import { operatorList } from "./session.js";

/** The session check every dashboard API makes: edge-auth's public key (a bad PEM stops the start) and operators. */
export function viewerFromConfig(config: Config<"jwt-public-key">): ViewerDeps {
  let publicKey;
  try {
    publicKey = createPublicKey(config.secrets["jwt-public-key"]);
  } catch {
    throw new Error("secret jwt-public-key: expected an EC P-256 public key in PEM (docs/configuration.md)");
  }
  return { publicKey, operators: operatorList(config.operators), now: Date.now };
}

/** Prometheus at prometheus_url, with the gateway's account when prometheus_basic_auth is set; undefined without. */
export function prometheusFromConfig(config: Config): PrometheusApi | undefined {
  if (!config.prometheus_url) return undefined;
  const user = config.secrets["basic-auth-user"];
  const password = config.secrets["basic-auth-password"];
  if (config.prometheus_basic_auth && !(user && password)) {
    throw new Error("prometheus_basic_auth: needs the basic-auth-user and basic-auth-password secrets");
  }
  return createPrometheus({
    url: config.prometheus_url,
    ...(config.prometheus_basic_auth && user && password ? { auth: { user, password } } : {}),
  });
}
