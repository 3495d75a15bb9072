/** Markup that is already safe: only {@link html} and {@link raw} make one, so nothing else can skip escaping. */
export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

const ENTITIES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** `value` as text in an element or a quoted attribute: the five characters HTML gives a meaning are entities. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ENTITIES[c] ?? c);
}

/** Trusted markup as is (the pages' own constants); never a value that came from a user or an API. */
export function raw(markup: string): Html {
  return new Html(markup);
}

function render(value: unknown): string {
  if (value instanceof Html) return value.value;
  if (Array.isArray(value)) return value.map(render).join("");
  if (value === undefined || value === null || value === false) return "";
  if (typeof value === "string") return escapeHtml(value);
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return escapeHtml(JSON.stringify(value));
}

/**
 * The pages' one way to write markup: every interpolated value is escaped unless it is itself `Html`, so a function
 * name, a branch or a log line can never become markup (issue #14). Arrays are joined; undefined, null and false
 * write nothing, for `${cond && html`…`}`.
 */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0] ?? "";
  values.forEach((value, i) => (out += render(value) + (strings[i + 1] ?? "")));
  return new Html(out);
}

/**
 * `url` when it is an http(s) address, else undefined: repository URLs come from a deployment's annotation, and a
 * `javascript:` link there would run in the dashboard's origin when clicked.
 */
export function safeHttpUrl(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    const protocol = new URL(url).protocol;
    return protocol === "https:" || protocol === "http:" ? url : undefined;
  } catch {
    return undefined;
  }
}
