// The per-service health state machine: pure, so every transition is testable from a table.

export type Phase = 'init' | 'rising' | 'up' | 'falling' | 'down';

export interface HealthState {
  phase: Phase;
  successes: number; // consecutive
  failures: number; // consecutive
}

export interface Thresholds {
  rise: number;
  fall: number;
}

// Fail closed: nothing is announced until `rise` consecutive successes.
export const INITIAL_STATE: HealthState = Object.freeze({ phase: 'init', successes: 0, failures: 0 });

export function step(state: HealthState, ok: boolean, thresholds: Thresholds): HealthState {
  const announced = isAnnounced(state.phase);
  if (ok) {
    const successes = state.successes + 1;
    if (announced) return { phase: 'up', successes, failures: 0 };
    return { phase: successes >= thresholds.rise ? 'up' : 'rising', successes, failures: 0 };
  }
  const failures = state.failures + 1;
  if (!announced) return { phase: 'down', successes: 0, failures };
  return { phase: failures >= thresholds.fall ? 'down' : 'falling', successes: 0, failures };
}

// Falling still announces: a single failure must not withdraw when fall > 1.
export function isAnnounced(phase: Phase): boolean {
  return phase === 'up' || phase === 'falling';
}

// Phases in which a faster probe interval settles the question sooner.
export function isTransient(phase: Phase): boolean {
  return phase === 'rising' || phase === 'falling';
}
