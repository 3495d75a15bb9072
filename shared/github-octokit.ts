import { createAppAuth } from "@octokit/auth-app";
import type { Octokit as CoreOctokit } from "@octokit/core";
import { retry } from "@octokit/plugin-retry";
import { throttling } from "@octokit/plugin-throttling";
import { Octokit } from "@octokit/rest";
import Bottleneck from "bottleneck";
import type { Logger } from "pino";

/** How often and how long the GitHub client tries again before it gives up (issue #16). */
export type GithubPatience = {
  /** Retries after a 5xx or an unreachable GitHub; the n-th waits backoffMs × n² (0.25 s, 1 s, 2.25 s). */
  retries: number;
  backoffMs: number;
  /** Retries after a primary or secondary rate limit, each after the wait GitHub asks for. */
  rateLimitRetries: number;
  /** The longest wait a rate limit may ask for; a longer one fails the call at once instead of outliving it. */
  maxRateLimitWaitS: number;
  /** An installation token is replaced this long before its expires_at, so no call starts with a dying token. */
  tokenRefreshMarginMs: number;
};

/** What an operator wants against api.github.com: a few quick retries, short rate-limit waits, 5-minute margin. */
export const DEFAULT_PATIENCE: Readonly<GithubPatience> = Object.freeze({
  retries: 3,
  backoffMs: 250,
  rateLimitRetries: 2,
  maxRateLimitWaitS: 60,
  tokenRefreshMarginMs: 5 * 60_000,
});

// plugin-retry would retry 429, 409 and other 4xx: a refusal does not change on its own, and rate limits are
// plugin-throttling's, which waits what GitHub asks instead of guessing (STYLE §12).
const EVERY_4XX = Array.from({ length: 100 }, (_, i) => 400 + i);

/**
 * One Octokit per installation of one GitHub App, all sharing one installation-token cache: auth-app mints a token
 * on first use and every later call (REST or `auth({ type: "installation" })` for clones) reuses it until
 * `tokenRefreshMarginMs` before it expires. 5xx and connection errors are retried with backoff, rate limits are
 * waited out when GitHub asks for a bounded wait, and each retry is logged at warn.
 */
export function createInstallationClients(deps: {
  appId: string;
  privateKey: string;
  apiUrl: string;
  log: Logger;
  now: () => number;
  patience: GithubPatience;
}): (installationId: number) => Octokit {
  const { log, patience } = deps;
  const cache = expiringTokenCache(deps.now, patience.tokenRefreshMarginMs);
  // GitHub asks integrators to send one installation's writes one at a time; plugin-throttling's own write group
  // also spaces them 1 s apart process-wide, which would serialise every owner's statuses behind each other.
  const write = new Bottleneck.Group({ maxConcurrent: 1, minTime: 0 });
  const onLimit =
    (kind: string) =>
    (retryAfterS: number, options: { method: string; url: string }, _octokit: CoreOctokit, retryCount: number) => {
      const wait = retryCount < patience.rateLimitRetries && retryAfterS <= patience.maxRateLimitWaitS;
      log.warn(
        { method: options.method, route: options.url, retryAfterS, retryCount },
        `github: ${kind} rate limit on ${options.method} ${options.url}; ${wait ? `retrying in ${retryAfterS} s` : "giving up"}`,
      );
      return wait;
    };
  const Client = Octokit.plugin(logAttempts(log, patience.retries), retry, throttling);
  const clients = new Map<number, Octokit>();
  return (installationId) => {
    let octokit = clients.get(installationId);
    if (!octokit) {
      octokit = new Client({
        baseUrl: deps.apiUrl.replace(/\/+$/, ""),
        authStrategy: createAppAuth,
        auth: { appId: deps.appId, privateKey: deps.privateKey, installationId, cache },
        retry: { retries: patience.retries, retryAfterBaseValue: patience.backoffMs, doNotRetry: EVERY_4XX },
        throttle: {
          id: `${deps.appId}/${installationId}`,
          write,
          onRateLimit: onLimit("primary"),
          onSecondaryRateLimit: onLimit("secondary"),
        },
        // @octokit/rest logs every failed attempt at error, retried or not; logAttempts and the rate-limit handlers
        // say what happens next at warn, and the caller reports the final failure.
        log: {
          debug: () => {},
          info: () => {},
          warn: (m: string) => log.warn(m),
          error: (m: string) => log.debug(m),
        },
      });
      clients.set(installationId, octokit);
    }
    return octokit;
  };
}

/**
 * auth-app's cache interface over a Map, honouring each token's expires_at: auth-app's own LRU keeps a token 59
 * minutes from when it was minted, whatever GitHub said, so a token could be used in its last minute.
 */
export function expiringTokenCache(now: () => number, marginMs: number) {
  const entries = new Map<string, string>();
  // auth-app stores "token|createdAt|expiresAt|…".
  const expiresAt = (value: string) => Date.parse(value.split("|")[2] ?? "");
  const fresh = (value: string) => expiresAt(value) - marginMs > now();
  return {
    get(key: string): string {
      const value = entries.get(key);
      if (value !== undefined && fresh(value)) return value;
      entries.delete(key);
      return "";
    },
    set(key: string, value: string): void {
      for (const [k, v] of entries) if (!fresh(v)) entries.delete(k);
      entries.set(key, value);
    },
  };
}

// A plugin registered before plugin-retry, so its hook sits inside the retry loop and sees every failed attempt.
function logAttempts(log: Logger, retries: number) {
  return (octokit: CoreOctokit) => {
    octokit.hook.error("request", (error, options) => {
      const status = (error as { status?: number }).status ?? 0;
      if (status >= 500) {
        const attempt = ((options.request as { retryCount?: number } | undefined)?.retryCount ?? 0) + 1;
        log.warn(
          { method: options.method, route: options.url, status, attempt },
          `github: ${options.method} ${options.url} answered ${status} (attempt ${attempt} of ${retries + 1})`,
        );
      }
      throw error;
    });
  };
}
