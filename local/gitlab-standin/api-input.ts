import type { IncomingMessage } from "node:http";

/** A status, a JSON body (none for 204) and extra headers to answer an API call with. */
export type Reply = { status: number; body?: unknown; headers?: Record<string, string> };

// GitLab's offset pagination: `per_page` 20 by default and at most 100, `page` from 1, and the X-* headers saying where
// the list stands (docs.gitlab.com/api/rest/#offset-based-pagination).
export function paginate(items: unknown[], input: Record<string, unknown>): Reply {
  const number = (value: unknown, fallback: number) => {
    const n = Number.parseInt(typeof value === "string" || typeof value === "number" ? String(value) : "", 10);
    return Number.isInteger(n) && n > 0 ? n : fallback;
  };
  const perPage = Math.min(number(input.per_page, 20), 100);
  const page = number(input.page, 1);
  const pages = Math.max(1, Math.ceil(items.length / perPage));
  return {
    status: 200,
    body: items.slice((page - 1) * perPage, page * perPage),
    headers: {
      "X-Page": String(page),
      "X-Per-Page": String(perPage),
      "X-Total": String(items.length),
      "X-Total-Pages": String(pages),
      "X-Next-Page": page < pages ? String(page + 1) : "",
      "X-Prev-Page": page > 1 ? String(page - 1) : "",
    },
  };
}

// GitLab takes parameters from the query string, a JSON body or a form body alike (Grape merges them). Undefined
// means a malformed JSON body.
export function parseInput(query: URLSearchParams, raw: string, contentType = ""): Record<string, unknown> | undefined {
  const input: Record<string, unknown> = formValues(query);
  if (raw === "") return input;
  if (contentType.includes("application/x-www-form-urlencoded"))
    return { ...input, ...formValues(new URLSearchParams(raw)) };
  try {
    const body = JSON.parse(raw) as unknown;
    return typeof body === "object" && body !== null && !Array.isArray(body)
      ? { ...input, ...(body as Record<string, unknown>) }
      : input;
  } catch {
    return undefined;
  }
}

// `scopes[]=a&scopes[]=b` is Rack's array form; a repeated plain key keeps its last value, as Rack does.
function formValues(params: URLSearchParams): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of params) {
    if (key.endsWith("[]")) {
      const name = key.slice(0, -2);
      out[name] = [...(Array.isArray(out[name]) ? (out[name] as unknown[]) : []), value];
    } else out[key] = value;
  }
  return out;
}

/** A path segment decoded (`group%2Fsub` → `group/sub`), as is when it is not valid percent-encoding. */
export function decodeSegment(segment: string | undefined): string {
  try {
    return decodeURIComponent(segment ?? "");
  } catch {
    return segment ?? "";
  }
}

/** The request body as UTF-8 text. */
export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

/** Headers by lowercased name, repeated ones joined. */
export function flattenHeaders(req: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(", ") : value;
  }
  return headers;
}
