import { Counter, collectDefaultMetrics, Histogram, Registry } from "prom-client";

/** One registry per server instance, so tests can run several servers in one process. */
export function createMetrics() {
  const registry = new Registry();
  registry.setDefaultLabels({ service: "provisiond" });
  collectDefaultMetrics({ register: registry });
  const httpRequestDuration = new Histogram({
    name: "provisiond_http_request_duration_seconds",
    help: "HTTP request duration by route template and status",
    labelNames: ["method", "route", "status"] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const authFailures = new Counter({
    name: "provisiond_http_auth_failures_total",
    help: "Requests refused for a missing or invalid API token",
    registers: [registry],
  });
  return { registry, httpRequestDuration, authFailures };
}

export type Metrics = ReturnType<typeof createMetrics>;
