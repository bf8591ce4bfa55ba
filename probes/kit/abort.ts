// Why a probe's signal was aborted, as a type rather than a message to compare.
export type AbortKind = 'timeout' | 'cancelled' | 'finished';

// The reason the runner aborts ctx.signal with: its timeout, the agent cancelling (a service stopped), or the run being
// over (whatever the probe still holds lets go).
export class ProbeAbort extends Error {
  constructor(
    readonly kind: AbortKind,
    message: string = kind,
  ) {
    super(message);
    this.name = 'ProbeAbort';
  }
}

// Made once: an Error captures a stack trace when built (~2.6 µs on this machine, node 20), and the runner aborts
// every run with one of these.
export const TIMED_OUT = new ProbeAbort('timeout');
export const FINISHED = new ProbeAbort('finished', 'probe finished');

// The kind of an abort reason: a ProbeAbort says it; AbortSignal.timeout()'s TimeoutError is a timeout; anything else
// (a plain controller.abort()) is a cancel.
export function abortKind(reason: unknown): AbortKind {
  if (reason instanceof ProbeAbort) return reason.kind;
  if (reason instanceof Error && reason.name === 'TimeoutError') return 'timeout';
  return 'cancelled';
}

export function isTimeout(reason: unknown): boolean {
  return abortKind(reason) === 'timeout';
}

// How a probe stopped by its signal says so: "timed out after 500ms" or "cancelled".
export function stoppedText(signal: AbortSignal, timeoutMs: number): string {
  return isTimeout(signal.reason) ? `timed out after ${timeoutMs}ms` : 'cancelled';
}
