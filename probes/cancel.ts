// Cancellation of one probe run without an AbortController per run: in Node 20 an AbortSignal costs microseconds to
// create and again to abort (an EventTarget and an Event each), a visible share of a core at 1,000 probes a second.
// Probes that read ctx.signal still get a real AbortSignal, made on first use and aborted with the same reason.
import type { ProbeContext } from './types.js';

// The reasons the runner cancels with; made once, because an Error captures a stack trace when built.
export const TIMEOUT_REASON: Error = new Error('timeout');
export const FINISHED_REASON: Error = new Error('probe finished');

export type CancelListener = (reason: unknown) => void;

// An object told directly (its cancel method), so a run or a query needs no listener closure and removal closure.
export interface CancelTarget {
  cancel(reason: unknown): void;
}

// What a probe needs to stop waiting: whether and why it was cancelled, and a listener for when it is.
export interface CancelHook {
  readonly cancelled: boolean;
  readonly reason: unknown;
  // Calls listener once when cancelled (never if already cancelled: check `cancelled` first); returns its removal.
  onCancel(listener: CancelListener): () => void;
  // The same for an object: target.cancel(reason) once when cancelled, until detach(target).
  attach(target: CancelTarget): void;
  detach(target: CancelTarget): void;
}

type Entry = CancelListener | CancelTarget;

// The runner's side: cancel(reason) once, listeners told synchronously, in the order they were added.
export class Cancellation implements CancelHook, CancelTarget {
  private done = false;
  private why: unknown;
  // Nearly every cancellation has one listener at a time (a run's probe; a service's one round in flight): it sits in
  // `first`, with no Set to make, grow and rehash 1,000 times a second. `first` is always older than anything in `rest`.
  private first: Entry | undefined;
  private rest: Set<Entry> | undefined;
  private controller: AbortController | undefined;

  get cancelled(): boolean {
    return this.done;
  }

  get reason(): unknown {
    return this.why;
  }

  // A real AbortSignal for probes that want one (exec, http, radius, user probes), made on first use.
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.done) this.controller.abort(this.why);
    }
    return this.controller.signal;
  }

  onCancel(listener: CancelListener): () => void {
    if (this.done) return noop;
    // The same listener function may be added twice; each addition is its own entry to remove.
    const entry: CancelListener = listener === this.first || this.rest?.has(listener) ? (reason) => listener(reason) : listener;
    this.attach(entry);
    return () => this.detach(entry);
  }

  attach(entry: Entry): void {
    if (this.done) return;
    if (this.first === undefined && (this.rest === undefined || this.rest.size === 0)) this.first = entry;
    else (this.rest ??= new Set()).add(entry);
  }

  detach(entry: Entry): void {
    if (this.first === entry) this.first = undefined;
    else this.rest?.delete(entry);
  }

  cancel(reason: unknown): void {
    if (this.done) return;
    this.done = true;
    this.why = reason;
    const { first, rest } = this;
    this.first = undefined;
    this.rest = undefined;
    if (first !== undefined) tell(first, reason);
    if (rest) for (const entry of rest) tell(entry, reason);
    this.controller?.abort(reason);
  }
}

function tell(entry: Entry, reason: unknown): void {
  if (typeof entry === 'function') entry(reason);
  else entry.cancel(reason);
}

function noop(): void {}

// The context runProbe builds: ProbeContext plus the cheap hook, which built-in probes prefer over ctx.signal.
export interface CancellableContext extends ProbeContext {
  cancellation: CancelHook;
}

// The runner's hook when the probe runs under runProbe, else undefined (called directly, e.g. by a test).
export function cancellationOf(ctx: ProbeContext): CancelHook | undefined {
  return (ctx as Partial<CancellableContext>).cancellation;
}

// A hook over an AbortSignal, for probes called with a plain ProbeContext.
export function signalHook(signal: AbortSignal): CancelHook {
  return new SignalHook(signal);
}

class SignalHook implements CancelHook {
  private readonly attached = new Map<CancelTarget, () => void>();

  constructor(private readonly signal: AbortSignal) {}

  get cancelled(): boolean {
    return this.signal.aborted;
  }

  get reason(): unknown {
    return this.signal.reason as unknown;
  }

  onCancel(listener: CancelListener): () => void {
    const signal = this.signal;
    if (signal.aborted) return noop;
    const onAbort = () => listener(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    return () => signal.removeEventListener('abort', onAbort);
  }

  attach(target: CancelTarget): void {
    if (this.attached.has(target)) return;
    this.attached.set(target, this.onCancel((reason) => {
      this.attached.delete(target);
      target.cancel(reason);
    }));
  }

  detach(target: CancelTarget): void {
    this.attached.get(target)?.();
    this.attached.delete(target);
  }
}

// True when a cancel reason is the runner's timeout (or any Error saying "timeout", as AbortSignal users set).
export function isTimeout(reason: unknown): boolean {
  return reason === TIMEOUT_REASON || (reason instanceof Error && reason.message === 'timeout');
}
