// The per-service health state machine: pure, so every transition is testable from a table.

export type Phase = 'init' | 'rising' | 'up' | 'falling' | 'down';

export interface HealthState {
  phase: Phase;
  successes: number; // consecutive
  failures: number; // consecutive
  withdrawnAt?: number; // when health last withdrew the service (epoch ms), for the hold-down
}

export interface Thresholds {
  rise: number;
  fall: number;
  holdDownMs?: number; // minimum time from a withdrawal to the next announce
}

// Fail closed: nothing is announced until `rise` consecutive successes.
export const INITIAL_STATE: HealthState = Object.freeze({ phase: 'init', successes: 0, failures: 0 });

export function step(state: HealthState, ok: boolean, thresholds: Thresholds, now = Date.now()): HealthState {
  const announced = isAnnounced(state.phase);
  const held = state.withdrawnAt === undefined ? {} : { withdrawnAt: state.withdrawnAt };
  if (ok) {
    const successes = state.successes + 1;
    if (announced) return { phase: 'up', successes, failures: 0 };
    const risen = successes >= thresholds.rise && holdDownRemaining(state, thresholds, now) === 0;
    return risen ? { phase: 'up', successes, failures: 0 } : { phase: 'rising', successes, failures: 0, ...held };
  }
  const failures = state.failures + 1;
  if (!announced) return { phase: 'down', successes: 0, failures, ...held };
  if (failures < thresholds.fall) return { phase: 'falling', successes: 0, failures };
  return { phase: 'down', successes: 0, failures, withdrawnAt: now };
}

// How long the hold-down still keeps a risen service from being announced.
export function holdDownRemaining(state: HealthState, thresholds: Thresholds, now = Date.now()): number {
  if (state.withdrawnAt === undefined || !thresholds.holdDownMs) return 0;
  return Math.max(0, state.withdrawnAt + thresholds.holdDownMs - now);
}

// Falling still announces: a single failure must not withdraw when fall > 1.
export function isAnnounced(phase: Phase): boolean {
  return phase === 'up' || phase === 'falling';
}

// Phases in which a faster probe interval settles the question sooner.
export function isTransient(phase: Phase): boolean {
  return phase === 'rising' || phase === 'falling';
}
