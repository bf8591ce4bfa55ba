// The resolved configuration the agent runs on: defaults applied, durations in milliseconds.
import type { ProbeDefinition } from '../../probes/kit/index.js';
import type { FrrSection } from '../frr/schema.js';

export type Requirement = 'all' | 'any' | { at_least: number };

export interface ProbeConfig {
  type: string;
  timeoutMs: number;
  options: unknown;
  definition: ProbeDefinition;
  // down (default): a failure counts toward withdrawal; degrade: only toward the degraded state.
  effect?: ProbeEffect;
}

export type ProbeEffect = 'down' | 'degrade';

// Flap damping, all durations in ms (src/core/damping.ts).
export interface DampingConfig {
  halfLifeMs: number;
  suppress: number;
  reuse: number;
  maxSuppressMs: number;
}

export interface ServiceConfig {
  name: string;
  addresses: string[];
  announce: 'address' | 'route' | 'bgp';
  interface: string;
  intervalMs: number;
  timeoutMs: number;
  rise: number;
  fall: number;
  holdDownMs: number;
  drainMs: number;
  drainOnFailure: boolean;
  // keep_last: a failing service stays announced while no other router advertises it (src/fleet/keep-last.ts).
  keepLast: boolean;
  keepLastGuardMs: number;
  require: Requirement;
  probes: ProbeConfig[];
  hooks: ServiceHooks;
  // Unsolicited ARP/NA after an address is added; undefined when off.
  // routers: `l2_router`, told directly after the announcement.
  announceL2: { count: number; routers?: string[] } | undefined;
  // Probe interval while in transition (rising/falling); undefined: `intervalMs` throughout.
  fastIntervalMs?: number;
  // Routing policy: the metric advertised while up (undefined: the FRR config's default) and while degraded (BGP: MED,
  // and `degradedPrepend` extra copies of the node's AS).
  metric?: number;
  degradedMetric?: number;
  degradedPrepend?: number;
  damping?: DampingConfig;
  // Where the service was defined, for messages: "services.d/dns.yaml" or "healthcast.yaml: services[0]".
  origin: string;
}

// Commands run after a service's state changes (argument arrays, no shell).
export interface ServiceHooks {
  onUp?: string[];
  onDown?: string[];
  onDrain?: string[];
  timeoutMs: number;
}

export interface MaintenanceJobConfig {
  name: string;
  schedule: string; // cron expression
  services: string[] | undefined; // undefined: every service
  command: string[];
  timeoutMs: number;
  stayDrainedOnFailure: boolean;
}

export interface AgentConfig {
  file: string;
  interface: string;
  stateDir: string;
  servicesDir: string | undefined;
  probeDirs: string[];
  reconcileIntervalMs: number;
  // The lifetime of the addresses healthcast adds, renewed every lease/3; 0: off (config `lease`).
  leaseMs: number;
  routeProtocol: number;
  logLevel: string;
  frr: FrrSection;
  controlSocket: string;
  drainInterface: string;
  // Files named after services (or `all`) hold them in maintenance (config `disable_dir`).
  disableDir: string;
  metrics: { listen: { host: string; port: number } } | undefined;
  maintenance: MaintenanceJobConfig[];
  services: ServiceConfig[];
}

// Two services are "the same" across a reload when this string is equal. Hooks and LAN announcements are read from the
// current config when used, so changing them never restarts (and withdraws) a service.
export function serviceFingerprint(service: ServiceConfig): string {
  const { origin: _origin, hooks: _hooks, announceL2: _l2, probes, ...rest } = service;
  return JSON.stringify({ ...rest, probes: probes.map(({ definition: _d, ...probe }) => probe) });
}
