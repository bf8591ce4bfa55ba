// Probes one service on its interval and feeds the state machine; never touches routing itself.
import type { ServiceConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import { INITIAL_STATE, step, type HealthState } from './state-machine.js';
import { probeService, type ServiceProbeRun } from './probe-service.js';
import type { CombinedResult } from './combine.js';

export interface LastResult extends CombinedResult {
  at: number; // epoch ms when the probe finished
}

export interface ServiceRunnerDeps {
  log: Logger;
  // Called after every probe round; `previous` and `next` differ on a transition.
  onRound(runner: ServiceRunner, previous: HealthState, next: HealthState): void;
  // Every probe's own result of a round (metrics), before onRound.
  onProbes?(runner: ServiceRunner, run: ServiceProbeRun): void;
  random?: () => number;
}

export class ServiceRunner {
  state: HealthState = INITIAL_STATE;
  last: LastResult | undefined;
  private timer: NodeJS.Timeout | undefined;
  private controller: AbortController | undefined;
  private inFlight: Promise<void> | undefined;
  private running = false;
  private epoch = 0;

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
    this.controller = new AbortController();
    const offset = options.splay === false ? 0 : Math.floor((this.deps.random ?? Math.random)() * this.config.intervalMs);
    this.epoch = Date.now() + offset;
    this.schedule(offset);
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.controller?.abort(new Error('service stopped'));
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
    clearTimeout(this.timer);
    await this.round();
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => void this.round(), Math.max(0, delayMs));
  }

  private round(): Promise<void> {
    const signal = this.controller?.signal;
    const work = (async () => {
      const run = await probeService(this.config, { log: this.deps.log, ...(signal ? { signal } : {}) });
      if (!this.running || signal?.aborted) return;
      const { combined } = run;
      this.deps.onProbes?.(this, run);
      this.last = { ...combined, at: Date.now() };
      const previous = this.state;
      this.state = step(previous, combined.ok, this.config);
      this.deps.onRound(this, previous, this.state);
    })();
    this.inFlight = work.finally(() => {
      this.inFlight = undefined;
      if (this.running) this.schedule(this.delayToNextSlot());
    });
    return this.inFlight;
  }

  // Drift-free: slots are epoch + k * interval; a slot already passed is skipped, not run late.
  private delayToNextSlot(): number {
    const interval = this.config.intervalMs;
    const now = Date.now();
    const slots = Math.floor((now - this.epoch) / interval) + 1;
    return this.epoch + slots * interval - now;
  }
}
