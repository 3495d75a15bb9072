import { createGatewayMetrics, type ReplicaCount } from "./gateway-metrics.js";

/** The value of one sample line `name{labels} value` in the exposition text, undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe("gateway metrics: OpenFaaS gateway names and labels in Prometheus text", () => {
  it("3 calls to alice--echo (two 200, one 500) and one to github-event → invocation_total split by code, started per function", async () => {
    const metrics = createGatewayMetrics({});
    for (const code of [200, 500, 200]) {
      metrics.started("alice--echo");
      metrics.completed("alice--echo", code, 0.02);
    }
    metrics.started("github-event");
    metrics.completed("github-event", 202, 0.3);
    const { body, contentType } = await metrics.render();
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    const total = (name: string, code: number) =>
      sample(body, `gateway_function_invocation_total{function_name="${name}",code="${code}"}`);
    expect([total("alice--echo.openfaas-fn", 200), total("alice--echo.openfaas-fn", 500)]).toEqual([2, 1]);
    expect(total("github-event.openfaas-fn", 202)).toBe(1);
    expect(sample(body, 'gateway_function_invocation_started{function_name="alice--echo.openfaas-fn"}')).toBe(3);
    expect(body).toContain("# TYPE gateway_function_invocation_total counter");
    expect(body).toContain("# TYPE gateway_function_invocation_started counter");
  });

  it.each([
    ["alice--echo", "alice--echo.openfaas-fn"],
    ["alice--echo.openfaas-fn", "alice--echo.openfaas-fn"],
    ["fn.staging", "fn.staging"],
  ])(
    "a call addressed as %s → function_name %s (upstream appends the namespace only to a name without a dot)",
    async (name, label) => {
      const metrics = createGatewayMetrics({});
      metrics.completed(name, 200, 0.001);
      const { body } = await metrics.render();
      expect(sample(body, `gateway_function_invocation_total{function_name="${label}",code="200"}`)).toBe(1);
    },
  );

  it("gateway_functions_seconds: a histogram with client_golang's default buckets, observed per function and code", async () => {
    const metrics = createGatewayMetrics({});
    metrics.completed("alice--echo", 200, 0.07);
    metrics.completed("alice--echo", 200, 3);
    const { body } = await metrics.render();
    expect(body).toContain("# TYPE gateway_functions_seconds histogram");
    const buckets = [
      ...body.matchAll(
        /^gateway_functions_seconds_bucket\{le="([^"]+)",function_name="alice--echo.openfaas-fn",code="200"\}/gm,
      ),
    ];
    expect(buckets.map((m) => m[1])).toEqual([
      "0.005",
      "0.01",
      "0.025",
      "0.05",
      "0.1",
      "0.25",
      "0.5",
      "1",
      "2.5",
      "5",
      "10",
      "+Inf",
    ]);
    const series = (suffix: string, le?: string) =>
      sample(
        body,
        `gateway_functions_seconds_${suffix}{${le ? `le="${le}",` : ""}function_name="alice--echo.openfaas-fn",code="200"}`,
      );
    expect([series("bucket", "0.05"), series("bucket", "0.1"), series("bucket", "5"), series("count")]).toEqual([
      0, 1, 2, 2,
    ]);
    expect(series("sum")).toBeCloseTo(3.07);
  });

  it("gateway_service_count: the provider's replicas at each scrape; a removed function's series goes away", async () => {
    let functions: ReplicaCount[] = [
      { name: "alice--echo", replicas: 1 },
      { name: "bob--idle", replicas: 0 },
    ];
    const metrics = createGatewayMetrics({ replicas: () => Promise.resolve(functions) });
    const first = (await metrics.render()).body;
    expect(sample(first, 'gateway_service_count{function_name="alice--echo.openfaas-fn"}')).toBe(1);
    expect(sample(first, 'gateway_service_count{function_name="bob--idle.openfaas-fn"}')).toBe(0);
    functions = [{ name: "bob--idle", replicas: 1 }];
    const second = (await metrics.render()).body;
    expect(sample(second, 'gateway_service_count{function_name="alice--echo.openfaas-fn"}')).toBeUndefined();
    expect(sample(second, 'gateway_service_count{function_name="bob--idle.openfaas-fn"}')).toBe(1);
  });

  it("two instances keep separate counts (no process-wide registry)", async () => {
    const a = createGatewayMetrics({});
    const b = createGatewayMetrics({});
    a.completed("x", 200, 0.01);
    expect(
      sample((await b.render()).body, 'gateway_function_invocation_total{function_name="x.openfaas-fn",code="200"}'),
    ).toBeUndefined();
  });
});
