/**
 * Coarse timers for SIP transactions. A busy registrar holds hundreds of thousands of
 * transactions waiting out Timer J; a Node Timeout object each would cost far more memory and
 * GC time than an entry in a slot array. Timers fire within one resolution step of their due
 * time, which is well inside what RFC 3261 timers (T1 = 500 ms) need.
 */
export interface TimerHandle {
  cancelled: boolean;
}

interface Entry extends TimerHandle {
  run: () => void;
}

export class TimerWheel {
  private readonly slots = new Map<number, Entry[]>();
  private lastTick: number;
  private interval: NodeJS.Timeout | undefined;
  private pending = 0;

  constructor(
    private readonly resolutionMs = 10,
    private readonly now: () => number = Date.now,
  ) {
    this.lastTick = Math.floor(this.now() / resolutionMs);
  }

  schedule(delayMs: number, run: () => void): TimerHandle {
    const entry: Entry = { cancelled: false, run };
    // After an idle spell with nothing pending, start counting from now, not from the last tick.
    if (!this.interval && this.pending === 0) this.lastTick = Math.floor(this.now() / this.resolutionMs);
    const slot = Math.max(Math.ceil((this.now() + delayMs) / this.resolutionMs), this.lastTick + 1);
    let list = this.slots.get(slot);
    if (!list) {
      list = [];
      this.slots.set(slot, list);
    }
    list.push(entry);
    this.pending++;
    this.ensureRunning();
    return entry;
  }

  /** Runs everything due; the interval calls it, and tests with fake timers may too. */
  tick(): void {
    const current = Math.floor(this.now() / this.resolutionMs);
    for (let slot = this.lastTick + 1; slot <= current; slot++) {
      const list = this.slots.get(slot);
      if (!list) continue;
      this.slots.delete(slot);
      this.pending -= list.length;
      for (const entry of list) if (!entry.cancelled) entry.run();
    }
    this.lastTick = Math.max(this.lastTick, current);
    if (this.pending === 0) this.stop();
  }

  size(): number {
    return this.pending;
  }

  stop(): void {
    if (this.interval) clearInterval(this.interval);
    this.interval = undefined;
  }

  private ensureRunning(): void {
    if (this.interval) return;
    this.interval = setInterval(() => this.tick(), this.resolutionMs);
    this.interval.unref();
  }
}
