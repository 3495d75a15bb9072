import { dashboardUrls } from "./dashboard-url.js";
import { buildLogUrl } from "./log-link.js";
import type { LogKey } from "./log-store.js";

/** Where the system is reachable from outside: the settings status links are made from. */
export interface StatusLinkSettings {
  /** system_public_url: the dashboard's host (issue #14). Unset: the links of before the dashboard. */
  systemPublicUrl?: string | undefined;
  /** gateway_public_url and the payload secret: the signed pipeline-log link failures had before the dashboard. */
  publicUrl?: string | undefined;
  payloadSecret?: string | undefined;
}

/**
 * The target_url of every commit status (issue #14 item 3), in one place so each stage links the same pages. With
 * system_public_url set: `stack-deploy` (any state) → the owner's dashboard; a function's pending status and its
 * failure → that build's page (its log, live while it runs). A function's success links its own URL (as before,
 * shared/function-url.ts). Without system_public_url: no link for stack-deploy and pending (as before), and a
 * failure links the signed pipeline-log page when the gateway's public URL is known.
 */
export interface StatusLinks {
  stack(owner: string): string | undefined;
  pending(key: LogKey): string | undefined;
  failure(key: LogKey): string | undefined;
}

export function statusLinks(settings: StatusLinkSettings): StatusLinks {
  const { systemPublicUrl, publicUrl, payloadSecret } = settings;
  if (systemPublicUrl) {
    const pages = dashboardUrls(systemPublicUrl);
    const build = (k: LogKey) => pages.build(k.owner, k.repo, k.sha, k.function);
    return { stack: (owner) => pages.owner(owner), pending: build, failure: build };
  }
  return {
    stack: () => undefined,
    pending: () => undefined,
    failure: (key) => (publicUrl && payloadSecret ? buildLogUrl(publicUrl, payloadSecret, key) : undefined),
  };
}
