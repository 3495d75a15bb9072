/**
 * The system's public paths, `system.<domain>/<path>/…`, and the system function each one reaches: the one place a
 * system path is added (issue #13; the dashboard and login of #13/#14 add a line each, e.g. `dashboard:
 * "system-dashboard"`, `login: "edge-auth"`). Any other path on the system host is a 404: the gateway's
 * /system/*, /async-function/*, /metrics and /ui, and every other function, stay unreachable through the router.
 */
export const SYSTEM_ROUTES: Readonly<Record<string, string>> = Object.freeze({
  // The GitHub App's webhook, at the original's address (https://system.<domain>/github-event).
  "github-event": "github-event",
  // Build logs: the links in failure statuses (shared/log-link.ts), signed per log.
  "pipeline-log": "pipeline-log",
});
