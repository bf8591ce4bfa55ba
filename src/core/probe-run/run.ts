// Runs one probe so that it never throws and never outlives its timeout. The probe gets one AbortSignal (ctx.signal),
// aborted with a typed reason (probes/kit/abort.ts): its timeout, its service stopping (the caller's signal, or the
// CancelGroup it runs in), or the run being over.
import type { ProbeContext, ProbeDefinition, ProbeOutcome, ProbeResult } from '../../../probes/kit/index.js';
import { abortKind, FINISHED, messageOf, TIMED_OUT } from '../../../probes/kit/index.js';
import { getEventListeners } from 'node:events';
import { systemClock, type Clock, type Timer } from '../../clock.js';

export interface RunProbeInput {
  definition: ProbeDefinition;
  options: unknown;
  timeoutMs: number;
  // The caller's cancel (a service stopping): aborts the probe's signal with the same reason.
  signal?: AbortSignal;
  log: ProbeContext['log'];
  service: ProbeContext['service'];
  // The runner's: a controller a finished run left unaborted and unlistened, for the next run of this input.
  spare?: AbortController;
}

const CANCELLED: ProbeResult = Object.freeze({ ok: false, durationMs: 0, reason: 'cancelled' });

// Runs probes on one clock: its timers for the timeouts, its monotonic time for the durations.
export class ProbeRunner {
  constructor(readonly clock: Clock = systemClock) {}

  // `group`: the owner's runs in flight, cancelled together (a service's PreparedProbes); input.signal is for one-off runs.
  run(input: RunProbeInput, group?: CancelGroup): Promise<ProbeResult> {
    if (input.signal?.aborted || group?.cancelled) return Promise.resolve(CANCELLED);
    return new Promise<ProbeResult>((resolve) => new ProbeRun(this.clock, input, group, resolve));
  }
}

const systemRunner = new ProbeRunner();

// One run on the system clock (the CLI's `healthcast probe`, tests).
export function runProbe(input: RunProbeInput): Promise<ProbeResult> {
  return systemRunner.run(input);
}

interface Cancellable {
  cancel(reason: unknown): void;
}

// The runs an owner has in flight, cancelled together when its signal aborts. One listener on the owner's signal for
// its whole life, not an add and a remove every run: ~3 µs a run (PreparedProbes.run micro-benchmark, node 20, a probe
// that reads ctx.signal: 16.2-17.7 -> 13.4-14.3 µs CPU a run).
export class CancelGroup {
  private readonly runs = new Set<Cancellable>();

  constructor(private readonly signal: AbortSignal) {
    if (!signal.aborted) signal.addEventListener('abort', this, { once: true });
  }

  get cancelled(): boolean {
    return this.signal.aborted;
  }

  add(run: Cancellable): void {
    this.runs.add(run);
  }

  delete(run: Cancellable): void {
    this.runs.delete(run);
  }

  // The owner's signal aborted: every run in flight hears the same reason (a run that settles leaves the set).
  handleEvent(): void {
    for (const run of this.runs) run.cancel(this.signal.reason);
  }
}

// What a probe gets as ctx. Its AbortController is made on the first read of ctx.signal: a probe that never reads it
// costs none (same micro-benchmark: 13.4-14.3 -> 2.1-2.6 µs a run), and a stop before the read hands out a signal
// already aborted with the same reason.
class RunContext implements ProbeContext {
  private controller: AbortController | undefined;
  stopped = false;
  reason: unknown;

  readonly timeoutMs: number;
  readonly log: ProbeContext['log'];
  readonly service: ProbeContext['service'];

  constructor(private readonly input: RunProbeInput) {
    this.timeoutMs = input.timeoutMs;
    this.log = input.log;
    this.service = input.service;
  }

  get signal(): AbortSignal {
    if (!this.controller) {
      // The input's spare if it has one: making an AbortController is most of a run's CPU for a probe that finishes
      // in time (same micro-benchmark, a probe reading ctx.signal: 16.7 -> 4.0 µs a run).
      this.controller = this.input.spare ?? new AbortController();
      this.input.spare = undefined;
      if (this.stopped) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  // The first reason wins, as with AbortController.abort.
  abort(reason: unknown): void {
    if (this.stopped) return;
    this.stopped = true;
    this.reason = reason;
    this.controller?.abort(reason);
  }

  // The run is over: whatever the probe still holds (sockets, children, a fetch) is told to let go. Only when something
  // still listens: an abort makes and dispatches an Event, and probes that tidied up (every built-in one) would pay it
  // for nothing. In bench/probe-cost's CPU profile abort + Event + dispatch were ~6 % of the main thread's busy
  // samples; skipping them saved ~6.6 µs a run in a micro-benchmark (node 20, this machine under load), ~0.7 % of a
  // core at 1,000 runs/s.
  // A signal neither aborted nor listened to is as good as new: the input keeps it for its next run.
  finish(): void {
    const signal = this.controller?.signal;
    if (!signal || signal.aborted) return;
    if (getEventListeners(signal, 'abort').length > 0) this.abort(FINISHED);
    else this.input.spare = this.controller;
  }
}

// One run as one object: it is the caller's abort listener itself (handleEvent), so a run makes no closure for it.
class ProbeRun {
  private readonly started: number;
  private readonly ctx: RunContext;
  private readonly timer: Timer;
  private settled = false;

  constructor(
    private readonly clock: Clock,
    private readonly input: RunProbeInput,
    private readonly group: CancelGroup | undefined,
    private readonly resolve: (result: ProbeResult) => void,
  ) {
    this.started = clock.monotonic();
    this.timer = clock.setTimeout(() => this.expire(), input.timeoutMs);
    this.ctx = new RunContext(input);
    group?.add(this);
    input.signal?.addEventListener('abort', this);
    try {
      input.definition.run(input.options, this.ctx).then(this.settle, this.failed);
    } catch (error) {
      this.failed(error);
    }
  }

  // The caller's signal aborted: the probe hears the same reason.
  handleEvent(): void {
    this.cancel(this.input.signal!.reason);
  }

  cancel(reason: unknown): void {
    this.ctx.abort(reason);
  }

  readonly settle = (outcome: ProbeOutcome | undefined): void => {
    if (this.settled) return;
    if (!outcome) return this.settle({ ok: false, reason: 'probe error: returned no result' });
    this.settled = true;
    this.clock.clearTimeout(this.timer);
    this.group?.delete(this);
    this.input.signal?.removeEventListener('abort', this);
    this.ctx.finish();
    const durationMs = Math.round((this.clock.monotonic() - this.started) * 100) / 100;
    this.resolve(outcome.reason === undefined ? { ok: outcome.ok, durationMs } : { ok: outcome.ok, durationMs, reason: outcome.reason });
  };

  readonly failed = (error: unknown): void => {
    const ctx = this.ctx;
    this.settle({ ok: false, reason: ctx.stopped ? this.stoppedReason(ctx.reason) : `probe error: ${messageOf(error)}` });
  };

  private expire(): void {
    if (this.settled) return;
    this.ctx.abort(TIMED_OUT);
    // One turn of the loop lets a probe that reacts to the abort at once say where it was stuck.
    setImmediate(() => this.settle({ ok: false, reason: this.stoppedReason(TIMED_OUT) }));
  }

  private stoppedReason(reason: unknown): string {
    return abortKind(reason) === 'timeout' ? `timed out after ${this.input.timeoutMs}ms` : 'cancelled';
  }
}
