import { describe, expect, it } from "vitest";
import { FailureLimiter } from "../../src/auth/failure-limiter.js";
import { ManualClock } from "../../src/clock.js";

describe("FailureLimiter", () => {
  it("blocks a key once it reaches the limit in its window, and says for how long", () => {
    const clock = new ManualClock();
    const limiter = new FailureLimiter(3, 60_000, clock);
    expect(limiter.recordFailure("10.0.0.1")).toEqual({ count: 1, blockedNow: false });
    expect(limiter.recordFailure("10.0.0.1")).toEqual({ count: 2, blockedNow: false });
    expect(limiter.blockedForSeconds("10.0.0.1")).toBe(0);
    clock.advance(15_000);
    expect(limiter.recordFailure("10.0.0.1")).toEqual({ count: 3, blockedNow: true });
    // The window started with the first failure: 45 seconds of it are left.
    expect(limiter.blockedForSeconds("10.0.0.1")).toBe(45);
    // Only the failure that reaches the limit says blockedNow.
    expect(limiter.recordFailure("10.0.0.1")).toEqual({ count: 4, blockedNow: false });
    clock.advance(44_500);
    expect(limiter.blockedForSeconds("10.0.0.1")).toBe(1);
  });

  it("unblocks when the window ends and counts afresh", () => {
    const clock = new ManualClock();
    const limiter = new FailureLimiter(2, 10_000, clock);
    limiter.recordFailure("alice@example.com");
    limiter.recordFailure("alice@example.com");
    expect(limiter.blockedForSeconds("alice@example.com")).toBe(10);
    clock.advance(9_999);
    expect(limiter.blockedForSeconds("alice@example.com")).toBe(1);
    clock.advance(1);
    expect(limiter.blockedForSeconds("alice@example.com")).toBe(0);
    expect(limiter.recordFailure("alice@example.com")).toEqual({ count: 1, blockedNow: false });
    expect(limiter.blockedForSeconds("alice@example.com")).toBe(0);
  });

  it("counts keys apart: one blocked key does not block another", () => {
    const clock = new ManualClock();
    const limiter = new FailureLimiter(1, 60_000, clock);
    expect(limiter.recordFailure("10.0.0.1").blockedNow).toBe(true);
    expect(limiter.blockedForSeconds("10.0.0.1")).toBe(60);
    expect(limiter.blockedForSeconds("10.0.0.2")).toBe(0);
    expect(limiter.recordFailure("10.0.0.2")).toEqual({ count: 1, blockedNow: true });
  });

  it("keeps the live windows when very many keys failed and the expired ones are pruned", () => {
    const clock = new ManualClock();
    const limiter = new FailureLimiter(2, 1_000, clock);
    for (let i = 0; i < 100_001; i++) limiter.recordFailure(`old-${i}`);
    clock.advance(600);
    limiter.recordFailure("attacker");
    clock.advance(400);
    // Past 100 000 keys a new key prunes the windows that ended (all the old ones); the attacker's
    // window, 400 ms old, stays and goes on counting.
    limiter.recordFailure("new-key");
    expect(limiter.recordFailure("attacker")).toEqual({ count: 2, blockedNow: true });
    expect(limiter.blockedForSeconds("attacker")).toBe(1);
    expect(limiter.recordFailure("old-1")).toEqual({ count: 1, blockedNow: false });
  });
});
