import type { Reply } from "../../shared/function-handler.js";
import { assetPath } from "./assets.js";
import { html, raw, type Html } from "./html.js";

/**
 * The pages' Content-Security-Policy (issue #14): scripts and styles only from the dashboard's own origin, no inline
 * script or style, no plugins, frames, forms to elsewhere or <base>. Escaping is the first defence against a hostile
 * function name or log line; this is the second.
 */
export const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

/** Headers every page carries: HTML, the CSP, never cached (they show one session's data), no sniffing. */
export const PAGE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  "content-type": "text/html; charset=utf-8",
  "content-security-policy": CSP,
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
  "referrer-policy": "same-origin",
});

/** One step of the breadcrumb: a label and, except for the current page, its link. */
export type Crumb = { label: string; href?: string };

/** A page's parts: its title, breadcrumb, who is logged in (undefined on pages shown before a session), and body. */
export interface PageParts {
  title: string;
  crumbs: Crumb[];
  login?: string;
  body: Html;
  /** Whether the page needs the script (the function and build pages' islands). */
  script?: boolean;
}

/** A whole page as a reply: landmarks (banner, navigation, main), a skip link, and the language set. */
export function pageReply(status: number, parts: PageParts): Reply {
  const crumbs = parts.crumbs.map((c, i) =>
    c.href && i < parts.crumbs.length - 1
      ? html`<li><a href="${c.href}">${c.label}</a></li>`
      : html`<li><span aria-current="page">${c.label}</span></li>`,
  );
  const body = html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${parts.title} · OpenFaaS Cloud</title>
        <link rel="stylesheet" href="${assetPath("style.css")}" />
        ${parts.script ? html`<script src="${assetPath("app.js")}" defer></script>` : raw("")}
      </head>
      <body>
        <a class="skip" href="#main">Skip to content</a>
        <header class="top">
          <a class="brand" href="/dashboard">OpenFaaS Cloud</a>
          <nav aria-label="Breadcrumb">
            <ol>
              ${crumbs}
            </ol>
          </nav>
          ${parts.login ? html`<span class="who">Signed in as <strong>${parts.login}</strong> · <a href="/auth/logout">Sign out</a></span>` : raw("")}
        </header>
        <main id="main" tabindex="-1">${parts.body}</main>
      </body>
    </html> `;
  // The templates' indentation (Prettier's) is a third of a large page: drop it where it only precedes a tag, which
  // never changes what a page shows (text and <pre> lines never start with "<" after their indentation).
  return { status, body: body.value.replace(/\n[ \t]+</g, "\n<"), headers: { ...PAGE_HEADERS } };
}

/** The error state: what failed, the status and message it answered with, and what to try (issue #14). */
export function errorPanel(what: string, status: number, message: string): Html {
  return html`<div class="alert" role="alert">
    <p><strong>Could not load ${what}.</strong></p>
    <p>${status > 0 ? `${status}: ` : ""}${message}</p>
    <p>Reload the page to try again; if it keeps failing, the operator can find the detail in dashboard-api's log.</p>
  </div>`;
}
