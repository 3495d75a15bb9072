/**
 * The system's public paths, `system.<domain>/<path>/…`, and the system function each one reaches, maybe with a path
 * under it (`<function>/<sub-path>`, the request's rest after that): the one place a system path is added (issue #13;
 * the dashboard and login of #13/#14 add a line each, e.g. `dashboard: "system-dashboard"`, `login: "edge-auth"`).
 * Any other path on the system host is a 404: the gateway's /system/*, /async-function/*, /metrics and /ui, and
 * every other function, stay unreachable through the router.
 */
export const SYSTEM_ROUTES: Readonly<Record<string, string>> = Object.freeze({
  // The GitHub App's webhook, at the original's address (https://system.<domain>/github-event).
  "github-event": "github-event",
  // GitLab's system hook (docs/gitlab.md, issue #19): https://system.<domain>/gitlab-event.
  "gitlab-event": "gitlab-event",
  // Build logs: the links in failure statuses (shared/log-link.ts), signed per log.
  "pipeline-log": "pipeline-log",
  // GitHub login and the session cookie: /auth/login, /auth/oauth2/authorized (the App's callback), /auth/logout.
  auth: "edge-auth",
  // The dashboard's APIs at the original's paths (issue #13), all three in the one function dashboard-api (a single
  // OpenFaaS CE function slot, issue #11), which picks the API by the path after it; each checks the session itself.
  "list-functions": "dashboard-api/list-functions",
  "function-logs": "dashboard-api/function-logs",
  "system-metrics": "dashboard-api/system-metrics",
  // The dashboard's build history and live build log (issue #14), in the same function.
  builds: "dashboard-api/builds",
  "build-log": "dashboard-api/build-log",
  // The dashboard's pages (issue #14), served by dashboard-api too: OpenFaaS CE has 15 function slots and the system
  // uses 12 (10 without GitLab), so the pages take none of their own.
  dashboard: "dashboard-api/dashboard",
  // The cloud's sealing certificate (issue #15), public: `npm run seal -- --cert <url>` and `kubeseal --cert <url>`.
  "sealed-secrets-cert": "import-secrets/sealed-secrets-cert",
});
