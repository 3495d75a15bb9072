import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { NAMESPACE } from "./provider/deployment.js";

/** A function the provider runs and its desired replicas (FunctionStatus `name`, `replicas`). */
export interface ReplicaCount {
  name: string;
  replicas: number;
}

/** The gateway's Prometheus metrics, with the OpenFaaS gateway's names and labels. */
export interface GatewayMetrics {
  /** A call to `/function/<name>` is about to reach the function (`gateway_function_invocation_started`). */
  started(name: string): void;
  /** That call is over: its status code and how long it took, body included. */
  completed(name: string, code: number, seconds: number): void;
  /** The exposition text, replica counts read from the provider now. */
  render(): Promise<{ contentType: string; body: string }>;
}

/**
 * The metrics openfaas/faas registers (gateway/metrics/metrics.go), each in a registry of its own:
 * `gateway_function_invocation_total{function_name,code}` and `gateway_functions_seconds{function_name,code}`
 * (default buckets, the same in prom-client as in client_golang) counted when a call completes,
 * `gateway_function_invocation_started{function_name}` when it starts, and `gateway_service_count{function_name}`
 * set from the provider's list at each scrape (upstream polls it every 5 s). `function_name` is `<name>.<namespace>`,
 * as upstream's notifier writes it: the default namespace is appended to a name without a dot.
 */
export function createGatewayMetrics(deps: { replicas?: () => Promise<ReplicaCount[]> }): GatewayMetrics {
  const registry = new Registry();
  const labelNames = ["function_name", "code"] as const;
  const invocations = new Counter({
    name: "gateway_function_invocation_total",
    help: "Function metrics",
    labelNames,
    registers: [registry],
  });
  const seconds = new Histogram({
    name: "gateway_functions_seconds",
    help: "Function time taken",
    labelNames,
    registers: [registry],
  });
  const started = new Counter({
    name: "gateway_function_invocation_started",
    help: "The total number of function HTTP requests started.",
    labelNames: ["function_name"],
    registers: [registry],
  });
  const replicas = deps.replicas;
  new Gauge({
    name: "gateway_service_count",
    help: "Current count of replicas for function",
    labelNames: ["function_name"],
    registers: [registry],
    async collect() {
      // Reset first, as upstream's exporter does, so a removed function's series goes away.
      this.reset();
      for (const fn of (await replicas?.()) ?? []) this.set({ function_name: qualified(fn.name) }, fn.replicas);
    },
  });

  return {
    started: (name) => started.inc({ function_name: qualified(name) }),
    completed(name, code, taken) {
      const labels = { function_name: qualified(name), code: String(code) };
      seconds.observe(labels, taken);
      invocations.inc(labels);
    },
    render: async () => ({ contentType: registry.contentType, body: await registry.metrics() }),
  };
}

/** `<name>.openfaas-fn` unless the name already says its namespace (upstream: any name holding a dot is kept). */
function qualified(name: string): string {
  return name.includes(".") ? name : `${name}.${NAMESPACE}`;
}
