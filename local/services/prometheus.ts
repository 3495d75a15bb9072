import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import bcrypt from "bcryptjs";
import { spawnDaemon, stopDaemon, waitReady } from "./daemon-process.js";
import { freePort } from "../ports.js";

/** The one account Prometheus' web API takes, and the account it scrapes the gateway with. */
export interface PrometheusCredentials {
  username: string;
  password: string;
}

/** Where Prometheus keeps its series, what it scrapes, and where it listens. */
export interface PrometheusOptions {
  /** Holds `prometheus.yml`, `web.yml`, `prometheus.log` and the TSDB in `data/`. */
  dataDir: string;
  /** Defaults to a free port. */
  port?: number;
  /** The gateway's metrics: `host:port`, scraped every `intervalMs` (default 5 s) with basic auth. */
  scrape: { target: string; intervalMs?: number; username: string; passwordFile: string };
  /** Defaults to user `ofc` with a fresh random password. */
  credentials?: PrometheusCredentials;
  timeoutMs?: number;
}

/** A running (or reused) Prometheus. */
export interface Prometheus {
  /** `http://127.0.0.1:PORT`, its web UI and HTTP API (`/api/v1/query`). */
  url: string;
  credentials: PrometheusCredentials;
  /** Stops the server this call started; a reused one is left running. */
  stop(): Promise<void>;
}

// As for the registry and NATS: the password is 192 random bits, so bcrypt's cost adds nothing but request time.
const BCRYPT_COST = 4;

/**
 * Starts Debian's `prometheus` on 127.0.0.1 only (DESIGN §7), scraping the gateway's `/metrics` as an OpenFaaS
 * installation's Prometheus does, its data under `dataDir`. Its web API demands one account (basic auth, its
 * `web.yml`): user functions share the host network and must not read other tenants' metrics (issue #10), where a
 * cluster keeps them off Prometheus with a NetworkPolicy. No remote write, no remote-write receiver, no admin API;
 * the lifecycle API (reload) is on, behind that account. A Prometheus already answering on the given port with
 * this account, and refusing requests without it, is reused: its configuration is rewritten and reloaded.
 */
export async function startPrometheus(options: PrometheusOptions): Promise<Prometheus> {
  const dataDir = resolve(options.dataDir);
  const credentials = options.credentials ?? { username: "ofc", password: randomBytes(24).toString("hex") };
  const authorization = `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString("base64")}`;
  mkdirSync(join(dataDir, "data"), { recursive: true });
  const config = join(dataDir, "prometheus.yml");
  writeFileSync(config, scrapeConfig(options.scrape), { mode: 0o600 });

  if (options.port !== undefined) {
    const url = `http://127.0.0.1:${options.port}`;
    const status = (path: string, init: RequestInit = {}) =>
      fetch(url + path, init).then(
        (res) => res.status,
        () => 0,
      );
    if ((await status("/-/ready", { headers: { authorization } })) === 200) {
      if ((await status("/-/ready")) !== 401) {
        throw new Error(`the Prometheus on ${url} answers without credentials (started by an older version?): stop it`);
      }
      const reloaded = await status("/-/reload", { method: "POST", headers: { authorization } });
      if (reloaded !== 200) throw new Error(`the Prometheus on ${url} did not reload its configuration (${reloaded})`);
      return { url, credentials, stop: async () => {} };
    }
  }

  const web = join(dataDir, "web.yml");
  const hash = bcrypt.hashSync(credentials.password, BCRYPT_COST);
  writeFileSync(web, `basic_auth_users:\n  ${JSON.stringify(credentials.username)}: ${JSON.stringify(hash)}\n`, {
    mode: 0o600,
  });
  const port = options.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const args = [
    `--config.file=${config}`,
    `--web.config.file=${web}`,
    `--web.listen-address=127.0.0.1:${port}`,
    `--storage.tsdb.path=${join(dataDir, "data")}`,
    "--web.enable-lifecycle",
    "--log.level=warn",
  ];
  const daemon = spawnDaemon("prometheus", args, join(dataDir, "prometheus.log"));
  const ready = async () => (await fetch(`${url}/-/ready`, { headers: { authorization } })).status === 200;
  await waitReady(daemon, `prometheus on ${url}`, ready, options.timeoutMs ?? 30_000);
  return { url, credentials, stop: () => stopDaemon(daemon, 10_000) };
}

/** `prometheus.yml`: one job, `gateway`, as the OpenFaaS chart names it; the password read from its file. */
function scrapeConfig(scrape: PrometheusOptions["scrape"]): string {
  const every = `${scrape.intervalMs ?? 5_000}ms`;
  return [
    "global:",
    `  scrape_interval: ${every}`,
    `  scrape_timeout: ${every}`,
    `  evaluation_interval: ${every}`,
    "scrape_configs:",
    "  - job_name: gateway",
    "    metrics_path: /metrics",
    "    basic_auth:",
    `      username: ${JSON.stringify(scrape.username)}`,
    `      password_file: ${JSON.stringify(scrape.passwordFile)}`,
    "    static_configs:",
    `      - targets: [${JSON.stringify(scrape.target)}]`,
    "",
  ].join("\n");
}
