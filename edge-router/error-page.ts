import { STATUS_CODES, type IncomingMessage, type ServerResponse } from "node:http";

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);

/**
 * Answers the router's own refusal (a 404 for an unknown host or function, a 502 when the gateway is down): an HTML
 * page for browsers (Accept names text/html), plain text for everyone else. The message echoes the request's host
 * and path, so the page escapes it. A body not yet read is not read: the connection closes once the answer is out.
 */
export function sendErrorPage(req: IncomingMessage, res: ServerResponse, status: number, message: string): void {
  if (res.headersSent) return void res.destroy();
  const title = `${status} ${STATUS_CODES[status] ?? "Error"}`;
  const html = /\btext\/html\b/i.test(req.headers.accept ?? "");
  const body = html
    ? `<!doctype html>\n<html lang="en">\n<head><meta charset="utf-8"><title>${title}</title></head>\n` +
      `<body>\n<h1>${title}</h1>\n<p>${escapeHtml(message)}</p>\n</body>\n</html>\n`
    : `${title}: ${message}\n`;
  const headers: Record<string, string | number> = {
    "Content-Type": html ? "text/html; charset=utf-8" : "text/plain; charset=utf-8",
    "Content-Length": Buffer.byteLength(body),
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
  };
  // Node closes a Connection: close socket once the answer is written, so the rest of a refused upload is never read.
  if (!req.complete) headers.Connection = "close";
  res.writeHead(status, headers).end(req.method === "HEAD" ? undefined : body);
}
