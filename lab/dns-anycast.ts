// The anycast DNS lab the failover benchmark, the graceful-drain and the fleet (keep_last) scenarios share: a router and nodes a, b (, c...) on
// real FRR, unbound on each node answering who.test with the node's name, netlink monitors on node a's addresses and
// the router's routes, and a healthcast agent on each node announcing the anycast addresses while unbound answers.
import path from 'node:path';
import { buildAnycastLab, type AnycastLab } from './topology.js';
import { waitFor } from './process.js';
import { kernelRoute, nextHops } from './routes.js';
import { freePort, type Unbound } from './unbound.js';
import { startMonitor, type Monitor } from './monitor.js';
import { agentConfig, startAgent, type AgentProcess } from './healthcast.js';
import type { Lab, LabNode } from './lab.js';

export const DNS_SERVICE = 'dns';

export interface DnsAnycastOptions {
  name: string;
  // The anycast addresses (no prefix length), IPv4 and/or IPv6.
  addresses: readonly string[];
  // Nodes forward like routers and reject the service routes the others originate, so only that filter keeps node a
  // from passing on packets it no longer owns (lab/frr-config.ts).
  routerLikeNodes?: boolean;
  // Keys added to the DNS service per node (e.g. drain), and top-level keys of every agent's main config.
  serviceFor?: (node: LabNode) => Record<string, unknown>;
  configExtra?: Record<string, unknown>;
  // Top-level keys of one node's agent config, over configExtra (e.g. frr.vty_socket, which differs per node).
  configFor?: (node: LabNode) => Record<string, unknown>;
  // How many nodes (default 2: a and b).
  nodes?: number;
  // Agents read their own node's FRR (frr.vty_socket): advertised state, the fleet's advertisers, keep_last.
  readFrr?: boolean;
}

export interface DnsAnycastLab {
  topology: AnycastLab;
  lab: Lab;
  router: LabNode;
  a: LabNode;
  b: LabNode;
  // The router's interfaces towards a and b.
  ifA: string;
  ifB: string;
  // Every node (a, b, c...), the router's interface towards each, the first unbound and agent on each, in that order.
  nodes: LabNode[];
  ifs: string[];
  unbounds: Unbound[];
  nodeAgents: AgentProcess[];
  // unbound's port on every node.
  port: number;
  // `ip monitor address` on node a and `ip monitor route` on the router, from before the agents started.
  addressMonitor: Monitor;
  routeMonitor: Monitor;
  // The first unbound and agent on each node.
  unbound: { a: Unbound; b: Unbound };
  agents: { a: AgentProcess; b: AgentProcess };
  // unbound on `node` again (after a kill), in a fresh directory `name`.
  startUnbound(node: LabNode, name: string): Promise<Unbound>;
  // Another agent on `node` (a fresh directory each), with `service` keys added to the DNS service.
  // `restartOf`: the same directories as that (crashed or stopped) agent, as an operator's restart has: its state
  // (the ownership record) is what lets the new agent take back the addresses the old one left.
  startAgent(node: LabNode, service?: Record<string, unknown>, restartOf?: AgentProcess): Promise<AgentProcess>;
  // Whether the router routes every anycast address via exactly these interfaces.
  routedVia(ifs: readonly string[]): Promise<boolean>;
  // Until the router routes every anycast address via every node (ECMP).
  waitForBothNodes(timeoutMs?: number): Promise<void>;
  destroy(): Promise<void>;
}

const hostPrefix = (address: string) => `${address}/${address.includes(':') ? 128 : 32}`;

