import type { Logger } from "pino";
import type { BuildRecord } from "../../shared/build-history.js";
import { ownerPrefix, type ViewerDeps } from "../../shared/dashboard-api.js";
import { dashboardUrls } from "../../shared/dashboard-url.js";
import type { FunctionEvent, Reply } from "../../shared/function-handler.js";
import { isHttpError } from "../../shared/http-error.js";
import type { PrometheusApi } from "../../shared/prometheus.js";
import { mayView, verifySession, type Session } from "../../shared/session.js";
import { ASSETS } from "./assets.js";
import { html } from "./html.js";
import { errorPanel, pageReply } from "./layout.js";
import type { ListedFunction } from "./list.js";
import { createPageData, type ApiCall } from "./page-data.js";
import { buildBody, type BuildLog } from "./view-build.js";
import { buildsTable, functionBody, type LogLine } from "./view-function.js";
import { emptyState, ownerTable } from "./view-owner.js";

/** What the pages need: the session check, the APIs to read through, Prometheus for the owner's windows. */
export interface PagesDeps {
  viewer: ViewerDeps;
  api: ApiCall;
  prometheus?: PrometheusApi;
  /** The GitHub App's public page (github_app_url), linked from the empty state. */
  appUrl?: string;
  log: Logger;
}

// Links are paths on the host the pages are served at (system.<domain>), where /dashboard, /auth and the APIs live.
const urls = dashboardUrls("");

/** A path with its query, as the browser asked for it: where the login sends the browser back to. */
function requested(event: FunctionEvent): string {
  const query = new URLSearchParams(
    Object.entries(event.query).filter((e): e is [string, string] => e[1] !== undefined),
  ).toString();
  return query ? `${event.path}?${query}` : event.path;
}

const message = (status: number, title: string, text: string, session?: Session) =>
  pageReply(status, {
    title,
    crumbs: [{ label: title }],
    ...(session ? { login: session.login } : {}),
    body: html`<h1>${title}</h1>
      <p>${text}</p>
      ${session ? html`<p><a href="${urls.owner(session.login)}">Your functions</a></p>` : ""}`,
  });

/**
 * The dashboard's pages (issue #14) under /dashboard, server-rendered HTML with one small script: `/dashboard/<owner>`,
 * `/dashboard/<owner>/functions/<fn>`, `/dashboard/<owner>/builds/<repo>/<sha>/<fn>` (shared/dashboard-url.ts), and
 * their stylesheet and script under /dashboard/_/. Without a valid session a page sends the browser to edge-auth's
 * login, which brings it back; a session that may not see the owner gets a 403 page that names no function of it.
 */
