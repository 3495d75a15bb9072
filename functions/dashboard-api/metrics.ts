import type { Logger } from "pino";
import { viewableOwner, type ViewerDeps } from "../../shared/dashboard-api.js";
import type { FunctionEvent, Reply } from "../../shared/function-handler.js";
import { HttpError } from "../../shared/http-error.js";
import { functionName } from "../../shared/naming.js";
import type { PrometheusApi, Sample } from "../../shared/prometheus.js";

export interface SystemMetricsDeps {
  prometheus: PrometheusApi;
  viewer: ViewerDeps;
  log: Logger;
}

const WINDOWS = new Set(["1h", "24h"]);

/**
 * The increase of `metric` (a counter) over `window`, summed by `by`: the value now minus the value a window ago.
 * Not `increase()`: a series the gateway created during the window (a function's first call, a new status code)
 * starts at its first count, which `increase()` never sees, and its extrapolation gives fractions of calls. A
 * series that did not exist a window ago counts whole (`or`); a gateway restart in the window (a counter reset)
 * is clamped to 0 rather than negative.
 */
export function windowed(metric: string, selector: string, by: string, window: string): string {
  const now = `sum by (${by}) (${metric}{${selector}})`;
  return `(clamp_min(${now} - sum by (${by}) (${metric}{${selector}} offset ${window}), 0) or ${now})`;
}

/**
 * system-metrics (issue #13, upstream's system-metrics): `?owner=&function=&window=1h|24h` → the function's
 * invocations by status code and its latency (average, p50, p99 in seconds; null without calls) over the window,
 * from Prometheus, which scrapes the gateway's gateway_function_invocation_total and gateway_functions_seconds.
 * Ownership is the deployed name: `<owner>--` names only ever hold the owner's functions (shared/naming.ts).
 */
export function createSystemMetrics(deps: SystemMetricsDeps) {
  return async (event: FunctionEvent): Promise<Reply> => {
    const { owner } = await viewableOwner(event, deps.viewer);
    const fn = event.query.function ?? "";
    if (!fn) throw new HttpError(400, "function is required, e.g. ?owner=alexellis&function=hello");
    const name = functionName(owner, fn);
    const window = event.query.window || "1h";
    if (!WINDOWS.has(window)) throw new HttpError(400, 'window must be "1h" or "24h"');
    // The gateway labels calls `<name>.<namespace>`; an older one, or the local gateway's, may not add the namespace.
    // The name is a checked DNS label: nothing in it is special to a regex but "-", which is literal outside [].
    const selector = `function_name=~"${name}([.].+)?"`;
    const q = (metric: string, by: string) => windowed(metric, selector, by, window);
    const quantile = (phi: number) => `histogram_quantile(${phi}, ${q("gateway_functions_seconds_bucket", "le")})`;
    const [byCode, p50, p99, average] = await Promise.all([
      deps.prometheus.query(q("gateway_function_invocation_total", "code")),
      deps.prometheus.query(quantile(0.5)),
      deps.prometheus.query(quantile(0.99)),
      deps.prometheus.query(`${q("gateway_functions_seconds_sum", "")} / ${q("gateway_functions_seconds_count", "")}`),
    ]);
    const invocations: Record<string, number> = {};
    for (const s of byCode) if (s.metric.code) invocations[s.metric.code] = Math.round(s.value);
    const total = Object.values(invocations).reduce((a, b) => a + b, 0);
    // No calls in the window: Prometheus answers NaN (0/0) or nothing; either is "no latency", null.
    const seconds = (samples: Sample[]) => {
      const v = samples[0]?.value;
      return total > 0 && v !== undefined && Number.isFinite(v) ? v : null;
    };
    return {
      status: 200,
      body: {
        owner,
        function: fn.toLowerCase(),
        window,
        invocations: { total, byCode: invocations },
        latencySeconds: { average: seconds(average), p50: seconds(p50), p99: seconds(p99) },
      },
    };
  };
}
