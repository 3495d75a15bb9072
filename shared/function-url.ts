/** What a function's public URL is made of: its owner, its stack.yml name and its deployed name `<owner>--<fn>[--<key>]`. */
export interface FunctionUrlParts {
  owner: string;
  function: string;
  service: string;
}

/**
 * The public URL of a deployed function (original-spec §8 step 5): the pretty form `https://<owner>.<domain>/<fn>`
 * when gateway_pretty_url (`https://user.<domain>/function`) is set, else `<gateway_public_url>function/<owner>--<fn>`.
 * The pretty form is what edge-router serves (edge-router/routes.ts); `system.<domain>` is the system's host there,
 * so an owner named "system" gets the gateway form. buildshiprun links statuses to it and list-functions lists it,
 * so both name the same address.
 */
export function functionUrl(fn: FunctionUrlParts, publicUrl: string, prettyUrl?: string): string {
  if (prettyUrl && fn.owner.toLowerCase() !== "system") {
    const url = new URL(prettyUrl);
    url.hostname = url.hostname.replace(/^user\./, `${fn.owner.toLowerCase()}.`);
    // The path is the deployed name after `<owner>--`: `<fn>`, or `<fn>--<key>` for a preview (issue #17).
    const prefix = `${fn.owner.toLowerCase()}--`;
    const path = fn.service.startsWith(prefix) ? fn.service.slice(prefix.length) : fn.function.toLowerCase();
    url.pathname = url.pathname.replace(/\/?function\/?$/, `/${path}`);
    return url.toString();
  }
  return `${publicUrl.endsWith("/") ? publicUrl : `${publicUrl}/`}function/${fn.service}`;
}
