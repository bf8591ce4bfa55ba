// The graceful-drain scenario shared by test/e2e/drain.test.ts and bench/drain.ts: the anycast DNS lab
// (lab/dns-anycast.ts) with forwarding nodes that reject each other's service routes, and rounds in which a client on
// the router queries the anycast address (IPv4 and IPv6) while node a is put into maintenance.
import { buildDnsAnycastLab, DNS_SERVICE, type DnsAnycastLab } from '../../../lab/dns-anycast.js';
import { run } from '../../../lab/netns.js';
import { waitFor } from '../../../lab/process.js';
import { kernelRoute, nextHops } from '../../../lab/routes.js';
import type { LabNode } from '../../../lab/lab.js';
import type { AgentProcess } from '../../../lab/healthcast.js';
import type { Monitor, NetlinkEvent } from '../../../lab/monitor.js';
import { healthcastBin } from '../../support/paths.js';
import { DEFAULT_DRAIN_INTERFACE } from '../../../src/config/defaults.js';
import type { DegradedAddress } from '../../../src/frr/degraded-plan.js';
import type { DegradedLists } from '../../../src/frr/degraded-lists.js';
import { labDegradedLists } from '../../../lab/policy.js';
import { LAB_DEGRADED_METRIC } from '../../../lab/frr-config.js';
import { countQueries, startDnsLoad, type DnsQuery, type TargetCounts } from './dns-load.js';

export const V4 = '192.0.2.53';
export const V6 = '2001:db8:53::53';
export const SERVICE = DNS_SERVICE;
// The agent's own default, which the lab's configs leave alone.
export const DRAIN_INTERFACE = DEFAULT_DRAIN_INTERFACE;
export const COMMANDS = ['ip', 'sysctl', 'vtysh', 'unbound', '/usr/lib/frr/zebra', '/usr/lib/frr/ospfd', '/usr/lib/frr/ospf6d'];

// How node a is put into maintenance: SIGTSTP to its agent (by PID), or `healthcast drain dns` on its control socket;
// or the drain by metric (issue 14) run by hand as the agent would run it: the agent frozen (SIGSTOP), the addresses
// put into the lab's degraded list (metric 65000) through the agent's own writer, the drain period, then deleted
// from lo. bench/drain.ts compares it with the park on the drain interface.
export const METRIC_BY_HAND = 'metric (by hand)';
export type Trigger = 'SIGTSTP' | 'healthcast drain' | typeof METRIC_BY_HAND;

export interface DrainLab extends Pick<DnsAnycastLab, 'topology' | 'router' | 'a' | 'b' | 'ifA' | 'ifB' | 'port'> {
  agentA(): AgentProcess;
  // Node a's agent with this `drain` in ms (restarted only when it differs from the running one's).
  useDrain(drainMs: number): Promise<void>;
  // Until the router routes both anycast addresses via a and b (ECMP).
  waitForBothNodes(timeoutMs?: number): Promise<void>;
  round(options: RoundOptions): Promise<RoundResult>;
  destroy(): Promise<void>;
}

export interface RoundOptions {
  trigger: Trigger;
  // Queries per second per address family.
  rate: number;
  timeoutMs: number;
  // Client time before the trigger and after the drain period.
  leadMs?: number;
  tailMs?: number;
  // Unique per round: names the client's log file.
  label: string;
}

// Milliseconds from the trigger; undefined when it did not happen (no drain interface without a drain).
export interface RoundTimeline {
  drainInterfaceAdded: { v4?: number; v6?: number };
  removedFromLo: { v4?: number; v6?: number };
  routerWithoutA: { v4?: number; v6?: number };
  removedFromDrainInterface: { v4?: number; v6?: number };
  triggerDone: number;
}

