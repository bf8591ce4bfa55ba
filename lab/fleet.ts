// The three-node keep_last lab the fleet e2e test, the short chaos test and bench/fleet.ts share: dns-anycast.ts
// with three nodes (router-ids a 0.0.0.2, b 0.0.0.3, c 0.0.0.4), unbound on each, agents reading their own FRR.
import path from 'node:path';
import { buildDnsAnycastLab, type DnsAnycastLab } from './dns-anycast.js';
import { kernelRoute, nextHops } from './routes.js';
import { waitFor } from './process.js';
import type { LabNode } from './lab.js';
import type { Unbound } from './unbound.js';
import type { AgentProcess } from './healthcast.js';
import { controlRequest } from '../src/control/client.js';
import type { ServiceStatusJson, StatusJson } from '../src/control/status.js';

export const FLEET_ADDRESS = '192.0.2.53';
export const FLEET_COMMANDS = ['ip', '/usr/lib/frr/zebra', '/usr/lib/frr/ospfd', 'vtysh', 'unbound'];
export const GUARD_MS = 1500;

export interface FleetLab {
  dns: DnsAnycastLab;
  nodes: LabNode[];
  // The nodes (by name) the router routes the anycast address through now; [] when it has no route.
  hops(): Promise<string[]>;
  waitForHops(names: readonly string[], timeoutMs?: number): Promise<number>;
  // Kills the DNS servers of the named nodes at once (SIGKILL, one after the other in one tick).
  killDns(names: readonly string[]): Promise<void>;
  startDns(name: string): Promise<void>;
  dnsRunning(name: string): boolean;
  agent(name: string): AgentProcess;
  // Replaces a node's agent with a fresh one (e.g. other keys) after stopping the old one.
  restartAgent(name: string, service?: Record<string, unknown>): Promise<void>;
  status(name: string, timeoutMs?: number): Promise<ServiceStatusJson>;
  destroy(): Promise<void>;
}

export async function buildFleetLab(options: { name: string; keepLast?: boolean }): Promise<FleetLab> {
  const dns = await buildDnsAnycastLab({
    name: options.name,
    addresses: [FLEET_ADDRESS],
    nodes: 3,
    readFrr: true,
    serviceFor: () => ({ keep_last: options.keepLast ?? true, keep_last_guard: `${GUARD_MS}ms`, drain: '200ms' }),
  });
  const { nodes } = dns;
  const byIf = new Map(dns.ifs.map((ifName, index) => [ifName, nodes[index]!.name]));
  const unbounds = new Map<string, Unbound | undefined>(nodes.map((node, index) => [node.name, dns.unbounds[index]]));
  const agents = new Map<string, AgentProcess>(nodes.map((node, index) => [node.name, dns.nodeAgents[index]!]));
  let generation = 0;
  const node = (name: string) => nodes.find((candidate) => candidate.name === name)!;

  const hops = async () => {
    const route = await kernelRoute(dns.router, `${FLEET_ADDRESS}/32`);
    return route
      ? nextHops(route)
          .map((hop) => byIf.get(hop.split('@')[1] ?? '') ?? hop)
          .sort()
      : [];
  };
  return {
    dns,
    nodes,
    hops,
    async waitForHops(names, timeoutMs = 15_000) {
      const started = Date.now();
      const want = [...names].sort().join(',');
      await waitFor(`the router to route ${FLEET_ADDRESS} via [${want}]`, async () => (await hops()).join(',') === want, { timeoutMs, intervalMs: 20 });
      return Date.now() - started;
    },
    async killDns(names) {
      const victims = names.map((name) => [name, unbounds.get(name)] as const);
      for (const [, unbound] of victims) if (unbound) process.kill(unbound.pid, 'SIGKILL');
      await Promise.all(victims.map(([name, unbound]) => unbound?.stop().finally(() => unbounds.set(name, undefined))));
    },
    async startDns(name) {
      if (unbounds.get(name)) return;
      // The killed server's port can still be taken for a moment on a loaded machine (seen at load ~50: "bind: address
      // already in use"): try again a few times.
      for (let attempt = 1; ; attempt += 1) {
        try {
          unbounds.set(name, await dns.startUnbound(node(name), `unbound-${(generation += 1)}`));
          return;
        } catch (error) {
          if (attempt >= 3 || !String(error).includes('address already in use')) throw error;
          await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
        }
      }
    },
    dnsRunning: (name) => unbounds.get(name) !== undefined,
    agent: (name) => agents.get(name)!,
    async restartAgent(name, service = {}) {
      const old = agents.get(name)!;
      old.signal('SIGTERM');
      await old.exited;
      agents.set(name, await dns.startAgent(node(name), service));
    },
    async status(name, timeoutMs = 5000) {
      const socket = path.join(agents.get(name)!.dir, 'control.sock');
      const status = (await controlRequest(socket, { command: 'status' }, { timeoutMs })) as StatusJson;
      return status.services[0]!;
    },
    destroy: () => dns.destroy(),
  };
}
