// The one writer of the degraded prefix-lists (degraded-plan.ts decides): a change of a service's degraded state is
// one `vtysh -c 'configure terminal' -c ...` from an in-memory mirror of the lists; a full sync reads them back from
// `show running-config` at start (a crashed agent's leftovers), after any failure, and every `syncIntervalMs` (an FRR
// restart forgets them; the sync puts them back).
import type { Logger } from '../log.js';
import { systemClock, type Clock, type Timer } from '../clock.js';
import { messageOf } from '../errors.js';
import type { Vtysh } from './vtysh.js';
import { desiredLists, parseRunningLists, planLists, type DegradedAddress, type ListState } from './degraded-plan.js';

export interface DegradedListsOptions {
  vtysh: Vtysh;
  degraded: () => readonly DegradedAddress[];
  log: Logger;
  syncIntervalMs: number;
  clock?: Clock;
}

export class DegradedLists {
  private mirror: ListState | undefined; // undefined: unknown, the next pass reads FRR first
  private running: Promise<void> | undefined;
  private again = false;
  private timer: Timer | undefined;
  private readonly clock: Clock;
  // Each applied pass, for the benchmark and tests: lines sent and how long vtysh took.
  onApplied?: (lines: readonly string[], ms: number) => void;

  constructor(private readonly options: DegradedListsOptions) {
    this.clock = options.clock ?? systemClock;
  }

  async start(): Promise<void> {
    await this.kick();
    this.timer = this.clock.setInterval(() => {
      this.mirror = undefined;
      void this.kick();
    }, this.options.syncIntervalMs);
  }

  stop(): void {
    this.clock.clearInterval(this.timer);
    this.timer = undefined;
  }

  // Coalescing: a kick during a pass runs one more pass after it, with the state as it is then.
  kick(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.loop().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      await this.pass();
    } while (this.again);
  }

  private async pass(): Promise<void> {
    const full = this.mirror === undefined;
    try {
      const present = this.mirror ?? parseRunningLists(await this.options.vtysh.run(['show running-config']));
      const plan = planLists(desiredLists(this.options.degraded()), present);
      const started = this.clock.monotonic();
      if (plan.lines.length > 0) await this.options.vtysh.configure(plan.lines);
      this.mirror = plan.next;
      if (plan.lines.length > 0) {
        const ms = this.clock.monotonic() - started;
        this.options.log.info({ lines: plan.lines.length, vtysh_ms: Math.round(ms), full }, 'degraded prefix-lists updated');
        this.onApplied?.(plan.lines, ms);
      }
    } catch (error) {
      this.mirror = undefined;
      this.options.log.warn({ err: messageOf(error) }, 'degraded prefix-lists not updated; retrying from what FRR has');
      // One retry from FRR's own view (the mirror may have been wrong: FRR restarted); the periodic sync does the rest.
      if (!full) this.again = true;
    }
  }
}
