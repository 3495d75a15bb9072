import type { BuildRecord } from "../../shared/build-history.js";
import { html, raw, safeHttpUrl, type Html } from "./html.js";

/** The first seven characters of a commit SHA, as GitHub shows it. */
export const shortSha = (sha: string) => sha.slice(0, 7);

/** A time as `<time>`: the machine-readable ISO in the attribute, `YYYY-MM-DD HH:MM UTC` as its text. */
export function time(iso: string | undefined): Html {
  if (!iso || Number.isNaN(Date.parse(iso))) return html`<span class="muted">—</span>`;
  const shown = new Date(iso).toISOString().slice(0, 16).replace("T", " ");
  return html`<time datetime="${iso}">${shown} UTC</time>`;
}

/** A duration in milliseconds as people read it: `8.2 s`, `3 min 5 s`. */
export function duration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms) || ms < 0) return "—";
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${s % 60} s`;
}

/** A build's state as a badge: colour and word, so the state never rests on colour alone. */
export function stateBadge(state: BuildRecord["state"] | undefined, attrs: Html = raw("")): Html {
  if (!state) return html`<span class="state state-none" ${attrs}>no build</span>`;
  return html`<span class="state state-${state}" ${attrs}>${state}</span>`;
}

/** Links into the repository on GitHub, when its URL (a deployment annotation) is an http(s) address. */
export function githubLinks(repoUrl: string | undefined) {
  const base = safeHttpUrl(repoUrl)?.replace(/\/+$/, "");
  return {
    repo: (label: string) => (base ? html`<a href="${base}">${label}</a>` : html`${label}`),
    branch: (branch: string) =>
      base
        ? html`<a href="${`${base}/tree/${branch.split("/").map(encodeURIComponent).join("/")}`}">${branch}</a>`
        : html`${branch}`,
    commit: (sha: string) =>
      base
        ? html`<a href="${`${base}/commit/${encodeURIComponent(sha)}`}" class="mono">${shortSha(sha)}</a>`
        : html`<span class="mono">${shortSha(sha)}</span>`,
  };
}

/** An address as a link showing itself, when it is http(s); else the text alone (never a `javascript:` link). */
export function link(url: string): Html {
  const safe = safeHttpUrl(url);
  return safe ? html`<a href="${safe}" class="mono">${safe}</a>` : html`<span class="mono">${url}</span>`;
}
