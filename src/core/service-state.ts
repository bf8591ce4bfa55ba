// What an operator calls a service's state, derived purely from the agent mode, the drain record and the phase.
import { isAnnounced, type Phase } from './state-machine.js';

// up: announced (or should be); down: failing or not yet risen; unknown: no verdict yet; drained: withdrawn by an operator;
// paused/stopped: the whole agent is withdrawn (SIGTSTP / shutting down); degraded: announced with the degraded metric
// (a probe with effect: degrade fails); suppressed: healthy, but flap damping keeps it withdrawn.
export type ServiceState = 'up' | 'down' | 'unknown' | 'drained' | 'paused' | 'stopped' | 'degraded' | 'suppressed';

export function serviceState(input: {
  mode: 'created' | 'running' | 'paused' | 'stopped';
  drained: boolean;
  phase: Phase;
  degraded?: boolean;
  suppressed?: boolean;
}): ServiceState {
  if (input.mode === 'stopped') return 'stopped';
  if (input.drained) return 'drained';
  if (input.mode === 'paused') return 'paused';
  if (input.mode === 'created' || input.phase === 'init') return 'unknown';
  if (!isAnnounced(input.phase)) return 'down';
  if (input.suppressed) return 'suppressed';
  return input.degraded ? 'degraded' : 'up';
}

export type HookName = 'on_up' | 'on_down' | 'on_drain';

// Which hook a state change fires, if any. A service that never came up is not "going down", and pause/stop are the
// agent's own state, not the service's, so neither fires anything.
export function hookFor(from: ServiceState, to: ServiceState): HookName | undefined {
  if (from === to) return undefined;
  // Degraded is still announced: moving between up and degraded fires nothing.
  if (to === 'up' || to === 'degraded') return from === 'up' || from === 'degraded' ? undefined : 'on_up';
  if (to === 'down' && from === 'degraded') return 'on_down';
  if (to === 'drained') return 'on_drain';
  if (to === 'down' && (from === 'up' || from === 'drained')) return 'on_down';
  return undefined;
}
