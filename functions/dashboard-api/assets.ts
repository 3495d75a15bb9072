import { createHash } from "node:crypto";

/**
 * The pages' stylesheet and their one script, served by dashboard-api itself at /dashboard/_/ ("_" is in no GitHub
 * login, so no owner's page is shadowed). They live in a module, not in files beside it: the function's image keeps
 * only what tsc compiles (template/Dockerfile). Both are static, so the strict Content-Security-Policy allows them
 * from 'self' and nothing inline.
 */

const STYLE = `
:root { color-scheme: light; --fg: #1b1f24; --muted: #57606a; --line: #d0d7de; --bg: #ffffff; --panel: #f6f8fa;
  --link: #0550ae; --ok: #116329; --ok-bg: #dafbe1; --bad: #a40e26; --bad-bg: #ffebe9; --run: #7d4e00;
  --run-bg: #fff8c5; --focus: #0969da; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", "Liberation Sans", sans-serif; color: var(--fg);
  background: var(--bg); }
a { color: var(--link); }
a:focus-visible, button:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
.skip { position: absolute; left: -999px; top: 0; background: var(--bg); padding: .5rem; }
.skip:focus { left: .5rem; }
header.top { display: flex; flex-wrap: wrap; gap: .5rem 1.5rem; align-items: baseline; padding: .75rem 1rem;
  border-bottom: 1px solid var(--line); background: var(--panel); }
header.top .brand { font-weight: 700; color: var(--fg); text-decoration: none; }
header.top nav ol { display: flex; flex-wrap: wrap; gap: .25rem; list-style: none; margin: 0; padding: 0; }
header.top nav li + li::before { content: "/"; margin-right: .25rem; color: var(--muted); }
header.top .who { margin-left: auto; color: var(--muted); }
main { max-width: 84rem; margin: 0 auto; padding: 1rem; }
h1 { font-size: 1.5rem; margin: .5rem 0 1rem; overflow-wrap: anywhere; }
h2 { font-size: 1.2rem; margin: 1.5rem 0 .5rem; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; }
caption { text-align: left; color: var(--muted); padding-bottom: .25rem; }
th, td { text-align: left; padding: .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; }
time { white-space: nowrap; }
td a.mono { overflow-wrap: anywhere; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
code, .mono { font-family: ui-monospace, "DejaVu Sans Mono", "Liberation Mono", monospace; font-size: .9em; }
.state { display: inline-block; padding: 0 .5rem; border-radius: 1rem; font-size: .875rem; font-weight: 600;
  white-space: nowrap; border: 1px solid currentColor; }
.state-success { color: var(--ok); background: var(--ok-bg); }
.state-failure, .state-error { color: var(--bad); background: var(--bad-bg); }
.state-running { color: var(--run); background: var(--run-bg); }
.state-none { color: var(--muted); }
dl.facts { display: grid; grid-template-columns: max-content minmax(0, 1fr); gap: .25rem 1rem; margin: 0; }
figure { margin: 0; }
dl.facts dt { font-weight: 600; }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
.panel { border: 1px solid var(--line); border-radius: .5rem; padding: 1rem; background: var(--panel); }
.alert { border: 1px solid var(--bad); background: var(--bad-bg); color: var(--bad); border-radius: .5rem;
  padding: .75rem 1rem; margin: 1rem 0; }
.alert p { margin: .25rem 0; }
pre.example { background: var(--bg); border: 1px solid var(--line); padding: .75rem; overflow-x: auto; }
.chart svg { width: 100%; max-width: 40rem; height: auto; }
.chart .bar-ok { fill: #1a7f37; }
.chart .bar-bad { fill: #cf222e; }
.chart text { fill: var(--fg); font-size: 15px; }
.legend { display: flex; gap: 1rem; list-style: none; padding: 0; margin: .25rem 0; }
.swatch { display: inline-block; width: .8rem; height: .8rem; margin-right: .3rem; vertical-align: -.05rem; }
.swatch-ok { background: #1a7f37; }
.swatch-bad { background: #cf222e; }
.toolbar { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: center; }
.button { display: inline-block; padding: .3rem .8rem; border: 1px solid var(--line); border-radius: .4rem;
  background: var(--bg); color: var(--link); font: inherit; cursor: pointer; text-decoration: none; }
ol.log { list-style: none; margin: 0; padding: .5rem 0; background: #0d1117; color: #e6edf3; border-radius: .5rem;
  overflow-x: auto; font-family: ui-monospace, "DejaVu Sans Mono", "Liberation Mono", monospace; font-size: .85rem;
  counter-reset: line; }
ol.log li { white-space: pre-wrap; overflow-wrap: anywhere; padding: 0 .75rem 0 4rem; text-indent: -3.25rem;
  min-height: 1.3em; }
ol.log li::before { counter-increment: line; content: counter(line); display: inline-block; width: 2.75rem;
  margin-right: .5rem; text-align: right; color: #8b949e; text-indent: 0; }
ol.log li.step-failed { background: #3d1418; }
ol.log li.line-error { background: #8e1519; color: #ffffff; font-weight: 700; }
ol.log.runtime li::before { content: none; }
ol.log.runtime li { padding-left: .75rem; text-indent: 0; }
.muted { color: var(--muted); }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%);
  white-space: nowrap; }
@media (max-width: 40rem) {
  main { padding: .75rem; }
  dl.facts { grid-template-columns: minmax(0, 1fr); gap: 0; }
  dl.facts dd { margin-bottom: .5rem; }
  table.functions thead { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); }
  table.functions caption { display: block; }
  table.functions tr { display: block; border-bottom: 2px solid var(--line); padding: .5rem 0; }
  table.functions tbody th { display: block; border: 0; padding: .15rem 0; font-size: 1.1rem; }
  /* Each cell a row of the card: its column's name, then its content (one item: Repository's is wrapped). */
  table.functions td { display: grid; grid-template-columns: 9rem minmax(0, 1fr); gap: .5rem; border: 0;
    padding: .15rem 0; overflow-wrap: anywhere; }
  table.functions td::before { content: attr(data-label); font-weight: 600; }
  table.functions td.num { text-align: left; }
}
`;

