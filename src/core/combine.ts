// Folds the results of a service's probes into the one result the state machine sees.
import type { Requirement } from '../config/types.js';
import type { ProbeResult } from '../../probes/types.js';

export interface NamedResult {
  label: string; // e.g. "dns#0"
  result: ProbeResult;
}

export interface CombinedResult {
  ok: boolean;
  reason: string;
  durationMs: number;
}

export function needed(requirement: Requirement, total: number): number {
  if (requirement === 'all') return total;
  if (requirement === 'any') return Math.min(1, total);
  return requirement.at_least;
}

export function combine(results: readonly NamedResult[], requirement: Requirement): CombinedResult {
  const passed = results.filter((item) => item.result.ok).length;
  const failed = results.filter((item) => !item.result.ok);
  const required = needed(requirement, results.length);
  const ok = passed >= required;
  const durationMs = results.reduce((max, item) => Math.max(max, item.result.durationMs), 0);
  const failures = failed.map((item) => `${item.label}: ${item.result.reason ?? 'failed'}`).join('; ');
  if (ok) return { ok, durationMs, reason: failed.length === 0 ? 'all probes passed' : `${passed}/${results.length} passed (need ${required}); ${failures}` };
  return { ok, durationMs, reason: results.length === 1 ? failures : `${passed}/${results.length} passed (need ${required}); ${failures}` };
}
