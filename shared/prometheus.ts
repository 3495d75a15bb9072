import { HttpError } from "./http-error.js";

/** One series of an instant query's vector result (Prometheus HTTP API, `resultType: "vector"`). */
export interface Sample {
  metric: Record<string, string>;
  value: number;
}

export interface PrometheusApi {
  /** `GET /api/v1/query?query=…`: the vector result; HttpError 502 when Prometheus fails or answers otherwise. */
  query(expr: string): Promise<Sample[]>;
}

/**
 * Client for the Prometheus every OpenFaaS installation runs, scraping the gateway (issue #13): the dashboard's
 * invocation counts and metrics come from it, so they survive gateway restarts as upstream's do.
 */
export function createPrometheus(deps: {
  url: string;
  auth?: { user: string; password: string };
  timeoutMs?: number;
  fetch?: typeof fetch;
}): PrometheusApi {
  const base = deps.url.endsWith("/") ? deps.url : `${deps.url}/`;
  const doFetch = deps.fetch ?? fetch;
  const headers: Record<string, string> = deps.auth
    ? { authorization: `Basic ${Buffer.from(`${deps.auth.user}:${deps.auth.password}`).toString("base64")}` }
    : {};
  return {
    async query(expr) {
      const url = `${base}api/v1/query?${new URLSearchParams({ query: expr }).toString()}`;
      let res: Response;
      try {
        res = await doFetch(url, { headers, redirect: "error", signal: AbortSignal.timeout(deps.timeoutMs ?? 10_000) });
      } catch (error) {
        throw new HttpError(502, `prometheus unreachable: ${(error as Error).message}`, { cause: error });
      }
      const text = await res.text();
      let body: { status?: string; error?: string; data?: { resultType?: string; result?: unknown } } = {};
      try {
        body = JSON.parse(text) as typeof body;
      } catch {
        // Not JSON (a proxy's page): reported below with the status.
      }
      if (res.status !== 200 || body.status !== "success" || body.data?.resultType !== "vector") {
        throw new HttpError(502, `prometheus: query answered ${res.status}${body.error ? `: ${body.error}` : ""}`);
      }
      return (body.data.result as Array<{ metric: Record<string, string>; value: [number, string] }>).map((s) => ({
        metric: s.metric,
        value: Number(s.value[1]),
      }));
    },
  };
}
