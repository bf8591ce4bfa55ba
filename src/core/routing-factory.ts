// Wires the real routing writer: the reconciler over the `ip` backend and the ownership file in state_dir.
import type { Logger } from '../log.js';
import type { RoutingFactory } from './agent.js';

export function createRouting(_log: Logger): RoutingFactory {
  throw new Error('not wired yet');
}
