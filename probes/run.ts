// Runs one probe so that it never throws and never outlives its timeout.
import type { ProbeContext, ProbeDefinition, ProbeOutcome, ProbeResult } from './types.js';
import { Cancellation, FINISHED_REASON, isTimeout, TIMEOUT_REASON, type CancelHook, type CancellableContext } from './cancel.js';
import { messageOf } from '../src/errors.js';
import { joinDeadline, type DeadlineGroup, type Expirable } from './deadlines.js';

export interface RunProbeInput {
  definition: ProbeDefinition;
  options: unknown;
  timeoutMs: number;
  signal?: AbortSignal;
  // A cheaper parent than `signal` (no listener on an EventTarget per run), for callers that run probes all the time.
  cancel?: CancelHook;
  log: ProbeContext['log'];
  service: ProbeContext['service'];
}

const CANCELLED: ProbeResult = Object.freeze({ ok: false, durationMs: 0, reason: 'cancelled' });

// One cancellation per run and a timer shared with the runs started with it (deadlines.ts); the probe's context gets
// a real AbortSignal only if it reads ctx.signal.
export function runProbe(input: RunProbeInput): Promise<ProbeResult> {
  if (input.signal?.aborted || input.cancel?.cancelled) return Promise.resolve(CANCELLED);
  return new Promise<ProbeResult>((resolve) => new ProbeRun(input, resolve));
}

// One run as one object: its methods are shared by every run, where closures per run (settle, the timer's callback,
// the parent's listener and its removal) were each made and compiled for every one of 1,000 runs a second.
class ProbeRun implements Expirable {
  private readonly started = performance.now();
  private readonly cancellation = new Cancellation();
  private readonly deadline: DeadlineGroup;
  private readonly onParentAbort: (() => void) | undefined;
  private settled = false;

  constructor(
    private readonly input: RunProbeInput,
    private readonly resolve: (result: ProbeResult) => void,
  ) {
    this.deadline = joinDeadline(input.timeoutMs, this, this.started);
    const parent = input.signal;
    if (parent) {
      this.onParentAbort = () => this.cancellation.cancel(parent.reason);
      parent.addEventListener('abort', this.onParentAbort, { once: true });
    }
    input.cancel?.attach(this.cancellation);
    try {
      input.definition.run(input.options, new RunContext(this.cancellation, input)).then(this.settle, this.failed);
    } catch (error) {
      this.failed(error);
    }
  }

  readonly settle = (outcome: ProbeOutcome | undefined): void => {
    if (this.settled) return;
    if (!outcome) return this.settle({ ok: false, reason: 'probe error: returned no result' });
    this.settled = true;
    this.deadline.leave();
    if (this.onParentAbort) this.input.signal?.removeEventListener('abort', this.onParentAbort);
    this.input.cancel?.detach(this.cancellation);
    // Whatever the probe still holds (sockets, children) is told to let go.
    this.cancellation.cancel(FINISHED_REASON);
    const durationMs = Math.round((performance.now() - this.started) * 100) / 100;
    this.resolve(outcome.reason === undefined ? { ok: outcome.ok, durationMs } : { ok: outcome.ok, durationMs, reason: outcome.reason });
  };

  readonly failed = (error: unknown): void => {
    const { cancellation } = this;
    this.settle({ ok: false, reason: cancellation.cancelled ? cancelledReason(cancellation.reason, this.input.timeoutMs) : `probe error: ${messageOf(error)}` });
  };

  expire(): void {
    if (this.settled) return;
    this.cancellation.cancel(TIMEOUT_REASON);
    // One turn of the loop lets a probe that reacts to the cancellation at once say where it was stuck.
    setImmediate(settleTimedOut, this);
  }

  settleTimedOut(): void {
    this.settle({ ok: false, reason: `timed out after ${this.input.timeoutMs}ms` });
  }
}

function settleTimedOut(run: ProbeRun): void {
  run.settleTimedOut();
}

// A class, not an object literal with a getter: a literal's fresh getter closure gives every run its own hidden class
// (allocated in old space), which at 1,000 runs a second kept ~1 MB a second of garbage for the major GC.
class RunContext implements CancellableContext {
  readonly timeoutMs: number;
  readonly log: ProbeContext['log'];
  readonly service: ProbeContext['service'];

  constructor(
    readonly cancellation: Cancellation,
    input: RunProbeInput,
  ) {
    this.timeoutMs = input.timeoutMs;
    this.log = input.log;
    this.service = input.service;
  }

  get signal(): AbortSignal {
    return this.cancellation.signal;
  }
}

function cancelledReason(reason: unknown, timeoutMs: number): string {
  return isTimeout(reason) ? `timed out after ${timeoutMs}ms` : 'cancelled';
}
