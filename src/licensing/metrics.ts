import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { BreakerState } from "./circuit-breaker.js";

const breakerValues: Record<BreakerState, number> = { closed: 0, "half-open": 1, open: 2 };

/** License proxy metrics, on the server's registry. */
export function createLicenseMetrics(registry: Registry) {
  const lookups = new Counter({
    name: "provisiond_license_cache_lookups_total",
    help: "License checks by how they were answered: hit (fresh cache), stale (cache past its TTL, vendor unavailable), miss (asked the vendor)",
    labelNames: ["result"] as const,
    registers: [registry],
  });
  let hits = 0;
  let total = 0;
  new Gauge({
    name: "provisiond_license_cache_hit_ratio",
    help: "Share of license checks answered from a fresh cache since the process started",
    registers: [registry],
    collect() {
      this.set(total === 0 ? 0 : hits / total);
    },
  });
  const vendorDuration = new Histogram({
    name: "provisiond_license_vendor_request_duration_seconds",
    help: "Vendor license requests (each attempt) by outcome",
    labelNames: ["outcome"] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const breaker = new Gauge({
    name: "provisiond_license_vendor_breaker_state",
    help: "Circuit breaker around the vendor: 0 closed, 1 half-open, 2 open",
    registers: [registry],
  });
  breaker.set(0);
  return {
    cacheLookup(result: "hit" | "stale" | "miss"): void {
      lookups.inc({ result });
      total += 1;
      if (result === "hit") hits += 1;
    },
    vendorAttempt(outcome: string, seconds: number): void {
      vendorDuration.observe({ outcome }, seconds);
    },
    breakerState(state: BreakerState): void {
      breaker.set(breakerValues[state]);
    },
  };
}

export type LicenseMetrics = ReturnType<typeof createLicenseMetrics>;