export interface RoundResult {
  trigger: Trigger;
  drainMs: number;
  // Epoch ms just before the signal was sent or the command started.
  triggeredAt: number;
  v4: TargetCounts;
  v6: TargetCounts;
  // Before the trigger (both nodes should answer) and from the trigger on.
  beforeTrigger: { v4: TargetCounts; v6: TargetCounts };
  failures: DnsQuery[];
  timeline: RoundTimeline;
  // Half-way through the drain period: node a's service addresses per interface and the router's next hops.
  midDrain?: { drainInterface: string[]; lo: string[]; routerV4: string[]; routerV6: string[] };
  // After the round: service addresses left on node a.
  leftOnLo: string[];
  leftOnDrainInterface: string[];
  // Whether node a's kernel had a route to the anycast addresses once it had lost them (the filter says no).
  nodeARoutes: { v4: boolean; v6: boolean };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// The agent's degraded-list writer on node a's FRR sockets, holding `addresses` at the lab's degraded level until clear().
function metricWriter(node: LabNode, addresses: readonly string[]): DegradedLists & { clear(): void } {
  let degraded: DegradedAddress[] = addresses.map((address) => ({ address, metric: LAB_DEGRADED_METRIC }));
  const lists = labDegradedLists(node, () => degraded);
  return Object.assign(lists, { clear: () => (degraded = []) });
}
// On lo as host prefixes; parked on the drain interface as a /31 and a /127 (src/routing/ip-commands.ts).
const isService = (cidr: string) => [`${V4}/32`, `${V6}/128`, `${V4}/31`, `${V6}/127`].includes(cidr);

// `ip -o monitor address` lines start with "INDEX: IFNAME".
function deviceOf(event: NetlinkEvent): string | undefined {
  return /^\d+:\s+(\S+)/.exec(event.text)?.[1];
}

async function serviceAddresses(node: LabNode, dev: string): Promise<string[]> {
  try {
    return (await node.addresses(dev)).filter(isService).sort();
  } catch (error) {
    if (/does not exist/i.test((error as Error).message)) return [];
    throw error;
  }
}

// Builds the lab and starts everything; on failure it is destroyed before the error propagates.
export async function buildDrainLab(options: { name: string; drainMs: number }): Promise<DrainLab> {
  const dns = await buildDnsAnycastLab({
    name: options.name,
    addresses: [V4, V6],
    routerLikeNodes: true,
    serviceFor: (node) => ({ drain: `${node.name === 'a' ? options.drainMs : 2000}ms` }),
  });
  const { router, a, b, ifA, ifB, port, addressMonitor, routeMonitor } = dns;
  let agentA = dns.agents.a;
  let drainA = options.drainMs;
  const drainLab: DrainLab = {
    topology: dns.topology,
    router,
    a,
    b,
    ifA,
    ifB,
    port,
    agentA: () => agentA,
    async useDrain(drainMs) {
      if (drainMs === drainA) return;
      agentA.signal('SIGTERM');
      if ((await agentA.exited) !== 0) throw new Error(`node a's agent exited ${String(await agentA.exited)} on SIGTERM`);
      agentA = await dns.startAgent(a, { drain: `${drainMs}ms` });
      drainA = drainMs;
    },
    waitForBothNodes: dns.waitForBothNodes,
    round: (roundOptions) => runRound(drainLab, { addressMonitor, routeMonitor, drainMs: drainA }, roundOptions),
    destroy: () => dns.destroy(),
  };
  return drainLab;
}

// First event at or after `since` for the address that matches; ms from `zero`.
function eventAfter(monitor: Monitor, since: number, zero: number, match: (event: NetlinkEvent) => boolean): number | undefined {
  const found = monitor.events.slice(since).find(match);
  return found ? Math.round((found.time - zero) * 10) / 10 : undefined;
}

async function runRound(
  drainLab: DrainLab,
  context: { addressMonitor: Monitor; routeMonitor: Monitor; drainMs: number },
  options: RoundOptions,
): Promise<RoundResult> {
  const { lab } = drainLab.topology;
  const { router, a, ifA, port } = drainLab;
  const agent = drainLab.agentA();
  const { drainMs } = context;
  const leadMs = options.leadMs ?? 1000;
  const tailMs = options.tailMs ?? 1500;
  const marks = { address: context.addressMonitor.events.length, route: context.routeMonitor.events.length };
  const load = await startDnsLoad(lab, router, {
    targets: [V4, V6],
    port,
    rate: options.rate,
    timeoutMs: options.timeoutMs,
    durationMs: leadMs + drainMs + tailMs,
    name: `dns-load-${options.label}`,
  });
  await sleep(Math.max(0, load.started + leadMs - Date.now()));

  const triggered = Date.now();
  let done: Promise<unknown>;
  let raised: ReturnType<typeof metricWriter> | undefined;
  if (options.trigger === METRIC_BY_HAND) {
    agent.signal('SIGSTOP');
    raised = metricWriter(a, [V4, V6]);
    const writer = raised;
    done = (async () => {
      await writer.start();
      await sleep(drainMs);
      await a.exec('ip', ['address', 'del', `${V4}/32`, 'dev', 'lo']);
      await a.exec('ip', ['-6', 'address', 'del', `${V6}/128`, 'dev', 'lo']);
    })();
  } else if (options.trigger === 'SIGTSTP') {
    agent.signal('SIGTSTP');
    done = waitFor("node a's agent to stop itself (state T)", () => agent.state() === 'T', { timeoutMs: drainMs + 10_000, intervalMs: 10 });
  } else {
    done = a.exec(process.execPath, [healthcastBin, 'drain', SERVICE, '--config', agent.configFile], { timeoutMs: drainMs + 30_000 });
  }
  let triggerDone = Number.NaN;
  done = done.then(() => (triggerDone = Date.now() - triggered));
  let midDrain: RoundResult['midDrain'];
  if (drainMs > 0 && options.trigger !== METRIC_BY_HAND) {
    // Half-way through the drain as the agent runs it: from when both addresses are parked (`healthcast drain` starts
    // a CLI process first, which on a loaded machine takes over a second).
    const parked = (target: string) =>
      context.addressMonitor.events.slice(marks.address).some((event) => event.target === target && deviceOf(event) === DRAIN_INTERFACE && !event.deleted);
    await waitFor(`both addresses parked on ${DRAIN_INTERFACE}`, () => parked(V4) && parked(V6), { timeoutMs: drainMs + 30_000, intervalMs: 5 });
    await sleep(drainMs / 2);
    const hops = async (prefix: string) => {
      const route = await kernelRoute(router, prefix);
      return route ? nextHops(route).sort() : [];
    };
    midDrain = {
      drainInterface: await serviceAddresses(a, DRAIN_INTERFACE),
      lo: await serviceAddresses(a, 'lo'),
      routerV4: await hops(`${V4}/32`),
      routerV6: await hops(`${V6}/128`),
    };
  }
  await done;
  const queries = await load.finished;
  const nodeARoutes = { v4: (await kernelRoute(a, `${V4}/32`)) !== undefined, v6: (await kernelRoute(a, `${V6}/128`)) !== undefined };

  const about = (target: string) => (event: NetlinkEvent) => event.target === target;
  const onDev = (dev: string, deleted: boolean) => (event: NetlinkEvent) => deviceOf(event) === dev && event.deleted === deleted;
  const address = (target: string, dev: string, deleted: boolean) =>
    eventAfter(context.addressMonitor, marks.address, triggered, (event) => about(target)(event) && onDev(dev, deleted)(event));
  const routerWithoutA = (target: string) =>
    eventAfter(
      context.routeMonitor,
      marks.route,
      triggered,
      (event) => about(target)(event) && !event.text.includes('table local') && !event.text.includes(`dev ${ifA}`),
    );
  const result: RoundResult = {
    trigger: options.trigger,
    drainMs,
    triggeredAt: triggered,
    v4: countQueries(queries, V4),
    v6: countQueries(queries, V6),
    beforeTrigger: { v4: countQueries(queries, V4, { to: triggered }), v6: countQueries(queries, V6, { to: triggered }) },
    failures: queries.filter((query) => !query.ok),
    timeline: {
      drainInterfaceAdded: { v4: address(V4, DRAIN_INTERFACE, false), v6: address(V6, DRAIN_INTERFACE, false) },
      removedFromLo: { v4: address(V4, 'lo', true), v6: address(V6, 'lo', true) },
      routerWithoutA: { v4: routerWithoutA(V4), v6: routerWithoutA(V6) },
      removedFromDrainInterface: { v4: address(V4, DRAIN_INTERFACE, true), v6: address(V6, DRAIN_INTERFACE, true) },
      triggerDone,
    },
    ...(midDrain ? { midDrain } : {}),
    leftOnLo: await serviceAddresses(a, 'lo'),
    leftOnDrainInterface: await serviceAddresses(a, DRAIN_INTERFACE),
    nodeARoutes,
  };

  // Back in service for the next round.
  if (raised) {
    // The frozen agent still wants the addresses on lo: put them back as it would, clear the list, then thaw it.
    await a.exec('ip', ['address', 'add', `${V4}/32`, 'dev', 'lo']);
    await a.exec('ip', ['-6', 'address', 'add', `${V6}/128`, 'dev', 'lo', 'nodad']);
    raised.clear();
    await raised.kick();
    raised.stop();
    agent.signal('SIGCONT');
  } else if (options.trigger === 'SIGTSTP') agent.signal('SIGCONT');
  else await run(process.execPath, [healthcastBin, 'resume', SERVICE, '--config', agent.configFile], { timeoutMs: 30_000 });
  await drainLab.waitForBothNodes();
  return result;
}
