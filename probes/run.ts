// Runs one probe so that it never throws and never outlives its timeout.
import type { ProbeContext, ProbeDefinition, ProbeResult } from './types.js';
import { messageOf } from '../src/errors.js';

export interface RunProbeInput {
  definition: ProbeDefinition;
  options: unknown;
  timeoutMs: number;
  signal?: AbortSignal;
  log: ProbeContext['log'];
  service: ProbeContext['service'];
}

export async function runProbe(input: RunProbeInput): Promise<ProbeResult> {
  const started = performance.now();
  const controller = new AbortController();
  const onParentAbort = () => controller.abort(input.signal?.reason);
  input.signal?.addEventListener('abort', onParentAbort, { once: true });
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<{ ok: false; reason: string }>((resolve) => {
    timer = setTimeout(() => {
      controller.abort(new Error('timeout'));
      // One turn of the loop lets a probe that reacts to the abort at once say where it was stuck.
      setImmediate(() => resolve({ ok: false, reason: `timed out after ${input.timeoutMs}ms` }));
    }, input.timeoutMs);
  });
  try {
    if (input.signal?.aborted) return { ok: false, durationMs: 0, reason: 'cancelled' };
    const attempt = input.definition
      .run(input.options, { signal: controller.signal, timeoutMs: input.timeoutMs, log: input.log, service: input.service })
      .catch((error: unknown) => ({ ok: false as const, reason: controller.signal.aborted ? abortReason(controller.signal, input.timeoutMs) : `probe error: ${messageOf(error)}` }));
    const outcome = await Promise.race([attempt, deadline]);
    const durationMs = Math.round((performance.now() - started) * 100) / 100;
    return outcome.reason === undefined ? { ok: outcome.ok, durationMs } : { ok: outcome.ok, durationMs, reason: outcome.reason };
  } finally {
    clearTimeout(timer);
    input.signal?.removeEventListener('abort', onParentAbort);
    // Whatever the probe still holds (sockets, children) is told to let go.
    if (!controller.signal.aborted) controller.abort(new Error('probe finished'));
  }
}

function abortReason(signal: AbortSignal, timeoutMs: number): string {
  const reason = signal.reason;
  if (reason instanceof Error && reason.message === 'timeout') return `timed out after ${timeoutMs}ms`;
  return 'cancelled';
}
