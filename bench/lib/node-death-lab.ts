// The node-death scenario of bench/node-death.ts: a router and one anycast node in namespaces with real FRR (the lab's
// fast timers: OSPF hello 1 s / dead 3 s, BGP keepalive 1 s / hold 3 s), optionally with BFD on both ends. The node
// announces 192.0.2.53/32 and 2001:db8:53::53/128, then goes silent: every FRR daemon of it is frozen (SIGSTOP by PID;
// this kernel has no sch_netem, and an interface taken down would be seen by the router at once). Measured: the time
// from the freeze until the router's kernel deletes the route (ip monitor's own timestamps), per address family.
import { Lab, type LabLink, type LabNode } from '../../lab/lab.js';
import { waitForAdjacencies, waitForBgpSessions } from '../../lab/frr.js';
import { startMonitor, type Monitor } from '../../lab/monitor.js';
import { waitFor } from '../../lab/process.js';
import { waitForKernelRoute } from '../../lab/routes.js';
import type { BfdProfile } from '../../src/frr/render-options.js';

export type NodeDeathProtocol = 'ospf' | 'bgp';
export const SERVICE_V4 = '192.0.2.53';
export const SERVICE_V6 = '2001:db8:53::53';
const NODE_AS = 65001;
const ROUTER_AS = 65000;
// After a thaw the node's own timers expire too and its adjacencies and sessions may reset once more: the next
// freeze waits until the router's routes to the node have been left alone this long.
const QUIET_MS = 2000;
// A deletion followed by an add of the same route within this long is a replacement, not the route going away.
const REPLACED_WITHIN_MS = 100;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface NodeDeathSample {
  // Milliseconds from the freeze to the router's kernel deleting the route; undefined if it never did.
  v4Ms?: number;
  v6Ms?: number;
}

export interface NodeDeathLab {
  protocol: NodeDeathProtocol;
  bfd: boolean;
  // One freeze: wait until the router has routed both addresses to the node, undisturbed, for a while; freeze,
  // measure, thaw.
  run(timeoutMs: number): Promise<NodeDeathSample>;
  destroy(): Promise<void>;
}

interface BfdPeers {
  status?: string;
}

// Sessions in state up on the router: OSPF has one per daemon (IPv4 link address, IPv6 link-local), BGP one per session.
async function bfdUp(router: LabNode): Promise<number> {
  const peers = await router.frr!.vtyshJson<BfdPeers[]>('show bfd peers json');
  return peers.filter((peer) => peer.status === 'up').length;
}

async function ready(protocol: NodeDeathProtocol, router: LabNode, node: LabNode, bfd: boolean, timeoutMs: number): Promise<void> {
  if (protocol === 'ospf') await Promise.all([waitForAdjacencies(router.frr!, 1, timeoutMs), waitForAdjacencies(node.frr!, 1, timeoutMs)]);
  else await Promise.all([waitForBgpSessions(router.frr!, timeoutMs), waitForBgpSessions(node.frr!, timeoutMs)]);
  for (const address of [`${SERVICE_V4}/32`, `${SERVICE_V6}/128`]) await waitForKernelRoute(router, address, true, timeoutMs);
  if (bfd) await waitFor(`${router.netns}: 2 BFD sessions up`, async () => (await bfdUp(router)) >= 2, { timeoutMs, intervalMs: 50 });
}

function bgpNeighbors(link: LabLink, side: 'router' | 'node') {
  return side === 'router'
    ? [
        { address: link.bV4, asn: NODE_AS },
        { address: link.bV6, asn: NODE_AS },
      ]
    : [
        { address: link.aV4, asn: ROUTER_AS },
        { address: link.aV6, asn: ROUTER_AS },
      ];
}

export async function buildNodeDeathLab(options: { protocol: NodeDeathProtocol; bfd?: BfdProfile; readyTimeoutMs?: number }): Promise<NodeDeathLab> {
  const { protocol } = options;
  const readyTimeoutMs = options.readyTimeoutMs ?? 30_000;
  const lab = await Lab.create({ name: `death${protocol}` });
  let monitor: Monitor | undefined;
  try {
    const router = await lab.node('router');
    const node = await lab.node('a');
    const link = await lab.link(router, node);
    const bfd = options.bfd;
    await Promise.all([
      lab.startFrr(router, { ...(protocol === 'bgp' ? { bgp: { asn: ROUTER_AS, neighbors: bgpNeighbors(link, 'router') } } : {}), ...(bfd ? { bfd } : {}) }),
      lab.startFrr(node, {
        announce: true,
        ...(protocol === 'bgp' ? { bgp: { asn: NODE_AS, neighbors: bgpNeighbors(link, 'node') } } : {}),
        ...(bfd ? { bfd } : {}),
      }),
    ]);
    await node.addAddress(`${SERVICE_V4}/32`);
    await node.addAddress(`${SERVICE_V6}/128`);
    await ready(protocol, router, node, bfd !== undefined, readyTimeoutMs);
    const routes = await startMonitor(router.netns, 'route');
    monitor = routes;
    const targets = new Set([SERVICE_V4, SERVICE_V6]);
    const settled = async () => {
      await ready(protocol, router, node, bfd !== undefined, readyTimeoutMs);
      await waitFor(
        `${router.netns}: no route change to the service addresses for ${QUIET_MS} ms`,
        () => {
          const last = routes.events.filter((event) => targets.has(event.target)).at(-1);
          return (last === undefined || Date.now() - last.time >= QUIET_MS) && last?.deleted !== true;
        },
        { timeoutMs: readyTimeoutMs, intervalMs: 50 },
      );
      await ready(protocol, router, node, bfd !== undefined, readyTimeoutMs);
    };
    return {
      protocol,
      bfd: bfd !== undefined,
      async run(timeoutMs) {
        await settled();
        const since = routes.events.length;
        const frozenAt = Date.now();
        // Only a deletion after the freeze counts (ip stamps each message when the kernel sent it), and only one that
        // stays: the router's FRR replaces an IPv6 route by delete-then-add, which once counted as a 27 ms death.
        const deadline = Date.now() + timeoutMs;
        const deleted = async (target: string): Promise<number | undefined> => {
          let from = since;
          for (;;) {
            const remaining = deadline - Date.now();
            if (remaining <= 0) return undefined;
            const event = await routes
              .waitFor(`the route to ${target} deleted`, (e) => e.deleted && e.target === target && e.time >= frozenAt, { since: from, timeoutMs: remaining })
              .catch(() => undefined);
            if (event === undefined) return undefined;
            await sleep(REPLACED_WITHIN_MS);
            const index = routes.events.indexOf(event);
            if (!routes.events.slice(index + 1).some((later) => !later.deleted && later.target === target)) return event.time;
            from = index + 1;
          }
        };
        node.frr!.freeze();
        let times: (number | undefined)[];
        try {
          times = await Promise.all([deleted(SERVICE_V4), deleted(SERVICE_V6)]);
        } finally {
          node.frr!.thaw();
        }
        const [v4, v6] = times.map((time) => (time === undefined ? undefined : time - frozenAt));
        return { ...(v4 === undefined ? {} : { v4Ms: v4 }), ...(v6 === undefined ? {} : { v6Ms: v6 }) };
      },
      async destroy() {
        await routes.stop();
        await lab.destroy();
      },
    };
  } catch (error) {
    await monitor?.stop();
    await lab.destroy();
    throw error;
  }
}
