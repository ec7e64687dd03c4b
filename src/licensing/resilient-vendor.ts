import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "../logger.js";
import type { CircuitBreaker } from "./circuit-breaker.js";
import type { LicenseMetrics } from "./metrics.js";
import {
  type LicenseVendor,
  VendorFailure,
  type VendorRequest,
  type VerifiedAnswer,
} from "./vendor-client.js";

/**
 * Timeouts (in the adapter), retries with exponential backoff and jitter, and a circuit
 * breaker around any vendor adapter. A call the breaker refuses fails at once as unreachable.
 * Only network errors, timeouts and 5xx are retried; a redirect, a 429 or a bad answer is the
 * vendor's word and asking again at once would not change it.
 */
export class ResilientVendor implements LicenseVendor {
  constructor(
    private readonly inner: LicenseVendor,
    private readonly breaker: CircuitBreaker,
    private readonly options: { retries: number; retryBackoffMs: number },
    private readonly metrics: LicenseMetrics,
    private readonly logger: Logger,
  ) {}

  get url(): string {
    return this.inner.url;
  }

  async validate(request: VendorRequest): Promise<VerifiedAnswer> {
    let lastFailure: VendorFailure | undefined;
    for (let attempt = 0; attempt <= this.options.retries; attempt++) {
      if (attempt > 0) {
        const backoff = this.options.retryBackoffMs * 2 ** (attempt - 1);
        await sleep(backoff / 2 + Math.random() * (backoff / 2));
      }
      if (!this.breaker.tryAcquire()) {
        const retryAt = this.breaker.retryAt?.toISOString() ?? "soon";
        throw (
          lastFailure ??
          new VendorFailure(
            "unreachable",
            `calls to the vendor are paused until ${retryAt} after repeated failures`,
          )
        );
      }
      const started = process.hrtime.bigint();
      try {
        const answer = await this.inner.validate(request);
        this.metrics.vendorAttempt("ok", seconds(started));
        this.breaker.recordSuccess();
        return answer;
      } catch (error) {
        const failure =
          error instanceof VendorFailure ? error : new VendorFailure("unreachable", (error as Error).message);
        this.metrics.vendorAttempt(failure.kind, seconds(started));
        this.breaker.recordFailure();
        // The vendor named when it may be asked again: no call before then, from any check.
        if (failure.retryAt) this.breaker.pauseUntil(failure.retryAt);
        this.logger.warn(
          { vendor: this.inner.url, attempt: attempt + 1, failure: failure.kind, detail: failure.message },
          "license vendor call failed",
        );
        lastFailure = failure;
        if (!failure.retryable) break;
      }
    }
    throw lastFailure ?? new VendorFailure("unreachable", "the vendor was not called");
  }
}

function seconds(started: bigint): number {
  return Number(process.hrtime.bigint() - started) / 1e9;
}
