// Pure: flap damping, the BGP route-flap-damping model (RFC 2439). Every withdrawal by health adds a fixed penalty that
// decays exponentially with `halfLifeMs`; once it reaches `suppress` the service is not re-announced until it has
// decayed below `reuse`. The penalty is capped so that no suppression lasts longer than `maxSuppressMs`.
import type { DampingConfig } from '../config/types.js';

export const FLAP_PENALTY = 1000;

export interface DampingState {
  penalty: number; // as of `at`
  at: number; // epoch ms
  suppressedUntil: number | undefined; // epoch ms when the penalty will have decayed below `reuse`
}

export const NO_PENALTY: DampingState = Object.freeze({ penalty: 0, at: 0, suppressedUntil: undefined });

export function decayed(state: DampingState, config: DampingConfig, now: number): number {
  if (state.penalty === 0) return 0;
  return state.penalty * Math.pow(2, -Math.max(0, now - state.at) / config.halfLifeMs);
}

// The penalty above which a suppression would outlast max_suppress.
export function ceiling(config: DampingConfig): number {
  return config.reuse * Math.pow(2, config.maxSuppressMs / config.halfLifeMs);
}

// When a penalty of `penalty` at `now` decays below `reuse`.
export function reuseAt(penalty: number, config: DampingConfig, now: number): number {
  return now + Math.ceil(config.halfLifeMs * Math.log2(penalty / config.reuse));
}

// A withdrawal by health (a flap): add the penalty; suppress once it reaches `suppress`.
export function flap(state: DampingState, config: DampingConfig, now: number): DampingState {
  const penalty = Math.min(decayed(state, config, now) + FLAP_PENALTY, ceiling(config));
  const suppressed = state.suppressedUntil !== undefined || penalty >= config.suppress;
  return { penalty, at: now, suppressedUntil: suppressed ? reuseAt(penalty, config, now) : undefined };
}

// Lifts a suppression whose time has come; otherwise the same state.
export function release(state: DampingState, now: number): DampingState {
  if (state.suppressedUntil === undefined || now < state.suppressedUntil) return state;
  return { ...state, suppressedUntil: undefined };
}

export function isSuppressed(state: DampingState | undefined, now: number): boolean {
  return state?.suppressedUntil !== undefined && now < state.suppressedUntil;
}
