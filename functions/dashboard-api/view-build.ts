import type { BuildRecord } from "../../shared/build-history.js";
import type { DashboardUrls } from "../../shared/dashboard-url.js";
import { duration, shortSha, stateBadge, time } from "./format.js";
import { html, raw, safeHttpUrl, type Html } from "./html.js";

/** build-log's answer (the contract of issue #14): the record, the log from an offset, the next offset, whether done. */
export interface BuildLog {
  build: BuildRecord;
  log: string;
  offset: number;
  done: boolean;
}

// The error-looking lines of a failing step: BuildKit's and npm's words, and jest's failure marks (✕, ●).
const ERROR_LIKE = /error|exception|fatal|failed|\bFAIL\b|denied|not found|cannot|ERR!|✕|●/i;

/**
 * The failing step of a BuildKit log (of-builder's progress lines `#<n> …`, `#<n> ERROR: …`): the first step with an
 * ERROR line, the indexes of its lines, and of those the error-looking ones (the script marks the same).
 */
export function failingStep(lines: string[]): { step: string; lines: Set<number>; errors: Set<number> } | undefined {
  const failed = lines.map((l) => /^#(\d+) ERROR:/.exec(l)).find(Boolean);
  if (!failed) return undefined;
  const step = `#${failed[1]}`;
  const inStep = new Set<number>();
  const errors = new Set<number>();
  lines.forEach((l, i) => {
    if (l !== step && !l.startsWith(`${step} `)) return;
    inStep.add(i);
    if (ERROR_LIKE.test(l.slice(step.length))) errors.add(i);
  });
  return { step, lines: inStep, errors };
}

/**
 * One build (issue #14 item 1): its state, commit and timings, and the log. While it runs the script asks build-log
 * for what came after `offset` and appends it; a failure's step is marked and the first error line scrolled to.
 */
export function buildBody(data: BuildLog, urls: DashboardUrls, logSrc: string): Html {
  const b = data.build;
  const all = data.log.split(/\r?\n/);
  // A log that does not end in a newline ends in a line still being written: the script completes it.
  const partial = all[all.length - 1] !== "";
  const lines = partial ? all : all.slice(0, -1);
  const failure = data.done && b.state !== "success" ? failingStep(lines) : undefined;
  const firstError = failure ? Math.min(...failure.errors) : -1;
  const items = lines.map((line, i) => {
    const cls = [failure?.lines.has(i) && "step-failed", failure?.errors.has(i) && "line-error"].filter(Boolean);
    return html`<li${cls.length ? html` class="${cls.join(" ")}"` : raw("")}${i === firstError ? raw(' id="failing-line"') : raw("")}${partial && i === lines.length - 1 ? raw(' data-partial="true"') : raw("")}>${line}</li>`;
  });
  const fnUrl = safeHttpUrl(b.url);
  return html`<h1>Build of ${b.function} at <span class="mono">${shortSha(b.sha)}</span></h1>
    <dl class="facts">
      <dt>State</dt>
      <dd>${stateBadge(b.state, raw(" data-build-state"))}</dd>
      <dt>Function</dt>
      <dd><a href="${urls.function(b.owner, b.function)}">${b.function}</a></dd>
      <dt>Repository</dt>
      <dd>${b.repo} <span class="muted">on</span> ${b.branch}</dd>
      <dt>Commit</dt>
      <dd class="mono">${b.sha}</dd>
      <dt>Started</dt>
      <dd>${time(b.startedAt)}</dd>
      <dt>Duration</dt>
      <dd data-build-duration>${duration(b.durationMs)}</dd>
      ${
        b.reason
          ? html`<dt>Reason</dt>
              <dd>${b.reason}</dd>`
          : raw("")
      }
      ${
        fnUrl
          ? html`<dt>Deployed at</dt>
              <dd><a href="${fnUrl}" class="mono">${fnUrl}</a></dd>`
          : raw("")
      }
    </dl>
    ${
      failure && firstError >= 0
        ? html`<p class="alert" role="alert">
            Step ${failure.step} failed: <a href="#failing-line">${lines[firstError]}</a>
          </p>`
        : raw("")
    }
    <section
      aria-labelledby="log-title"
      data-build-log-src="${logSrc}"
      data-offset="${data.offset}"
      data-done="${String(data.done)}"
    >
      <h2 id="log-title">Build log</h2>
      <p data-build-status role="status" class="muted">
        ${data.done ? `The build finished: ${b.state}.` : "Running: the log updates every second."}
      </p>
      <ol class="log" aria-label="Build log lines" tabindex="0">
        ${items}
      </ol>
    </section>`;
}
