// Wires the real routing writer: the reconciler over the `ip` backend (plus FRR's bgpd through vtysh when a service
// announces with BGP) and the ownership file in state_dir.
import type { Logger } from '../log.js';
import type { PolicyFactory, RoutingFactory } from './agent.js';
import { DegradedLists, daemonTarget, vtyshTarget } from '../frr/degraded-lists.js';
import { createRouteResender } from '../frr/degraded-resend.js';
import type { FrrSection } from '../frr/schema.js';
import { Reconciler } from '../routing/reconciler.js';
import { IpBackend } from '../routing/ip-backend.js';
import { BgpBackend } from '../routing/bgp-backend.js';
import { CompositeBackend } from '../routing/composite-backend.js';
import fs from 'node:fs/promises';
import path from 'node:path';
import { FileOwnershipStore, OWNERSHIP_FILE } from '../routing/ownership.js';
import { DEFAULT_VTYSH_TIMEOUT_MS, vtyshFromConfig } from '../frr/vtysh.js';
import { createDaemonVty } from '../frr/vty-socket.js';
import { createVtyReader, daemonSocketsUsable, readerFromConfig } from '../frr/vty-reader.js';
import type { RoutingBackend } from '../routing/types.js';
import { usesBgp } from './announcement.js';
import { leaseTerms } from '../routing/lease.js';

export interface BackendSettings {
  routeProtocol: number;
  drainInterface: string;
  frr: Pick<FrrSection, 'vtysh' | 'vty_socket' | 'vtysh_timeout' | 'asn'>;
  // Only with BGP in use does every pass also ask bgpd (a vtysh process): hosts without BGP never pay for it.
  bgp: boolean;
  // The lease on added addresses, ms (0 or absent: none; `healthcast cleanup` adds nothing and passes none).
  leaseMs?: number;
  log?: Logger;
  // A verification found bgpd elsewhere than believed (bgp-backend.ts): the reconciler should run a pass.
  onBgpDrift?: () => void;
}

// Writes go to bgpd's own vty socket when the sockets are ours (vty-reader.ts says when).
function bgpdWriter(frr: BackendSettings['frr'], vtysh: ReturnType<typeof vtyshFromConfig>) {
  if (!daemonSocketsUsable(frr)) return undefined;
  return createDaemonVty({ daemon: 'bgpd', vtySocket: frr.vty_socket, timeoutMs: frr.vtysh_timeout ?? DEFAULT_VTYSH_TIMEOUT_MS, fallback: vtysh });
}

export function createBackend(settings: BackendSettings): RoutingBackend {
  const log = settings.log;
  const lease = leaseTerms(settings.leaseMs);
  const ip = new IpBackend({
    routeProtocol: settings.routeProtocol,
    dummyInterfaces: [settings.drainInterface],
    ...(lease ? { leaseSeconds: lease.lifetimeSeconds } : {}),
    ...(log ? { onSlowMove: (message: string) => log.warn(message) } : {}),
  });
  if (!settings.bgp) return ip;
  const vtysh = vtyshFromConfig(settings.frr);
  const writer = bgpdWriter(settings.frr, vtysh);
  const bgp = new BgpBackend({
    // Listings (`show bgp vrfs json`, bgpd's running-config) over bgpd's socket too.
    vtysh: { ...vtysh, ...readerFromConfig(settings.frr, vtysh) },
    ...(writer ? { writer } : {}),
    ...(settings.frr.asn ? { asn: settings.frr.asn } : {}),
    ...(settings.onBgpDrift ? { onDrift: settings.onBgpDrift } : {}),
  });
  return new CompositeBackend({ ip, bgp });
}

// True when the ownership record holds network statements: a restart must be able to remove them even when no
// service announces with BGP any more.
// Read without the store's side effects: a corrupt record must stay where it is for the reconciler's own recovery.
export async function recordHasBgp(stateDir: string): Promise<boolean> {
  try {
    const record = JSON.parse(await fs.readFile(path.join(stateDir, OWNERSHIP_FILE), 'utf8')) as { entries?: { kind?: unknown }[] };
    return Array.isArray(record.entries) && record.entries.some((entry) => entry?.kind === 'bgp');
  } catch {
    return false;
  }
}

export function createRouting(log: Logger, options: { bgp?: boolean } = {}): RoutingFactory {
  return ({ desired, onReport, config }) => {
    const reconciler: Reconciler = new Reconciler({
      backend: createBackend({
        routeProtocol: config.routeProtocol,
        drainInterface: config.drainInterface,
        frr: config.frr,
        bgp: options.bgp || usesBgp(config.services),
        leaseMs: config.leaseMs,
        log,
        onBgpDrift: () => void reconciler.kick(),
      }),
      ownership: new FileOwnershipStore(config.stateDir),
      desired,
      log,
      driftIntervalMs: config.reconcileIntervalMs,
      leaseMs: config.leaseMs,
      onReport,
    });
    return reconciler;
  };
}

export const POLICY_SYNC_MIN_MS = 10_000;

// The daemons whose route-maps may match the degraded lists, each read and written over its own vty socket when the
// sockets are ours (vty-reader.ts says when; otherwise vtysh does it all).
export const POLICY_DAEMONS = ['ospfd', 'ospf6d', 'bgpd'] as const;
export function policyDaemons(frr: Pick<FrrSection, 'vtysh' | 'vty_socket' | 'vtysh_timeout'>, vtysh: ReturnType<typeof vtyshFromConfig>) {
  if (!daemonSocketsUsable(frr)) return [];
  const timeoutMs = frr.vtysh_timeout ?? DEFAULT_VTYSH_TIMEOUT_MS;
  const reader = createVtyReader({ vtySocket: frr.vty_socket, timeoutMs, fallback: vtysh });
  return POLICY_DAEMONS.map((daemon) => daemonTarget(daemon, createDaemonVty({ daemon, vtySocket: frr.vty_socket, timeoutMs, fallback: vtysh }), reader));
}

// The degraded prefix-lists' writer, only when a service can be degraded: hosts without degrade probes never talk to
// FRR for it. (A reload that adds the first degrade probe takes effect at the next start.)
export function createPolicy(log: Logger): PolicyFactory {
  return ({ degraded, config }) => {
    if (!config.services.some((service) => service.degradedMetric !== undefined)) return undefined;
    // The full sync reads each daemon's `show running-config` (a few ms per socket, ~0.1-0.3 s through vtysh): not more
    // often than every 10 s, so a change of state rarely waits behind one (an FRR restart is repaired within that).
    const syncIntervalMs = Math.max(config.reconcileIntervalMs, POLICY_SYNC_MIN_MS);
    const vtysh = vtyshFromConfig(config.frr);
    // The IPv6 kernel routes of `announce: route` services, re-sent after a change so ospf6d applies it at once.
    const routed = config.services.some((service) => service.announce === 'route' && service.addresses.some((address) => address.includes(':')));
    const resend = routed ? createRouteResender({ routeProtocol: config.routeProtocol, timeoutMs: 5000 }) : undefined;
    return new DegradedLists({
      daemons: policyDaemons(config.frr, vtysh),
      fallback: vtyshTarget(vtysh),
      degraded,
      log,
      syncIntervalMs,
      ...(resend ? { resend } : {}),
    });
  };
}
