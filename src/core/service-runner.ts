// Probes one service on its interval and feeds the state machine; never touches routing itself.
import type { ServiceConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import { INITIAL_STATE, step, type HealthState } from './state-machine.js';
import { PreparedProbes, type ServiceProbeRun } from './probe-service.js';
import type { CombinedResult } from './combine.js';
import { ProbeAbort } from '../../probes/kit/index.js';
import { messageOf } from '../errors.js';

export interface LastResult extends CombinedResult {
  at: number; // epoch ms when the probe finished
  lateMs?: number; // how long after its slot a scheduled round started (absent for check-now rounds)
}

export interface ServiceRunnerDeps {
  log: Logger;
  // Called after every probe round; `previous` and `next` differ on a transition.
  onRound(runner: ServiceRunner, previous: HealthState, next: HealthState): void;
  // Every probe's own result of a round (metrics), before onRound; lateMs: how long after its slot a scheduled round
  // started (undefined for check-now), where an agent that falls behind its schedule shows first.
  onProbes?(runner: ServiceRunner, run: ServiceProbeRun, lateMs: number | undefined): void;
  random?: () => number;
}

// Splay offsets are multiples of this, from a start on this grid: services whose slots fall in the same step share one
// timer and wake the agent once (1,000 services every 1 s: 100 wake-ups a second for their rounds, not 1,000).
export const SLOT_GRID_MS = 10;

// One timer per distinct due time, shared by every runner due then.
class SlotTimers {
  private readonly due = new Map<number, Set<ServiceRunner>>();
  private readonly timers = new Map<number, NodeJS.Timeout>();

  add(at: number, runner: ServiceRunner): void {
    let runners = this.due.get(at);
    if (!runners) {
      runners = new Set();
      this.due.set(at, runners);
      this.timers.set(at, setTimeout(() => this.fire(at), Math.max(0, at - Date.now())));
    }
    runners.add(runner);
  }

  remove(at: number, runner: ServiceRunner): void {
    const runners = this.due.get(at);
    if (!runners?.delete(runner) || runners.size > 0) return;
    this.due.delete(at);
    clearTimeout(this.timers.get(at));
    this.timers.delete(at);
  }

  private fire(at: number): void {
    const runners = this.due.get(at);
    this.due.delete(at);
    this.timers.delete(at);
    for (const runner of runners ?? []) runner.slotDue();
  }
}

const slotTimers = new SlotTimers();

export class ServiceRunner {
  state: HealthState = INITIAL_STATE;
  last: LastResult | undefined;
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

  constructor(
    readonly config: ServiceConfig,
    private readonly deps: ServiceRunnerDeps,
  ) {}

  get name(): string {
    return this.config.name;
  }

  // Starts afresh (fail closed); a random splay spreads services over the first interval.
  start(options: { splay?: boolean } = {}): void {
    if (this.running) return;
    this.running = true;
    this.state = INITIAL_STATE;
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
    if (options.splay === false) this.epoch = Date.now();
    else this.epoch = Math.ceil(Date.now() / SLOT_GRID_MS) * SLOT_GRID_MS + Math.floor(((this.deps.random ?? Math.random)() * interval) / SLOT_GRID_MS) * SLOT_GRID_MS;
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

  // Called by the shared timer of the slot this runner is scheduled in.
  slotDue(): void {
    const dueAt = this.dueAt!;
    this.dueAt = undefined;
    this.lastSlot = this.slot;
    // A shared timer can fire a little before its slot by Date.now() (the loop's clock is cached): that is on time.
    this.roundLateMs = Math.max(0, Date.now() - dueAt);
    void this.round();
  }

  private schedule(slot: number): void {
    this.unschedule();
    this.slot = slot;
    this.dueAt = this.epoch + slot * this.config.intervalMs;
    slotTimers.add(this.dueAt, this);
  }

  private unschedule(): void {
    if (this.dueAt === undefined) return;
    slotTimers.remove(this.dueAt, this);
    this.dueAt = undefined;
  }

  private round(): Promise<void> {
    const inFlight = this.probes!.run().then(this.roundDone, this.roundFailed);
    this.inFlight = inFlight;
    return inFlight;
  }

  private recordRound(run: ServiceProbeRun): void {
    const { combined } = run;
    this.deps.onProbes?.(this, run, this.roundLateMs);
    this.last = { ok: combined.ok, reason: combined.reason, durationMs: combined.durationMs, at: Date.now(), lateMs: this.roundLateMs };
    const previous = this.state;
    this.state = step(previous, combined.ok, this.config);
    this.deps.onRound(this, previous, this.state);
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
    const fromNow = Math.floor((Date.now() - this.epoch) / this.config.intervalMs) + 1;
    return Math.max(fromNow, this.lastSlot + 1);
  }
}
