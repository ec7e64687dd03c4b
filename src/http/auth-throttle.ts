import type { Clock } from "../clock.js";
import { RateLimitedError } from "../errors.js";

/**
 * Counts refused API tokens per client address in a fixed window; past the limit the address
 * gets 429 until the window ends, whatever token it sends. In memory, per process.
 */
export class AuthFailureThrottle {
  private readonly windows = new Map<string, { startedAt: number; failures: number }>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly clock: Clock,
  ) {}

  assertAllowed(address: string): void {
    const window = this.current(address);
    if (window && window.failures >= this.limit) {
      const retryAfterMs = window.startedAt + this.windowMs - this.clock.now().getTime();
      throw new RateLimitedError(
        Math.max(1, Math.ceil(retryAfterMs / 1000)),
        "too many requests with an invalid API token from this address; try again later",
      );
    }
  }

  /** Returns the failures counted for the address in the current window. */
  recordFailure(address: string): number {
    const now = this.clock.now().getTime();
    const window = this.current(address) ?? { startedAt: now, failures: 0 };
    window.failures += 1;
    this.windows.set(address, window);
    if (this.windows.size > 10_000) this.prune(now);
    return window.failures;
  }

  private current(address: string) {
    const window = this.windows.get(address);
    if (window && window.startedAt + this.windowMs <= this.clock.now().getTime()) {
      this.windows.delete(address);
      return undefined;
    }
    return window;
  }

  private prune(now: number): void {
    for (const [address, window] of this.windows) {
      if (window.startedAt + this.windowMs <= now) this.windows.delete(address);
    }
  }
}
