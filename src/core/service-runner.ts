// Probes one service on its interval and reports each round's result; decides nothing and never touches routing.
import type { ServiceConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import { systemClock, type Clock, type Timer } from '../clock.js';
import { PreparedProbes, type ServiceProbeRun } from './probe-service.js';
import { ProbeAbort } from '../../probes/kit/index.js';
import { messageOf } from '../errors.js';

export interface ServiceRunnerDeps {
  log: Logger;
  // Every round's result: the probes' own (metrics) and the combined one; lateMs: how long after its slot a scheduled
  // round started (undefined for check-now), where an agent that falls behind its schedule shows first.
  onRound(runner: ServiceRunner, run: ServiceProbeRun, lateMs: number | undefined): void;
  // The slot timers the runner shares with the other runners of its agent.
  slots?: SlotTimers;
  clock?: Clock;
  random?: () => number;
}

// Splay offsets are multiples of this, from a start on this grid: services whose slots fall in the same step share one
// timer and wake the agent once (1,000 services every 1 s: 100 wake-ups a second for their rounds, not 1,000).
export const SLOT_GRID_MS = 10;

// One timer per distinct due time, shared by every runner due then; one per agent.
export class SlotTimers {
  private readonly due = new Map<number, Set<ServiceRunner>>();
  private readonly timers = new Map<number, Timer>();

  constructor(private readonly clock: Clock = systemClock) {}

  add(at: number, runner: ServiceRunner): void {
    let runners = this.due.get(at);
    if (!runners) {
      runners = new Set();
      this.due.set(at, runners);
      this.timers.set(
        at,
        this.clock.setTimeout(() => this.fire(at), Math.max(0, at - this.clock.now())),
      );
    }
    runners.add(runner);
  }

  remove(at: number, runner: ServiceRunner): void {
    const runners = this.due.get(at);
    if (!runners?.delete(runner) || runners.size > 0) return;
    this.due.delete(at);
    this.clock.clearTimeout(this.timers.get(at));
    this.timers.delete(at);
  }

  private fire(at: number): void {
    const runners = this.due.get(at);
    this.due.delete(at);
    this.timers.delete(at);
    for (const runner of runners ?? []) runner.slotDue();
  }
}

export class ServiceRunner {
  // When the next scheduled round is due (epoch ms), while one is scheduled.
  private dueAt: number | undefined;
  // Cancelled by stop(): the running round's probes let go at once and its result is dropped.
  private cancellation: AbortController | undefined;
  // Made at start(): the probes with their inputs, and the handlers of a round's end.
  private probes: PreparedProbes | undefined;
  private roundDone: ((run: ServiceProbeRun) => void) | undefined;
  private roundFailed: ((error: unknown) => void) | undefined;
  private inFlight: Promise<void> | undefined;
  private running = false;
  private epoch = 0;
  // Index of the slot the timer is set for, and of the last slot a scheduled round ran in.
  private slot = 0;
  private lastSlot = -1;
  // Lateness of the round in flight, when it is a scheduled one.
  private roundLateMs: number | undefined;
  private readonly clock: Clock;
  private readonly slots: SlotTimers;

  constructor(
    readonly config: ServiceConfig,
    private readonly deps: ServiceRunnerDeps,
  ) {
    this.clock = deps.clock ?? systemClock;
    this.slots = deps.slots ?? new SlotTimers(this.clock);
  }

  get name(): string {
    return this.config.name;
  }

  // Starts afresh (fail closed); a random splay spreads services over the first interval.
  start(options: { splay?: boolean } = {}): void {
    if (this.running) return;
    this.running = true;
    const cancel = new AbortController();
    this.cancellation = cancel;
    this.probes = new PreparedProbes(this.config, { log: this.deps.log, signal: cancel.signal });
    // A round of an earlier start (stopped meanwhile) neither schedules nor reports.
    this.roundDone = (run) => {
      if (cancel !== this.cancellation) return;
      this.finishRound();
      if (!this.running || cancel.signal.aborted) return;
      this.recordRound(run);
    };
    this.roundFailed = (error) => {
      if (cancel !== this.cancellation) return;
      this.finishRound();
      this.deps.log.error({ err: messageOf(error) }, 'probe round failed');
    };
    const interval = this.config.intervalMs;
    const now = this.clock.now();
    if (options.splay === false) this.epoch = now;
    else this.epoch = Math.ceil(now / SLOT_GRID_MS) * SLOT_GRID_MS + Math.floor(((this.deps.random ?? Math.random)() * interval) / SLOT_GRID_MS) * SLOT_GRID_MS;
    this.lastSlot = -1;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.running = false;
    this.unschedule();
    this.cancellation?.abort(new ProbeAbort('cancelled', 'service stopped'));
    await this.inFlight;
  }

  get isRunning(): boolean {
    return this.running;
  }

  // Probe now, outside the schedule (operator's check-now); the schedule continues.
  async checkNow(): Promise<void> {
    if (!this.running) return;
    await this.inFlight;
    if (!this.running) return;
    this.unschedule();
    this.roundLateMs = undefined;
    await this.round();
  }

  // fast_interval: the agent says a round should come sooner (the service is in transition). The next round runs `ms`
  // from now if that is before its slot; afterwards the schedule is the drift-free one again.
  hurry(ms: number): void {
    if (!this.running || this.dueAt === undefined) return;
    const at = this.clock.now() + ms;
    if (at >= this.dueAt) return;
    this.slots.remove(this.dueAt, this);
    this.dueAt = at;
    this.slots.add(at, this);
  }

  // Called by the shared timer of the slot this runner is scheduled in.
  slotDue(): void {
    const dueAt = this.dueAt!;
    this.dueAt = undefined;
    this.lastSlot = this.slot;
    // A shared timer can fire a little before its slot by Date.now() (the loop's clock is cached): that is on time.
    this.roundLateMs = Math.max(0, this.clock.now() - dueAt);
    void this.round();
  }

  private schedule(slot: number): void {
    this.unschedule();
    this.slot = slot;
    this.dueAt = this.epoch + slot * this.config.intervalMs;
    this.slots.add(this.dueAt, this);
  }

  private unschedule(): void {
    if (this.dueAt === undefined) return;
    this.slots.remove(this.dueAt, this);
    this.dueAt = undefined;
  }

  private round(): Promise<void> {
    const inFlight = this.probes!.run().then(this.roundDone, this.roundFailed);
    this.inFlight = inFlight;
    return inFlight;
  }

  private recordRound(run: ServiceProbeRun): void {
    this.deps.onRound(this, run, this.roundLateMs);
  }

  // Schedules the next slot before listeners run, as the round's own promise settling did before: a listener that
  // throws must not stop the schedule.
  private finishRound(): void {
    this.inFlight = undefined;
    if (this.running) this.schedule(this.nextSlot());
  }

  // Drift-free: slots are epoch + k * interval; a slot already passed is skipped, not run late. A timer may fire a
  // little before its slot by Date.now() (the loop's clock is cached), and a fast round can end before the slot time
  // too: the next slot is always after the one just run, so no slot runs twice.
  private nextSlot(): number {
    const fromNow = Math.floor((this.clock.now() - this.epoch) / this.config.intervalMs) + 1;
    return Math.max(fromNow, this.lastSlot + 1);
  }
}
