// Wires the real routing writer: the reconciler over the `ip` backend and the ownership file in state_dir.
import type { Logger } from '../log.js';
import type { RoutingFactory } from './agent.js';
import { Reconciler } from '../routing/reconciler.js';
import { IpBackend } from '../routing/ip-backend.js';
import { FileOwnershipStore } from '../routing/ownership.js';

export function createRouting(log: Logger): RoutingFactory {
  return ({ desired, onReport, config }) =>
    new Reconciler({
      backend: new IpBackend({ routeProtocol: config.routeProtocol, dummyInterfaces: [config.drainInterface] }),
      ownership: new FileOwnershipStore(config.stateDir),
      desired,
      log,
      driftIntervalMs: config.reconcileIntervalMs,
      onReport,
    });
}
