// The resolved configuration the agent runs on: defaults applied, durations in milliseconds.
import type { ProbeDefinition } from '../../probes/types.js';
import type { FrrSection } from '../frr/schema.js';

export type Requirement = 'all' | 'any' | { at_least: number };

export interface ProbeConfig {
  type: string;
  timeoutMs: number;
  options: unknown;
  definition: ProbeDefinition;
}

export interface ServiceConfig {
  name: string;
  addresses: string[];
  announce: 'address' | 'route';
  interface: string;
  intervalMs: number;
  timeoutMs: number;
  rise: number;
  fall: number;
  holdDownMs: number;
  require: Requirement;
  probes: ProbeConfig[];
  // Where the service was defined, for messages: "services.d/dns.yaml" or "healthcast.yaml: services[0]".
  origin: string;
}

export interface AgentConfig {
  file: string;
  interface: string;
  stateDir: string;
  servicesDir: string | undefined;
  probeDirs: string[];
  reconcileIntervalMs: number;
  routeProtocol: number;
  logLevel: string;
  frr: FrrSection;
  services: ServiceConfig[];
}

// Two services are "the same" across a reload when this string is equal.
export function serviceFingerprint(service: ServiceConfig): string {
  const { origin: _origin, probes, ...rest } = service;
  return JSON.stringify({ ...rest, probes: probes.map(({ definition: _d, ...probe }) => probe) });
}
