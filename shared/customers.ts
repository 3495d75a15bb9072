import type { AxiosInstance } from "axios";
import { HttpError } from "./http-error.js";

/** The customers allow-list (original-spec §1.4): who may build on this installation. */
export interface Customers {
  /** Case-insensitive membership; throws HttpError 503 when the list cannot be fetched and nothing is cached. */
  has(login: string): Promise<boolean>;
}

/** One login per line, trimmed and lowercased; blank lines and `#` comments ignored. */
function parse(text: string): Set<string> {
  return new Set(
    text
      .split("\n")
      .map((line) => line.trim().toLowerCase())
      .filter((line) => line && !line.startsWith("#")),
  );
}

/**
 * The list comes from the `customers` secret when present, else from `customers_url`, re-fetched after `ttlMs`
 * (5 minutes, as the original). An unreachable URL keeps serving the last good list; with none it is a clear 503
 * where the original panicked.
 */
export function createCustomers(deps: {
  list?: string;
  url?: string;
  http: AxiosInstance;
  now: () => number;
  ttlMs?: number;
}): Customers {
  if (deps.list !== undefined) {
    const fixed = parse(deps.list);
    return { has: (login) => Promise.resolve(fixed.has(login.toLowerCase())) };
  }
  const url = deps.url;
  if (!url) throw new Error("customers: set the customers secret or customers_url (or validate_customers=false)");
  const ttl = deps.ttlMs ?? 5 * 60_000;
  let cached: { logins: Set<string>; expires: number } | undefined;
  let inflight: Promise<Set<string>> | undefined;

  const fetchList = async (source: string): Promise<Set<string>> => {
    try {
      const res = await deps.http.get<string>(source, {
        responseType: "text",
        timeout: 5000,
        validateStatus: () => true,
      });
      if (res.status !== 200) throw new Error(`${source} answered ${res.status}`);
      const logins = parse(String(res.data));
      cached = { logins, expires: deps.now() + ttl };
      return logins;
    } catch (error) {
      if (cached) return cached.logins;
      throw new HttpError(503, `customers list unavailable: ${(error as Error).message}`, { cause: error });
    } finally {
      inflight = undefined;
    }
  };

  return {
    async has(login) {
      const logins = cached && cached.expires > deps.now() ? cached.logins : await (inflight ??= fetchList(url));
      return logins.has(login.toLowerCase());
    },
  };
}
