import type { Clock } from "../clock.js";

export type BreakerState = "closed" | "open" | "half-open";

/**
 * Stops calling a failing dependency: after `failureThreshold` failures in a row it opens for
 * `resetMs`, then lets one trial call through (half-open); that call's outcome closes or
 * reopens it. Time comes from the injected clock so tests can move it.
 */
export class CircuitBreaker {
  private failures = 0;
  private openedAt: number | null = null;
  private trialInFlight = false;

  constructor(
    private readonly options: { failureThreshold: number; resetMs: number },
    private readonly clock: Clock,
    private readonly onStateChange: (state: BreakerState) => void = () => {},
  ) {}

  get state(): BreakerState {
    if (this.openedAt === null) return "closed";
    return this.clock.now().getTime() - this.openedAt >= this.options.resetMs ? "half-open" : "open";
  }

  /** When calls may be tried again, if the breaker is open. */
  get retryAt(): Date | null {
    return this.openedAt === null ? null : new Date(this.openedAt + this.options.resetMs);
  }

  /** Whether a call may go out now; in half-open only one trial at a time. */
  tryAcquire(): boolean {
    const state = this.state;
    if (state === "closed") return true;
    if (state === "open" || this.trialInFlight) return false;
    this.trialInFlight = true;
    this.onStateChange("half-open");
    return true;
  }

  recordSuccess(): void {
    const wasOpen = this.openedAt !== null;
    this.failures = 0;
    this.openedAt = null;
    this.trialInFlight = false;
    if (wasOpen) this.onStateChange("closed");
  }

  /**
   * The dependency asked not to be called before a time (HTTP 429 with Retry-After): open until
   * then, whatever the failure count, then one trial call as after any opening.
   */
  pauseUntil(until: Date): void {
    const resumeAt = until.getTime();
    if (resumeAt <= this.clock.now().getTime()) return;
    this.trialInFlight = false;
    // openedAt is what state and retryAt count from: set it so the opening ends at resumeAt.
    this.openedAt = Math.max(this.openedAt ?? Number.NEGATIVE_INFINITY, resumeAt - this.options.resetMs);
    this.onStateChange("open");
  }

  recordFailure(): void {
    this.failures += 1;
    const trialFailed = this.trialInFlight;
    this.trialInFlight = false;
    if (trialFailed || this.failures >= this.options.failureThreshold) {
      this.openedAt = this.clock.now().getTime();
      this.onStateChange("open");
    }
  }
}
