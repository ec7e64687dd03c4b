import { describe, expect, it } from "vitest";
import { TimerWheel } from "../../../src/sip/stack/timer-wheel.js";

/** A wheel on a hand-moved clock; tick() is called by the test, as the wheel's interval would. */
function wheelAt(start = 1_000_000) {
  let now = start;
  const wheel = new TimerWheel(10, () => now);
  return {
    wheel,
    advance(ms: number) {
      now += ms;
      wheel.tick();
    },
  };
}

describe("TimerWheel", () => {
  it("fires a timer once its due time is reached, not before, within one resolution step", () => {
    const { wheel, advance } = wheelAt();
    const fired: number[] = [];
    wheel.schedule(25, () => fired.push(25));
    advance(20);
    expect(fired).toEqual([]);
    advance(10); // 30 ms: the 10 ms slot holding 25 ms has passed
    expect(fired).toEqual([25]);
    advance(100);
    expect(fired).toEqual([25]);
    wheel.stop();
  });

  it("runs every timer due in one tick and keeps later ones for later ticks", () => {
    const { wheel, advance } = wheelAt();
    const fired: string[] = [];
    wheel.schedule(10, () => fired.push("a"));
    wheel.schedule(15, () => fired.push("b"));
    wheel.schedule(500, () => fired.push("late"));
    expect(wheel.size()).toBe(3);
    advance(50);
    expect(fired).toEqual(["a", "b"]);
    expect(wheel.size()).toBe(1);
    advance(450);
    expect(fired).toEqual(["a", "b", "late"]);
    expect(wheel.size()).toBe(0);
  });

  it("does not run a cancelled timer", () => {
    const { wheel, advance } = wheelAt();
    const fired: string[] = [];
    const handle = wheel.schedule(20, () => fired.push("cancelled"));
    wheel.schedule(20, () => fired.push("kept"));
    handle.cancelled = true;
    advance(30);
    expect(fired).toEqual(["kept"]);
    expect(wheel.size()).toBe(0);
  });

  it("never runs a zero-delay timer synchronously, but on the next step", () => {
    const { wheel, advance } = wheelAt();
    let fired = false;
    wheel.schedule(0, () => {
      fired = true;
    });
    wheel.tick();
    expect(fired).toBe(false);
    advance(10);
    expect(fired).toBe(true);
  });

  it("counts from now after an idle spell, so a timer scheduled then waits its full delay", () => {
    const { wheel, advance } = wheelAt();
    const fired: string[] = [];
    wheel.schedule(10, () => fired.push("first"));
    advance(10);
    expect(fired).toEqual(["first"]);
    advance(60_000); // idle: nothing pending
    wheel.schedule(100, () => fired.push("after idle"));
    advance(90);
    expect(fired).toEqual(["first"]);
    advance(10);
    expect(fired).toEqual(["first", "after idle"]);
  });

  it("runs a timer scheduled by a firing timer on a later tick", () => {
    const { wheel, advance } = wheelAt();
    const fired: string[] = [];
    wheel.schedule(10, () => {
      fired.push("outer");
      wheel.schedule(10, () => fired.push("inner"));
    });
    advance(10);
    expect(fired).toEqual(["outer"]);
    advance(10);
    expect(fired).toEqual(["outer", "inner"]);
  });
});
