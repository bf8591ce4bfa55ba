// What a lab router knows about one prefix: its kernel table and FRR's RIB (`show ip[v6] route json`).
import { waitFor } from './process.js';
import { familyOf, type KernelRoute } from './netns.js';
import type { LabNode } from './lab.js';

export interface FrrRouteEntry {
  prefix: string;
  protocol: string;
  selected?: boolean;
  installed?: boolean;
  nexthops?: { ip?: string; interfaceName?: string; active?: boolean; fib?: boolean }[];
}

export async function kernelRoute(node: LabNode, prefix: string): Promise<KernelRoute | undefined> {
  return (await node.routes(familyOf(prefix))).find((route) => route.dst === prefix);
}

// FRR's whole RIB for one family, keyed by prefix.
export async function frrRoutes(node: LabNode, family: 4 | 6): Promise<Record<string, FrrRouteEntry[]>> {
  if (!node.frr) throw new Error(`${node.netns}: FRR is not running`);
  return node.frr.vtyshJson<Record<string, FrrRouteEntry[]>>(family === 4 ? 'show ip route json' : 'show ipv6 route json');
}

// The selected, installed FRR entry for the prefix, if any.
export async function frrRoute(node: LabNode, prefix: string): Promise<FrrRouteEntry | undefined> {
  const entries = (await frrRoutes(node, familyOf(prefix)))[prefix] ?? [];
  return entries.find((entry) => entry.selected && entry.installed);
}

// Next hops of a kernel route (one for a plain route, several for ECMP), as `gateway@dev`.
export function nextHops(route: KernelRoute): string[] {
  const hops = route.nexthops && route.nexthops.length > 0 ? route.nexthops : [route];
  return hops.map((hop) => `${hop.gateway ?? 'direct'}@${hop.dev ?? '?'}`);
}

// Polls the kernel table until the prefix is (or is no longer) there; resolves with the elapsed milliseconds.
export async function waitForKernelRoute(node: LabNode, prefix: string, present: boolean, timeoutMs = 10_000): Promise<number> {
  const started = Date.now();
  await waitFor(
    `${prefix} to ${present ? 'appear in' : 'leave'} ${node.netns}'s kernel table`,
    async () => ((await kernelRoute(node, prefix)) !== undefined) === present,
    { timeoutMs, intervalMs: 10 },
  );
  return Date.now() - started;
}

// Kernel table and FRR RIB agree on the prefix's presence; resolves with the elapsed milliseconds.
export async function waitForRoute(node: LabNode, prefix: string, present: boolean, timeoutMs = 10_000): Promise<number> {
  const started = Date.now();
  await waitFor(
    `${prefix} to be ${present ? 'present' : 'absent'} in ${node.netns}'s kernel table and FRR RIB`,
    async () => {
      if (((await kernelRoute(node, prefix)) !== undefined) !== present) return false;
      return ((await frrRoute(node, prefix)) !== undefined) === present;
    },
    { timeoutMs, intervalMs: 10 },
  );
  return Date.now() - started;
}

// A route that should be there and is learnt by OSPF (not, say, a stray connected one).
export async function describeRoute(node: LabNode, prefix: string): Promise<string> {
  const route = await kernelRoute(node, prefix);
  if (!route) return `${prefix}: no route`;
  return `${prefix} proto ${route.protocol ?? '?'} via ${nextHops(route).join(', ')}`;
}
