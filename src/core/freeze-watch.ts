// The watchdog that notices the agent did not run (freeze.ts decides what counts): a tick every WATCH_TICK_MS on the
// monotonic clock, which keeps counting while the process is stopped.
import type { Clock, Timer } from '../clock.js';
import { frozenFor, WATCH_TICK_MS } from './freeze.js';

export class FreezeWatch {
  private timer: Timer | undefined;
  private lastSeenAt = 0;

  constructor(
    private readonly clock: Clock,
    private readonly thresholdMs: number,
    // Called once per freeze, with how long the loop did not run (ms).
    private readonly onFreeze: (awayMs: number) => void,
    private readonly tickMs: number = WATCH_TICK_MS,
  ) {}

  start(): void {
    if (this.timer) return;
    this.lastSeenAt = this.clock.monotonic();
    this.timer = this.clock.setInterval(() => this.check(), this.tickMs);
    this.timer.unref();
  }

  stop(): void {
    this.clock.clearInterval(this.timer);
    this.timer = undefined;
  }

  // Also called by whatever must not act on stale health right after a freeze (each reconciler pass asks first): after
  // SIGCONT, the timers that fell due fire in due order, and the watchdog's tick may come after the pass's.
  check(): void {
    if (!this.timer) return;
    const now = this.clock.monotonic();
    const away = frozenFor(this.lastSeenAt, now, this.tickMs, this.thresholdMs);
    this.lastSeenAt = now;
    if (away !== undefined) this.onFreeze(away);
  }
}
