import type { Clock } from "../clock.js";

interface Window {
  count: number;
  startedAt: number;
}

/**
 * Counts authentication failures per key (a source address, a user) in fixed windows. Past the
 * limit the key is blocked until its window ends. Success does not reset a key: someone with
 * one valid account must not be able to clear the counter of an address they attack from.
 */
export class FailureLimiter {
  private readonly windows = new Map<string, Window>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly clock: Clock,
  ) {}

  private current(key: string, now: number): Window | undefined {
    const window = this.windows.get(key);
    if (window && now - window.startedAt >= this.windowMs) {
      this.windows.delete(key);
      return undefined;
    }
    return window;
  }

  /** Seconds until the key may try again, or 0 when it is not blocked. */
  blockedForSeconds(key: string): number {
    const now = this.clock.now().getTime();
    const window = this.current(key, now);
    if (!window || window.count < this.limit) return 0;
    return Math.max(1, Math.ceil((window.startedAt + this.windowMs - now) / 1000));
  }

  /** Counts a failure; `blockedNow` is true for the one that reaches the limit. */
  recordFailure(key: string): { count: number; blockedNow: boolean } {
    const now = this.clock.now().getTime();
    let window = this.current(key, now);
    if (!window) {
      if (this.windows.size > 100_000) this.prune(now);
      window = { count: 0, startedAt: now };
      this.windows.set(key, window);
    }
    window.count++;
    return { count: window.count, blockedNow: window.count === this.limit };
  }

  private prune(now: number): void {
    for (const [key, window] of this.windows)
      if (now - window.startedAt >= this.windowMs) this.windows.delete(key);
  }
}