export function createPages(deps: PagesDeps) {
  const data = createPageData(deps);

  return async function page(event: FunctionEvent): Promise<Reply> {
    if (event.method !== "GET" && event.method !== "HEAD") return message(405, "Method not allowed", "Pages are GET.");
    let parts: string[];
    try {
      parts = event.path.split("/").filter(Boolean).slice(1).map(decodeURIComponent);
    } catch {
      return message(400, "Bad address", "The address is not valid percent-encoding.");
    }
    if (parts[0] === "_") return asset(parts[1] ?? "");
    let session: Session;
    try {
      session = await verifySession(event.headers.cookie, deps.viewer.publicKey, { nowMs: deps.viewer.now() });
    } catch (error) {
      if (!isHttpError(error) || error.status !== 401) throw error;
      const location = `/auth/login?redirect=${encodeURIComponent(requested(event))}`;
      return { status: 302, body: "", headers: { location, "cache-control": "no-store" } };
    }
    const [owner, kind, ...rest] = parts;
    if (owner === undefined) return { status: 302, body: "", headers: { location: urls.owner(session.login) } };
    try {
      ownerPrefix(owner.toLowerCase());
    } catch (error) {
      return message(404, "Not found", isHttpError(error) ? error.message : "no such owner", session);
    }
    const who = owner.toLowerCase();
    if (!mayView(session, who, deps.viewer.operators)) {
      return message(403, "Not allowed", `${session.login} may not see ${who}'s dashboard.`, session);
    }
    const cookie = event.headers.cookie;
    if (kind === undefined) return ownerPage(who, session, cookie);
    if (kind === "functions" && rest.length === 1) return functionPage(who, rest[0] ?? "", session, cookie);
    if (kind === "builds" && rest.length === 3) {
      const [repo = "", sha = "", fn = ""] = rest;
      return buildPage(who, { repo, sha, fn }, session, cookie);
    }
    return message(404, "Not found", "There is no such dashboard page.", session);
  };

  function asset(name: string): Reply {
    const file = Object.hasOwn(ASSETS, name) ? ASSETS[name] : undefined;
    if (!file) return { status: 404, body: "no such asset" };
    // The URL carries the content's hash (assets.ts assetPath), so a browser may keep it for good.
    const headers = { "content-type": file.type, "cache-control": "public, max-age=31536000, immutable" };
    return { status: 200, body: file.body, headers: { ...headers, "x-content-type-options": "nosniff" } };
  }

  async function ownerPage(owner: string, session: Session, cookie?: string): Promise<Reply> {
    const [listed, builds, windows] = await Promise.all([
      data.load<ListedFunction[]>("/list-functions", { owner }, cookie),
      // The last 50 (the most builds answers): "last build" for up to 50 functions built one by one.
      data.load<{ builds: BuildRecord[] }>("/builds", { owner, limit: "50" }, cookie),
      data.totals(owner),
    ]);
    const base = { title: owner, crumbs: [{ label: owner }], login: session.login };
    if (!listed.ok) {
      const body = html`<h1>${owner}'s functions</h1>
        ${errorPanel("the functions", listed.status, listed.message)}`;
      return pageReply(502, { ...base, body });
    }
    const view = {
      owner,
      functions: listed.value,
      builds: builds.ok ? builds.value.builds : undefined,
      totals: windows.totals,
      urls,
      ...(deps.appUrl ? { appUrl: deps.appUrl } : {}),
    };
    const body = html`<h1>${owner}'s functions</h1>
      ${listed.value.length === 0 ? emptyState(view) : ownerTable(view)}
      ${builds.ok ? "" : errorPanel("the builds (the last build column)", builds.status, builds.message)}
      ${windows.failure ? errorPanel("the invocation counts", 502, windows.failure) : ""}
      ${
        builds.ok && builds.value.builds.length > 0
          ? html`<h2>Recent builds</h2>
              ${buildsTable(owner, builds.value.builds.slice(0, 10), urls)}`
          : ""
      }`;
    return pageReply(200, { ...base, body });
  }

  async function functionPage(owner: string, name: string, session: Session, cookie?: string): Promise<Reply> {
    const fn = name.toLowerCase();
    const logsQuery = { owner, function: fn, tail: "100" };
    const [listed, chart, logs, builds] = await Promise.all([
      data.load<ListedFunction[]>("/list-functions", { owner }, cookie),
      data.chart(owner, fn, cookie),
      data.load<LogLine[]>("/function-logs", logsQuery, cookie),
      data.load<{ builds: BuildRecord[] }>("/builds", { owner, function: fn }, cookie),
    ]);
    const crumbs = [{ label: owner, href: urls.owner(owner) }, { label: fn }];
    const base = { title: `${fn} · ${owner}`, crumbs, login: session.login };
    if (!listed.ok) {
      return pageReply(502, {
        ...base,
        body: html`<h1>${fn}</h1>
          ${errorPanel("the function", listed.status, listed.message)}`,
      });
    }
    const deployed = listed.value.find((f) => f.name === fn);
    const buildList = builds.ok ? { ok: true as const, value: builds.value.builds } : builds;
    if (!deployed && (!buildList.ok || buildList.value.length === 0)) {
      return message(404, "Not found", `${owner} has no function ${fn}.`, session);
    }
    const view = { owner, name: fn, fn: deployed, chart, logs, builds: buildList, urls };
    const body = functionBody(view, `/function-logs?${new URLSearchParams(logsQuery).toString()}`);
    return pageReply(200, { ...base, body, script: true });
  }

  async function buildPage(
    owner: string,
    id: { repo: string; sha: string; fn: string },
    session: Session,
    cookie?: string,
  ): Promise<Reply> {
    const query = { owner, repo: id.repo.toLowerCase(), sha: id.sha.toLowerCase(), function: id.fn.toLowerCase() };
    const crumbs = [
      { label: owner, href: urls.owner(owner) },
      { label: query.function, href: urls.function(owner, query.function) },
      { label: `build ${query.sha.slice(0, 7)}` },
    ];
    const base = { title: `Build of ${query.function} · ${owner}`, crumbs, login: session.login };
    const answer = await data.load<BuildLog>("/build-log", query, cookie);
    if (!answer.ok && (answer.status === 404 || answer.status === 400)) {
      return message(
        404,
        "Not found",
        `No build of ${query.function} at ${query.sha} in ${owner}/${query.repo}.`,
        session,
      );
    }
    if (!answer.ok) {
      return pageReply(502, {
        ...base,
        body: html`<h1>Build</h1>
          ${errorPanel("the build", answer.status, answer.message)}`,
      });
    }
    const body = buildBody(answer.value, urls, `/build-log?${new URLSearchParams(query).toString()}`);
    return pageReply(200, { ...base, body, script: true });
  }
}
