// Cancellation of one probe run without an AbortController per run: in Node 20 an AbortSignal costs microseconds to
// create and again to abort (an EventTarget and an Event each), a visible share of a core at 1,000 probes a second.
// Probes that read ctx.signal still get a real AbortSignal, made on first use and aborted with the same reason.
import type { ProbeContext } from './types.js';

// The reasons the runner cancels with; made once, because an Error captures a stack trace when built.
export const TIMEOUT_REASON: Error = new Error('timeout');
export const FINISHED_REASON: Error = new Error('probe finished');

export type CancelListener = (reason: unknown) => void;

// What a probe needs to stop waiting: whether and why it was cancelled, and a listener for when it is.
export interface CancelHook {
  readonly cancelled: boolean;
  readonly reason: unknown;
  // Calls listener once when cancelled (never if already cancelled: check `cancelled` first); returns its removal.
  onCancel(listener: CancelListener): () => void;
}

// The runner's side: cancel(reason) once, listeners told synchronously.
export class Cancellation implements CancelHook {
  private done = false;
  private why: unknown;
  // A Set: runs add and remove a listener each, and a removal must not allocate (Array.splice returns an array).
  private listeners: Set<CancelListener> | undefined;
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
    const listeners = (this.listeners ??= new Set());
    // The same listener function may be added twice; each addition is its own entry to remove.
    const entry: CancelListener = listeners.has(listener) ? (reason) => listener(reason) : listener;
    listeners.add(entry);
    return () => void listeners.delete(entry);
  }

  cancel(reason: unknown): void {
    if (this.done) return;
    this.done = true;
    this.why = reason;
    const listeners = this.listeners;
    this.listeners = undefined;
    if (listeners) for (const listener of listeners) listener(reason);
    this.controller?.abort(reason);
  }
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
}

// True when a cancel reason is the runner's timeout (or any Error saying "timeout", as AbortSignal users set).
export function isTimeout(reason: unknown): boolean {
  return reason === TIMEOUT_REASON || (reason instanceof Error && reason.message === 'timeout');
}
