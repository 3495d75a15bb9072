import type { BuildRecord } from "../../shared/build-history.js";
import type { DashboardUrls } from "../../shared/dashboard-url.js";
import { githubLinks, link, stateBadge, time } from "./format.js";
import { html, safeHttpUrl, type Html } from "./html.js";
import type { ListedFunction } from "./list.js";

/** Invocations of each deployed name over the last hour and day; undefined where Prometheus could not say. */
export type WindowTotals = { "1h"?: Map<string, number>; "24h"?: Map<string, number> };

/** What the owner's page shows: the functions, the owner's newest builds (for "last build") and the windows. */
export interface OwnerView {
  owner: string;
  functions: ListedFunction[];
  builds: BuildRecord[] | undefined;
  totals: WindowTotals;
  urls: DashboardUrls;
  /** The GitHub App's public page (github_app_url), for the empty state's install step. */
  appUrl?: string;
}

const count = (totals: Map<string, number> | undefined, name: string) =>
  totals ? String(Math.round(totals.get(name) ?? 0)) : "—";

/** The newest build of each (repo, function): builds come newest first, so the first seen wins. */
function lastBuilds(builds: BuildRecord[] | undefined): Map<string, BuildRecord> {
  const last = new Map<string, BuildRecord>();
  for (const b of builds ?? []) if (!last.has(`${b.repo}/${b.function}`)) last.set(`${b.repo}/${b.function}`, b);
  return last;
}

/** The owner's functions as a table (issue #14 item 1); at phone width each row becomes a labelled card (CSS). */
export function ownerTable(view: OwnerView): Html {
  const last = lastBuilds(view.builds);
  const rows = view.functions.map((fn) => {
    const gh = githubLinks(fn.repoUrl);
    const build = last.get(`${fn.repo}/${fn.name}`);
    return html`<tr>
      <th scope="row" data-label="Function"><a href="${view.urls.function(view.owner, fn.name)}">${fn.name}</a></th>
      <td data-label="URL">${link(fn.url)}</td>
      <td data-label="Repository">
        <span>${gh.repo(fn.repo)}${fn.branch ? html` <span class="muted">on</span> ${gh.branch(fn.branch)}` : ""}</span>
      </td>
      <td data-label="Commit">${fn.sha ? gh.commit(fn.sha) : "—"}</td>
      <td data-label="Deployed">${time(fn.deployedAt)}</td>
      <td data-label="Replicas" class="num">${fn.availableReplicas}/${fn.replicas}</td>
      <td data-label="Invocations 1 h" class="num">${count(view.totals["1h"], fn.deployedName)}</td>
      <td data-label="Invocations 24 h" class="num">${count(view.totals["24h"], fn.deployedName)}</td>
      <td data-label="Last build">
        ${
          build
            ? html`<a href="${view.urls.build(view.owner, build.repo, build.sha, build.function)}"
                >${stateBadge(build.state)}</a
              >`
            : stateBadge(undefined)
        }
      </td>
    </tr>`;
  });
  return html`<div class="table-wrap">
    <table class="functions">
      <caption>
        ${view.functions.length} ${view.functions.length === 1 ? "function" : "functions"} of ${view.owner}
      </caption>
      <thead>
        <tr>
          <th scope="col">Function</th>
          <th scope="col">URL</th>
          <th scope="col">Repository</th>
          <th scope="col">Commit</th>
          <th scope="col">Deployed</th>
          <th scope="col" class="num">Replicas</th>
          <th scope="col" class="num">Invocations 1 h</th>
          <th scope="col" class="num">Invocations 24 h</th>
          <th scope="col">Last build</th>
        </tr>
      </thead>
      <tbody>
        ${rows}
      </tbody>
    </table>
  </div>`;
}

const STACK_EXAMPLE = `version: 1.0
provider:
  name: openfaas
functions:
  hello:
    lang: node24
    handler: ./hello
    image: hello:latest
`;

/** The empty state (issue #14): exactly what a new user pushes, and the App that must be installed first. */
export function emptyState(view: OwnerView): Html {
  const app = safeHttpUrl(view.appUrl);
  return html`<section class="panel" aria-labelledby="empty-title">
    <h2 id="empty-title">${view.owner} has no functions yet</h2>
    <ol>
      <li>
        ${app ? html`<a href="${app}">Install the GitHub App</a>` : "Install the system's GitHub App (your operator has its link)"}
        on <strong>${view.owner}</strong> and give it the repository.
      </li>
      <li>
        Add a <code>stack.yml</code> at the repository's root, with each function's folder beside it:
        <pre class="example"><code>${STACK_EXAMPLE}</code></pre>
        and <code>hello/handler.js</code>: <code>module.exports = async (event, context) =&gt; "Hello";</code>
      </li>
      <li>
        Push to the default branch. The commit's statuses link back here, and the function appears on this page once it
        is built.
      </li>
    </ol>
  </section>`;
}
