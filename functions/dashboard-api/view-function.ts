import type { BuildRecord } from "../../shared/build-history.js";
import type { DashboardUrls } from "../../shared/dashboard-url.js";
import { invocationChart, type WindowCounts } from "./chart.js";
import { duration, githubLinks, link, shortSha, stateBadge, time } from "./format.js";
import { html, raw, type Html } from "./html.js";
import { errorPanel } from "./layout.js";
import type { ListedFunction } from "./list.js";

/** A section's data, or why it could not be had (the error state of issue #14 is per section). */
export type Loaded<T> = { ok: true; value: T } | { ok: false; status: number; message: string };

/** One runtime log line as function-logs answers it. */
export type LogLine = { timestamp: string; instance: string; text: string };

/** What one function's page shows. */
export interface FunctionView {
  owner: string;
  name: string;
  fn: ListedFunction | undefined;
  chart: Loaded<WindowCounts[]>;
  logs: Loaded<LogLine[]>;
  builds: Loaded<BuildRecord[]>;
  urls: DashboardUrls;
}

/** A log line's time to the millisecond (the gateway gives nanoseconds), with the space after it; "" if none. */
function logTime(timestamp: string): string {
  const at = Date.parse(timestamp);
  return Number.isNaN(at) ? "" : `${new Date(at).toISOString()} `;
}

function details(view: FunctionView): Html {
  const fn = view.fn;
  if (!fn) {
    return html`<p class="panel">${view.name} is not deployed: its builds are below.</p>`;
  }
  const gh = githubLinks(fn.repoUrl);
  return html`<dl class="facts">
    <dt>URL</dt>
    <dd>${link(fn.url)}</dd>
    <dt>Repository</dt>
    <dd>${gh.repo(fn.repo)}</dd>
    <dt>Branch</dt>
    <dd>${fn.branch ? gh.branch(fn.branch) : "—"}</dd>
    <dt>Commit</dt>
    <dd>${fn.sha ? gh.commit(fn.sha) : "—"}</dd>
    <dt>Deployed</dt>
    <dd>${time(fn.deployedAt)}</dd>
    <dt>Replicas</dt>
    <dd>${fn.availableReplicas} available of ${fn.replicas}</dd>
    <dt>Image</dt>
    <dd class="mono">${fn.image}</dd>
    <dt>Invocations (all time)</dt>
    <dd>${fn.invocationCount}</dd>
  </dl>`;
}

/** The builds of one function (or an owner), newest first, each linking to its build page. */
export function buildsTable(owner: string, builds: BuildRecord[], urls: DashboardUrls): Html {
  if (builds.length === 0) return html`<p>No builds recorded yet.</p>`;
  const rows = builds.map(
    (b) =>
      html`<tr>
        <th scope="row">
          <a
            href="${urls.build(owner, b.repo, b.sha, b.function)}"
            class="mono"
            aria-label="${`Build of ${b.function} at ${shortSha(b.sha)}`}"
            >${shortSha(b.sha)}</a
          >
        </th>
        <td>${b.function}</td>
        <td>${b.repo}</td>
        <td>${b.branch}</td>
        <td>${stateBadge(b.state)}</td>
        <td>${time(b.startedAt)}</td>
        <td class="num">${duration(b.durationMs)}</td>
      </tr>`,
  );
  return html`<div class="table-wrap">
    <table>
      <caption>
        Newest first
      </caption>
      <thead>
        <tr>
          <th scope="col">Commit</th>
          <th scope="col">Function</th>
          <th scope="col">Repository</th>
          <th scope="col">Branch</th>
          <th scope="col">State</th>
          <th scope="col">Started</th>
          <th scope="col" class="num">Duration</th>
        </tr>
      </thead>
      <tbody>
        ${rows}
      </tbody>
    </table>
  </div>`;
}

/**
 * One function (issue #14 item 1): details, the invocation chart, the runtime logs newest first with a refresh (the
 * script reloads them in place; without it the link reloads the page), and its builds.
 */
export function functionBody(view: FunctionView, logsSrc: string): Html {
  const { chart, logs, builds } = view;
  return html`<h1>${view.name}</h1>
    <section aria-labelledby="details-title">
      <h2 id="details-title">Details</h2>
      ${details(view)}
    </section>
    <section aria-labelledby="chart-title">
      <h2 id="chart-title">Invocations</h2>
      ${chart.ok ? invocationChart(chart.value, view.name) : errorPanel("the invocation counts", chart.status, chart.message)}
    </section>
    <section id="logs" aria-labelledby="logs-title" data-logs-src="${logsSrc}">
      <h2 id="logs-title">Runtime logs</h2>
      <div class="toolbar">
        <a class="button" id="logs-refresh" href="${`${view.urls.function(view.owner, view.name)}#logs`}"
          >Refresh logs</a
        >
        <span data-logs-status role="status" class="muted"
          >${logs.ok ? `${logs.value.length} lines, newest first` : ""}</span
        >
      </div>
      ${
        logs.ok
          ? html`<ol class="log runtime" aria-label="Runtime log lines, newest first" tabindex="0">
              ${logs.value
                .slice()
                .reverse()
                .map((l) => html`<li>${logTime(l.timestamp)}${l.text}</li>`)}
            </ol>`
          : html`${errorPanel("the runtime logs", logs.status, logs.message)}
              <ol class="log runtime" hidden></ol>`
      }
    </section>
    <section aria-labelledby="builds-title">
      <h2 id="builds-title">Builds</h2>
      ${builds.ok ? buildsTable(view.owner, builds.value, view.urls) : errorPanel("the builds", builds.status, builds.message)}
    </section>
    ${raw("")}`;
}
