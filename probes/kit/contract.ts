// The one interface every probe implements, built-in or user-written: run(options, ctx) -> outcome.
import type { z } from 'zod';

// The logger a probe gets: the part of pino's Logger probes use, so the kit needs nothing from the agent's code.
export interface ProbeLogger {
  debug(details: object, message?: string): void;
  info(details: object, message?: string): void;
  warn(details: object, message?: string): void;
  error(details: object, message?: string): void;
}

export interface ProbeResult {
  ok: boolean;
  durationMs: number;
  // Why it failed (or a short note on success); never contains secrets.
  reason?: string;
}

export interface ProbeContext {
  // Aborted with a ProbeAbort (abort.ts) when the probe's timeout expires, the agent stops probing, or the run is over
  // while something still listens; probes must honour it.
  signal: AbortSignal;
  timeoutMs: number;
  log: ProbeLogger;
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
