// Pure: the degraded half of a service's health. Probes with `effect: degrade` never withdraw; their combined result
// moves this small machine, with the service's rise/fall, and a degraded service is advertised with its degraded metric.

export interface DegradeState {
  degraded: boolean;
  successes: number; // consecutive passing rounds of the degrade probes
  failures: number; // consecutive failing rounds
  reason: string; // why it is (or last was) degraded
}

// Fail closed, like the health: a fresh service counts as degraded until `rise` passing rounds, so it never comes up
// advertised at its good metric on the strength of the down probes alone.
export const INITIAL_DEGRADE: DegradeState = Object.freeze({ degraded: true, successes: 0, failures: 0, reason: 'not yet probed' });

export function stepDegrade(state: DegradeState, ok: boolean, reason: string, thresholds: { rise: number; fall: number }): DegradeState {
  if (ok) {
    const successes = state.successes + 1;
    const degraded = state.degraded && successes < thresholds.rise;
    return { degraded, successes, failures: 0, reason: state.reason };
  }
  const failures = state.failures + 1;
  const degraded = state.degraded || failures >= thresholds.fall;
  return { degraded, successes: 0, failures, reason };
}