// Builds the lab, starts everything and waits for ECMP via both nodes; on failure it is destroyed before the error propagates.
export async function buildDnsAnycastLab(options: DnsAnycastOptions): Promise<DnsAnycastLab> {
  const topology = await buildAnycastLab({ nodes: options.nodes ?? 2, name: options.name, rejectServiceRoutes: options.routerLikeNodes ?? false });
  const { lab, router } = topology;
  const nodes = topology.nodes;
  const [a, b] = nodes as [LabNode, LabNode];
  const ifs = topology.links.map((link) => link.aIf);
  const [ifA, ifB] = ifs as [string, string];
  const v6 = options.addresses.some((address) => address.includes(':'));
  try {
    const sysctl = (node: LabNode, ...settings: string[]) => node.exec('sysctl', ['-q', '-w', ...settings]);
    if (options.routerLikeNodes) for (const node of [router, ...nodes]) await sysctl(node, 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1');
    // An L4 hash spreads the client's queries (a fresh source port each) over both nodes.
    await sysctl(router, 'net.ipv4.fib_multipath_hash_policy=1', ...(v6 ? ['net.ipv6.fib_multipath_hash_policy=1'] : []));
    const port = await freePort();
    const records = (who: string) => [
      { name: 'probe.test', type: 'A', value: '192.0.2.1' },
      { name: 'who.test', type: 'TXT', value: who },
    ];
    const startUnbound = (node: LabNode, name: string) =>
      lab.startUnbound(node, { port, addresses: v6 ? ['0.0.0.0', '::'] : ['0.0.0.0'], records: records(node.name), name });
    const unbounds: Unbound[] = [];
    for (const node of nodes) unbounds.push(await startUnbound(node, 'unbound'));
    const unbound = { a: unbounds[0]!, b: unbounds[1]! };
    const addressMonitor = await startMonitor(a.netns, 'address');
    const routeMonitor = await startMonitor(router.netns, 'route');
    lab.onDestroy('monitors', async () => {
      await addressMonitor.stop();
      await routeMonitor.stop();
    });

    const dnsService = (node: LabNode, extra: Record<string, unknown>) => ({
      name: DNS_SERVICE,
      addresses: options.addresses,
      interval: '200ms',
      timeout: '150ms',
      rise: 2,
      fall: 2,
      hold_down: '0ms',
      probes: [{ type: 'dns', server: '127.0.0.1', port, query: 'probe.test', qtype: 'A', expect_answer: '192.0.2.1' }],
      ...options.serviceFor?.(node),
      ...extra,
    });
    let started = 0;
    const start = (node: LabNode, extra: Record<string, unknown> = {}, restartOf?: AgentProcess) =>
      startAgent(lab, node, {
        name: restartOf ? path.basename(path.dirname(restartOf.stateDir)) : `healthcast-${(started += 1)}`,
        config: (stateDir) =>
          agentConfig(stateDir, [dnsService(node, extra)], {
            ...options.configExtra,
            ...(options.readFrr ? { frr: { vty_socket: node.frr!.dir, vtysh_timeout: '5s' } } : {}),
            ...options.configFor?.(node),
          }),
      });
    const nodeAgents: AgentProcess[] = [];
    for (const node of nodes) nodeAgents.push(await start(node));
    const agents = { a: nodeAgents[0]!, b: nodeAgents[1]! };

    const routedVia = async (ifs: readonly string[]) => {
      for (const address of options.addresses) {
        const route = await kernelRoute(router, hostPrefix(address));
        const devs = route
          ? nextHops(route)
              .map((hop) => hop.split('@')[1])
              .sort()
          : [];
        if (devs.join(',') !== [...ifs].sort().join(',')) return false;
      }
      return true;
    };
    const waitForBothNodes = async (timeoutMs = 20_000) => {
      await waitFor(`the router to route the anycast addresses via ${nodes.map((node) => node.name).join(', ')}`, () => routedVia(ifs), {
        timeoutMs,
        intervalMs: 20,
      });
    };
    await waitForBothNodes();
    return {
      topology,
      lab,
      router,
      a,
      b,
      ifA,
      ifB,
      nodes,
      ifs,
      unbounds,
      nodeAgents,
      port,
      addressMonitor,
      routeMonitor,
      unbound,
      agents,
      startUnbound,
      startAgent: start,
      routedVia,
      waitForBothNodes,
      destroy: () => lab.destroy(),
    };
  } catch (error) {
    await lab.destroy().catch(() => undefined);
    throw error;
  }
}