// Plain browser JavaScript (ES2020), no build step: the pages' only behaviour. Two islands, each found by a data-
// attribute the server wrote, and each a progressive enhancement of a page that is complete without it.
const SCRIPT = `
"use strict";
(() => {
  const ERROR_LIKE = /error|exception|fatal|failed|\\bFAIL\\b|denied|not found|cannot|ERR!|✕|●/i;

  // The runtime logs' "Refresh": reload the lines in place, newest first (the link reloads the page without script).
  const logs = document.querySelector("[data-logs-src]");
  if (logs) {
    const button = document.getElementById("logs-refresh");
    const list = logs.querySelector("ol.log");
    const status = logs.querySelector("[data-logs-status]");
    button.addEventListener("click", async (event) => {
      event.preventDefault();
      status.textContent = "Refreshing…";
      try {
        const res = await fetch(logs.dataset.logsSrc, { credentials: "same-origin", headers: { accept: "application/json" } });
        if (!res.ok) throw new Error(res.status + " " + (await res.text()));
        const lines = (await res.json()).slice().reverse();
        list.replaceChildren(...lines.map((line) => {
          const li = document.createElement("li");
          const at = Date.parse(line.timestamp);
          li.textContent = (Number.isNaN(at) ? "" : new Date(at).toISOString() + " ") + line.text;
          return li;
        }));
        status.textContent = lines.length + " lines, refreshed at " + new Date().toISOString().slice(11, 19) + " UTC";
      } catch (error) {
        status.textContent = "Could not refresh the logs: " + error.message;
      }
    });
  }

  // A build's log: while the build runs, ask build-log for what came after the offset and append it; when it ends,
  // show the final state and bring the failing step into view.
  const build = document.querySelector("[data-build-log-src]");
  if (build) {
    const list = build.querySelector("ol.log");
    const status = document.querySelector("[data-build-status]");
    const badge = document.querySelector("[data-build-state]");
    const duration = document.querySelector("[data-build-duration]");
    let offset = Number(build.dataset.offset || 0);
    const append = (text) => {
      if (!text) return;
      const last = list.lastElementChild;
      let rest = text;
      if (last && last.dataset.partial === "true") {
        rest = last.textContent + text;
        last.remove();
      }
      const parts = rest.split(/\\r?\\n/);
      const tail = parts.pop();
      for (const part of parts) list.append(line(part, false));
      if (tail !== "") list.append(line(tail, true));
    };
    const line = (text, partial) => {
      const li = document.createElement("li");
      li.textContent = text;
      if (partial) li.dataset.partial = "true";
      return li;
    };
    const markFailure = () => {
      const items = [...list.children];
      const failed = items.map((li) => /^#(\\d+) ERROR:/.exec(li.textContent)).find(Boolean);
      if (!failed) return;
      const step = "#" + failed[1];
      let first;
      for (const li of items) {
        const text = li.textContent;
        if (text !== step && !text.startsWith(step + " ")) continue;
        li.classList.add("step-failed");
        if (ERROR_LIKE.test(text.slice(step.length))) {
          li.classList.add("line-error");
          first = first || li;
        }
      }
      if (first) {
        first.id = first.id || "failing-line";
        first.scrollIntoView({ block: "center" });
      }
      return first ? " Step " + step + " failed: " + first.textContent : "";
    };
    const poll = async () => {
      try {
        const res = await fetch(build.dataset.buildLogSrc + "&offset=" + offset, {
          credentials: "same-origin",
          headers: { accept: "application/json" },
        });
        if (!res.ok) throw new Error(res.status + " " + (await res.text()));
        const body = await res.json();
        append(body.log);
        offset = body.offset;
        badge.textContent = body.build.state;
        badge.className = "state state-" + body.build.state;
        if (body.build.durationMs !== undefined && duration) duration.textContent = (body.build.durationMs / 1000).toFixed(1) + " s";
        if (body.done) {
          const failed = body.build.state !== "success" ? markFailure() : "";
          status.textContent = "The build finished: " + body.build.state + "." + failed;
          return;
        }
        status.textContent = "Running: the log updates every second.";
      } catch (error) {
        status.textContent = "Could not update the log (" + error.message + "); retrying.";
      }
      setTimeout(poll, 1000);
    };
    if (build.dataset.done === "true") {
      if (document.querySelector(".line-error")) document.querySelector(".line-error").scrollIntoView({ block: "center" });
    } else {
      setTimeout(poll, 1000);
    }
  }
})();
`;

const hash = (text: string) => createHash("sha256").update(text).digest("hex").slice(0, 12);

/** The static files by their name under /dashboard/_/, each with a content hash for its cache-busting URL. */
export const ASSETS: Readonly<Record<string, { body: string; type: string; version: string }>> = Object.freeze({
  "style.css": { body: STYLE, type: "text/css; charset=utf-8", version: hash(STYLE) },
  "app.js": { body: SCRIPT, type: "text/javascript; charset=utf-8", version: hash(SCRIPT) },
});

/** The path a page links an asset by: `/dashboard/_/<name>?v=<hash>`, so a new version is never served from cache. */
export function assetPath(name: "style.css" | "app.js"): string {
  return `/dashboard/_/${name}?v=${ASSETS[name]?.version ?? ""}`;
}
