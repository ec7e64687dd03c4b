import { describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { type BreakerState, CircuitBreaker } from "../../src/licensing/circuit-breaker.js";

function breaker(failureThreshold = 3, resetMs = 30_000) {
  const clock = new ManualClock();
  const changes: BreakerState[] = [];
  const b = new CircuitBreaker({ failureThreshold, resetMs }, clock, (state) => changes.push(state));
  return { b, clock, changes };
}

describe("circuit breaker", () => {
  it("lets calls through while closed, and failures below the threshold keep it closed", () => {
    const { b, changes } = breaker(3);
    expect(b.state).toBe("closed");
    expect(b.retryAt).toBeNull();
    b.recordFailure();
    b.recordFailure();
    expect(b.state).toBe("closed");
    expect(b.tryAcquire()).toBe(true);
    expect(changes).toEqual([]);
  });

  it("counts failures in a row only: a success in between starts the count again", () => {
    const { b } = breaker(3);
    b.recordFailure();
    b.recordFailure();
    b.recordSuccess();
    b.recordFailure();
    b.recordFailure();
    expect(b.state).toBe("closed");
    b.recordFailure();
    expect(b.state).toBe("open");
  });

  it("opens after the threshold, refuses calls until resetMs has passed and says until when", () => {
    const { b, clock, changes } = breaker(2, 30_000);
    const openedAt = clock.now();
    b.recordFailure();
    b.recordFailure();
    expect(b.state).toBe("open");
    expect(changes).toEqual(["open"]);
    expect(b.retryAt?.toISOString()).toBe(new Date(openedAt.getTime() + 30_000).toISOString());
    expect(b.tryAcquire()).toBe(false);
    clock.advance(29_999);
    expect(b.tryAcquire()).toBe(false);
    clock.advance(1);
    expect(b.state).toBe("half-open");
  });

  it("in half-open lets one trial through at a time; its success closes the breaker", () => {
    const { b, clock, changes } = breaker(1, 1000);
    b.recordFailure();
    clock.advance(1000);
    expect(b.tryAcquire()).toBe(true);
    expect(b.tryAcquire()).toBe(false);
    b.recordSuccess();
    expect(b.state).toBe("closed");
    expect(b.retryAt).toBeNull();
    expect(b.tryAcquire()).toBe(true);
    expect(b.tryAcquire()).toBe(true);
    expect(changes).toEqual(["open", "half-open", "closed"]);
  });

  it("reopens at once when the trial fails, even below the threshold, for another resetMs", () => {
    const { b, clock, changes } = breaker(5, 1000);
    for (let i = 0; i < 5; i++) b.recordFailure();
    clock.advance(1000);
    expect(b.tryAcquire()).toBe(true);
    b.recordFailure();
    expect(b.state).toBe("open");
    expect(b.tryAcquire()).toBe(false);
    clock.advance(999);
    expect(b.state).toBe("open");
    clock.advance(1);
    expect(b.tryAcquire()).toBe(true);
    expect(changes).toEqual(["open", "half-open", "open", "half-open"]);
  });
});
