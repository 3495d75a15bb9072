import { html, type Html } from "./html.js";

/** One window's invocations split into successes and errors. */
export type WindowCounts = { window: string; success: number; error: number };

/** Whether a status code counts as a success on the chart: OpenFaaS' gateway counts by code; 4xx/5xx are errors. */
export function isSuccessCode(code: string): boolean {
  const n = Number(code);
  return Number.isInteger(n) && n >= 100 && n < 400;
}

const WIDTH = 420;
const LABEL_W = 48;
const BAR_H = 22;
const GROUP_H = 2 * BAR_H + 20;

/**
 * The invocation chart (issue #14): for each window, a bar for successes and one for errors, drawn as inline SVG by
 * the server (no chart library to load, nothing for the CSP to allow). The SVG is one image with a text alternative
 * that says every number, and the same numbers follow in a table for anyone who reads tables better than bars.
 */
export function invocationChart(windows: WindowCounts[], fn: string): Html {
  const max = Math.max(1, ...windows.flatMap((w) => [w.success, w.error]));
  const scale = (n: number) => Math.round(((WIDTH - LABEL_W - 60) * n) / max);
  const summary = windows.map((w) => `last ${w.window}: ${w.success} succeeded, ${w.error} failed`).join("; ");
  const height = windows.length * GROUP_H;
  const groups = windows.map((w, i) => {
    const y = i * GROUP_H;
    const bar = (n: number, row: number, cls: string, label: string) =>
      html`<rect class="${cls}" x="${LABEL_W}" y="${y + row * BAR_H}" width="${scale(n)}" height="${BAR_H - 4}"
          ><title>${label}</title></rect
        >
        <text x="${LABEL_W + scale(n) + 6}" y="${y + row * BAR_H + 14}">${n}</text>`;
    return html`<g>
      <text x="0" y="${y + BAR_H + 4}">${w.window}</text>
      ${bar(w.success, 0, "bar-ok", `${w.success} succeeded in the last ${w.window}`)}
      ${bar(w.error, 1, "bar-bad", `${w.error} failed in the last ${w.window}`)}
    </g>`;
  });
  return html`<figure class="chart">
      <svg viewBox="0 0 ${WIDTH} ${height}" role="img" aria-label="${`Invocations of ${fn}: ${summary}`}">
        ${groups}
      </svg>
      <figcaption>
        <ul class="legend">
          <li><span class="swatch swatch-ok"></span>Succeeded (1xx–3xx)</li>
          <li><span class="swatch swatch-bad"></span>Failed (4xx, 5xx)</li>
        </ul>
      </figcaption>
    </figure>
    <div class="table-wrap">
      <table class="counts">
        <caption>
          Invocations by window
        </caption>
        <thead>
          <tr>
            <th scope="col">Window</th>
            <th scope="col" class="num">Succeeded</th>
            <th scope="col" class="num">Failed</th>
          </tr>
        </thead>
        <tbody>
          ${windows.map(
            (w) =>
              html`<tr>
                <th scope="row">last ${w.window}</th>
                <td class="num">${w.success}</td>
                <td class="num">${w.error}</td>
              </tr>`,
          )}
        </tbody>
      </table>
    </div>`;
}
