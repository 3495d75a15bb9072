import type { Logger } from "pino";
import { ownerPrefix, unqualified } from "../../shared/dashboard-api.js";
import type { FunctionEvent, Reply } from "../../shared/function-handler.js";
import { isHttpError } from "../../shared/http-error.js";
import type { PrometheusApi } from "../../shared/prometheus.js";
import { isSuccessCode, type WindowCounts } from "./chart.js";
import { windowed } from "./metrics.js";
import type { Loaded } from "./view-function.js";
import type { WindowTotals } from "./view-owner.js";

/** dashboard-api's JSON APIs by path (`/list-functions`, `/builds`, …), as the handler dispatches them. */
export type ApiCall = (path: string, event: FunctionEvent) => Promise<Reply>;

/** What the pages read their data through: the same APIs the browser can call, so both see the same rules. */
export interface PageDataDeps {
  api: ApiCall;
  prometheus?: PrometheusApi;
  log: Logger;
}

/**
 * The pages' reads. Each goes through the JSON API with the page request's cookie, so the session is checked exactly
 * as for a browser's own call, and each answers a {@link Loaded}: a page shows an API's failure in place (the
 * error state), never as a broken page.
 */
export function createPageData(deps: PageDataDeps) {
  async function load<T>(path: string, query: Record<string, string>, cookie: string | undefined): Promise<Loaded<T>> {
    const event: FunctionEvent = {
      method: "GET",
      path,
      query,
      headers: cookie ? { cookie } : {},
      body: Buffer.alloc(0),
    };
    try {
      const reply = await deps.api(path, event);
      if (reply.status === 200) return { ok: true, value: reply.body as T };
      const text = typeof reply.body === "string" ? reply.body : JSON.stringify(reply.body);
      return { ok: false, status: reply.status, message: text };
    } catch (error) {
      if (isHttpError(error)) return { ok: false, status: error.status, message: error.message };
      deps.log.error({ err: error, path }, "dashboard page: API failed");
      return { ok: false, status: 500, message: "internal error" };
    }
  }

  /** Success and error counts of one function over 1 h and 24 h, from system-metrics. */
  async function chart(owner: string, fn: string, cookie: string | undefined): Promise<Loaded<WindowCounts[]>> {
    type Metrics = { invocations: { byCode: Record<string, number> } };
    const windows = ["1h", "24h"];
    const answers = await Promise.all(
      windows.map((window) => load<Metrics>("/system-metrics", { owner, function: fn, window }, cookie)),
    );
    const counts: WindowCounts[] = [];
    for (const [i, answer] of answers.entries()) {
      if (!answer.ok) return answer;
      const split = { window: windows[i] ?? "", success: 0, error: 0 };
      for (const [code, n] of Object.entries(answer.value.invocations.byCode)) {
        if (isSuccessCode(code)) split.success += n;
        else split.error += n;
      }
      counts.push(split);
    }
    return { ok: true, value: counts };
  }

  /**
   * Every function of the owner's invocations over 1 h and 24 h in two Prometheus queries (not two per function, as
   * system-metrics would take): the owner's page lists up to hundreds. Only called once the session may see the
   * owner. Without prometheus_url, or when it fails, the windows are unknown and the page shows "—".
   */
  async function totals(owner: string): Promise<{ totals: WindowTotals; failure?: string }> {
    const prometheus = deps.prometheus;
    if (!prometheus) return { totals: {} };
    const selector = `function_name=~"${ownerPrefix(owner)}.*"`;
    try {
      const [hour, day] = await Promise.all(
        ["1h", "24h"].map(async (window) => {
          const samples = await prometheus.query(
            windowed("gateway_function_invocation_total", selector, "function_name", window),
          );
          const byName = new Map<string, number>();
          for (const s of samples) {
            const name = unqualified(s.metric.function_name ?? "");
            byName.set(name, (byName.get(name) ?? 0) + s.value);
          }
          return byName;
        }),
      );
      return { totals: { "1h": hour, "24h": day } };
    } catch (error) {
      deps.log.warn({ err: error }, "dashboard page: invocation windows from prometheus failed");
      return { totals: {}, failure: "Prometheus did not answer" };
    }
  }

  return { load, chart, totals };
}

/** The page data reader {@link createPageData} returns. */
export type PageData = ReturnType<typeof createPageData>;
