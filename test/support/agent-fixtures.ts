// In-process pieces for driving the agent in unit tests: a probe whose verdict the test sets, and service configs.
import { z } from 'zod';
import { defineProbe, type ProbeDefinition } from '../../probes/kit/index.js';
import type { AgentConfig, ServiceConfig } from '../../src/config/types.js';
import { DEFAULT_DRAIN_INTERFACE, DEFAULT_ROUTE_PROTOCOL, DEFAULT_VTYSH } from '../../src/config/defaults.js';

export interface SwitchProbe {
  definition: ProbeDefinition;
  healthy: Map<string, boolean>; // by service name; missing means healthy
  calls: Map<string, number>;
}

export function switchProbe(): SwitchProbe {
  const healthy = new Map<string, boolean>();
  const calls = new Map<string, number>();
  const definition = defineProbe({
    type: 'switch',
    summary: 'test probe whose result the test decides',
    options: z.strictObject({}),
    async run(_options, ctx) {
      calls.set(ctx.service.name, (calls.get(ctx.service.name) ?? 0) + 1);
      return healthy.get(ctx.service.name) === false ? { ok: false, reason: 'switched off by test' } : { ok: true };
    },
  }) as ProbeDefinition;
  return { definition, healthy, calls };
}

export function serviceConfig(name: string, addresses: string[], probe: ProbeDefinition, overrides: Partial<ServiceConfig> = {}): ServiceConfig {
  return {
    name,
    addresses,
    announce: 'address',
    interface: 'lo',
    intervalMs: 20,
    timeoutMs: 15,
    rise: 2,
    fall: 2,
    holdDownMs: 0,
    drainMs: 0,
    drainOnFailure: false,
    keepLast: false,
    keepLastGuardMs: 3000,
    require: 'all',
    probes: [{ type: probe.type, timeoutMs: 15, options: {}, definition: probe }],
    hooks: { timeoutMs: 1000 },
    announceL2: undefined,
    origin: `test:${name}`,
    ...overrides,
  };
}

export function agentConfig(services: ServiceConfig[], overrides: Partial<AgentConfig> = {}): AgentConfig {
  return {
    file: '/test/healthcast.yaml',
    interface: 'lo',
    stateDir: '/nonexistent/state',
    servicesDir: undefined,
    probeDirs: [],
    reconcileIntervalMs: 60_000,
    leaseMs: 0, // the agent's tests run over the memory backend; the lease has its own tests (test/unit/routing)
    routeProtocol: DEFAULT_ROUTE_PROTOCOL,
    logLevel: 'silent',
    frr: { vtysh: DEFAULT_VTYSH },
    controlSocket: '/nonexistent/control.sock',
    drainInterface: DEFAULT_DRAIN_INTERFACE,
    disableDir: '/nonexistent/disable.d',
    metrics: undefined,
    maintenance: [],
    services,
    ...overrides,
  };
}
