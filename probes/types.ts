// The one interface every probe implements, built-in or user-written.
import type { z } from 'zod';
import type { Logger } from '../src/log.js';

export interface ProbeResult {
  ok: boolean;
  durationMs: number;
  // Why it failed (or a short note on success); never contains secrets.
  reason?: string;
}

export interface ProbeContext {
  // Aborted when the probe's timeout expires or the agent stops probing; probes must honour it.
  signal: AbortSignal;
  timeoutMs: number;
  log: Logger;
  service: { name: string; addresses: readonly string[] };
}

// What a probe's run() returns; the runner adds durationMs.
export type ProbeOutcome = { ok: true; reason?: string } | { ok: false; reason: string };

export interface ProbeDefinition<Schema extends z.ZodType = z.ZodType> {
  type: string;
  aliases?: readonly string[];
  summary: string;
  // Options without `type` and `timeout`, which every probe accepts and the registry adds.
  options: Schema;
  run(options: z.output<Schema>, ctx: ProbeContext): Promise<ProbeOutcome>;
}

// Helps a probe file keep its option types without repeating them.
export function defineProbe<Schema extends z.ZodType>(definition: ProbeDefinition<Schema>): ProbeDefinition<Schema> {
  return definition;
}
