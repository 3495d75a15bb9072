import { pino, type Logger } from "pino";
import { createGithub, type GithubApp } from "../../shared/github.js";
import type { GithubPatience } from "../../shared/github-octokit.js";
import { createTestApp, type TestApp } from "../../local/github-standin/app-keys.js";
import {
  startGithubStandin,
  type GithubStandin,
  type GithubStandinOptions,
} from "../../local/github-standin/server.js";

// One RSA key pair per test module registry (jest gives each test file its own): generating one takes longer
// than a test.
let testApp: TestApp | undefined;
// Production's retry counts, so tests exercise them, with 1 ms × n² backoffs so a failing GitHub does not slow them.
const FAST: Partial<GithubPatience> = { backoffMs: 1 };

/**
 * The strict GitHub stand-in for the given installations, with the shared test App, plus the production GitHub
 * client wired to it. `github` reports statuses unless `reportStatus` is false; `client()` makes a fresh client
 * (its own installation-token cache) against the same stand-in.
 */
export async function startGithub(options: {
  installations: Array<{ id: number; account: string }>;
  reportStatus?: boolean;
  log?: Logger;
  /** Overrides of the client's retry bounds; by default production's counts with millisecond backoffs. */
  patience?: Partial<GithubPatience>;
  /** The stand-in's branch tips ("Get a branch"); every branch 404s without it. */
  branchTip?: GithubStandinOptions["branchTip"];
}): Promise<{
  app: TestApp;
  standin: GithubStandin;
  github: GithubApp;
  client: (reportStatus?: boolean) => GithubApp;
  close: () => Promise<void>;
}> {
  const app = (testApp ??= createTestApp());
  const standin = await startGithubStandin({
    appId: app.appId,
    publicKeyPem: app.publicKeyPem,
    installations: options.installations,
    ...(options.branchTip ? { branchTip: options.branchTip } : {}),
  });
  const log = options.log ?? pino({ level: "silent" });
  const client = (reportStatus = options.reportStatus ?? true) =>
    createGithub({
      appId: String(app.appId),
      privateKey: app.privateKeyPem,
      apiUrl: standin.url,
      reportStatus,
      log,
      now: Date.now,
      patience: { ...FAST, ...options.patience },
    });
  return { app, standin, github: client(), client, close: () => standin.close() };
}
