// A Clock that moves only when a test says so: timers fire in due order, and the promise chains they start settle
// before the next one fires, so a test reads like a timeline instead of sleeping on the machine's clock.
import type { Clock, Timer } from '../../src/clock.js';

interface ManualTimer extends Timer {
  id: number;
  at: number;
  every: number | undefined; // interval period, for setInterval
  callback: () => void;
  cleared: boolean;
}

// Lets every promise chain and setImmediate callback that is ready run (the in-memory fakes resolve at once).
export async function settle(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i += 1) await new Promise<void>((resolve) => setImmediate(resolve));
}

export class ManualClock implements Clock {
  private wall: number;
  private mono = 0;
  private nextId = 1;
  private readonly timers = new Set<ManualTimer>();

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.wall = start;
  }

  now(): number {
    return this.wall;
  }

  monotonic(): number {
    return this.mono;
  }

  setTimeout(callback: () => void, ms: number): Timer {
    return this.add(callback, ms, undefined);
  }

  setInterval(callback: () => void, ms: number): Timer {
    return this.add(callback, ms, Math.max(1, ms));
  }

  clearTimeout(timer: Timer | undefined): void {
    if (!timer) return;
    (timer as ManualTimer).cleared = true;
    this.timers.delete(timer as ManualTimer);
  }

  clearInterval(timer: Timer | undefined): void {
    this.clearTimeout(timer);
  }

  // Timers still set, for tests that check nothing was left behind.
  get pending(): number {
    return this.timers.size;
  }

  // When the next timer is due, if any.
  get nextDue(): number | undefined {
    return this.earliest()?.at;
  }

  // Moves time forward by `ms`, firing every timer that falls due on the way, in order, letting what each one starts
  // settle before the next; ends with time exactly `ms` later.
  async advance(ms: number): Promise<void> {
    const until = this.wall + ms;
    await settle();
    for (let timer = this.earliest(); timer && timer.at <= until; timer = this.earliest()) {
      this.moveTo(timer.at);
      this.fire(timer);
      await settle();
    }
    this.moveTo(until);
    await settle();
  }

  // Moves time forward without firing anything, as a blocked event loop does: the timers that fell due fire, late, at
  // the next advance().
  jump(ms: number): void {
    this.moveTo(this.wall + ms);
  }

  // Moves to the next due timer and fires it (and any due at the same moment); false when none is set.
  async runNext(): Promise<boolean> {
    const timer = this.earliest();
    if (!timer) return false;
    await this.advance(timer.at - this.wall);
    return true;
  }

  // Advances in steps of `stepMs` until `condition` holds or `limitMs` has passed; returns whether it held.
  async until(condition: () => boolean, { stepMs = 10, limitMs = 60_000 } = {}): Promise<boolean> {
    for (let waited = 0; !condition(); waited += stepMs) {
      if (waited >= limitMs) return false;
      await this.advance(stepMs);
    }
    return true;
  }

  // Advances in steps until `promise` settles (an operation that waits on timers, such as a drain), and returns it.
  async drive<T>(promise: Promise<T>, { stepMs = 10, limitMs = 60_000 } = {}): Promise<T> {
    let settled = false;
    const observed = promise.finally(() => (settled = true));
    if (!(await this.until(() => settled, { stepMs, limitMs }))) throw new Error(`still pending after ${limitMs} ms of manual time`);
    return observed;
  }

  private add(callback: () => void, ms: number, every: number | undefined): ManualTimer {
    const timer: ManualTimer = { id: this.nextId++, at: this.wall + Math.max(0, ms), every, callback, cleared: false, unref: () => timer };
    this.timers.add(timer);
    return timer;
  }

  private earliest(): ManualTimer | undefined {
    let first: ManualTimer | undefined;
    for (const timer of this.timers) if (!first || timer.at < first.at || (timer.at === first.at && timer.id < first.id)) first = timer;
    return first;
  }

  private moveTo(at: number): void {
    if (at <= this.wall) return;
    this.mono += at - this.wall;
    this.wall = at;
  }

  private fire(timer: ManualTimer): void {
    if (timer.every === undefined) this.timers.delete(timer);
    else timer.at += timer.every;
    timer.callback();
  }
}
