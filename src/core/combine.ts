// Folds the results of a service's probes into the one result the state machine sees.
import type { Requirement } from '../config/types.js';
import type { ProbeResult } from '../../probes/kit/index.js';

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

export const ALL_PASSED = 'all probes passed';

// One pass over the results, building reason text only when a probe failed (it runs for every service every interval).
export function combine(results: readonly NamedResult[], requirement: Requirement): CombinedResult {
  let passed = 0;
  let durationMs = 0;
  for (const item of results) {
    if (item.result.ok) passed += 1;
    if (item.result.durationMs > durationMs) durationMs = item.result.durationMs;
  }
  const required = needed(requirement, results.length);
  const ok = passed >= required;
  if (passed === results.length && ok) return { ok, durationMs, reason: ALL_PASSED };
  const failures = results
    .filter((item) => !item.result.ok)
    .map((item) => `${item.label}: ${item.result.reason ?? 'failed'}`)
    .join('; ');
  if (ok || results.length !== 1) return { ok, durationMs, reason: `${passed}/${results.length} passed (need ${required}); ${failures}` };
  return { ok, durationMs, reason: failures };
}
