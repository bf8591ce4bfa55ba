// The BGP lab for the routing layer: a router and a node in their own namespaces, eBGP over the veth (IPv4 and IPv6
// sessions), real zebra+bgpd on both. The node's bgpd redistributes nothing, so the router can only learn a service
// prefix from a `network` statement. Plus the reconciler wired as the agent wires it (ip + bgp composite).
import path from 'node:path';
import fs from 'node:fs';
import type { Lab, LabLink, LabNode } from '../../../lab/lab.js';
import { FRR_BIN, frrDaemonArgs, waitForBgpSessions } from '../../../lab/frr.js';
import { waitFor, type Daemon } from '../../../lab/process.js';
import { canonical } from '../../../src/config/address.js';
import { silentLogger, type Logger } from '../../../src/log.js';
import { createVtysh, type Vtysh } from '../../../src/frr/vtysh.js';
import { createDaemonVty } from '../../../src/frr/vty-socket.js';
import { BgpBackend } from '../../../src/routing/bgp-backend.js';
import { CompositeBackend } from '../../../src/routing/composite-backend.js';
import { IpBackend } from '../../../src/routing/ip-backend.js';
import { FileOwnershipStore } from '../../../src/routing/ownership.js';
import { Reconciler } from '../../../src/routing/reconciler.js';
import type { DesiredEntry } from '../../../src/routing/types.js';
import { holdListLines } from '../../../lab/frr-config.js';

export const NODE_AS = 65001;
export const ROUTER_AS = 65000;
export const PROTO = 201;

export interface BgpLab {
  lab: Lab;
  router: LabNode;
  node: LabNode;
  link: LabLink;
  // The node's FRR, through our client (what the backend uses).
  vtysh: Vtysh;
  // Milliseconds from the first daemon start until every session was Established.
  readyMs: number;
}

export const BGP_LAB_COMMANDS = ['ip', 'vtysh', `${FRR_BIN}/zebra`, `${FRR_BIN}/bgpd`];

export async function buildBgpLab(lab: Lab): Promise<BgpLab> {
  const router = await lab.node('router');
  const node = await lab.node('a');
  const link = await lab.link(router, node);
  const started = Date.now();
  await Promise.all([
    lab.startFrr(router, {
      bgp: {
        asn: ROUTER_AS,
        neighbors: [
          { address: link.bV4, asn: NODE_AS },
          { address: link.bV6, asn: NODE_AS },
        ],
      },
    }),
    lab.startFrr(node, {
      bgp: {
        asn: NODE_AS,
        neighbors: [
          { address: link.aV4, asn: ROUTER_AS },
          { address: link.aV6, asn: ROUTER_AS },
        ],
      },
    }),
  ]);
  await Promise.all([waitForBgpSessions(router.frr!), waitForBgpSessions(node.frr!)]);
  return { lab, router, node, link, vtysh: createVtysh({ vtySocket: node.frr!.dir, timeoutMs: 5000 }), readyMs: Date.now() - started };
}

// The agent's routing over the node, wired as routing-factory.ts wires it: `ip -n NS` for addresses, network
// statements written on bgpd's vty socket and verified through vtysh (a drift asks for a pass), owned.json in stateDir.
export function nodeReconciler(
  bgpLab: BgpLab,
  stateDir: string,
  desired: () => DesiredEntry[],
  options: { asn?: number; log?: Logger; driftIntervalMs?: number } = {},
): Reconciler {
  const writer = createDaemonVty({ daemon: 'bgpd', vtySocket: bgpLab.node.frr!.dir, timeoutMs: 5000, fallback: bgpLab.vtysh });
  const backend = new CompositeBackend({
    ip: new IpBackend({ routeProtocol: PROTO, namespace: bgpLab.node.netns }),
    bgp: new BgpBackend({ vtysh: bgpLab.vtysh, writer, asn: options.asn, onDrift: () => void reconciler.kick() }),
  });
  const reconciler: Reconciler = new Reconciler({
    backend,
    ownership: new FileOwnershipStore(stateDir),
    desired,
    log: options.log ?? silentLogger(),
    driftIntervalMs: options.driftIntervalMs ?? 60_000,
  });
  return reconciler;
}

// `network` lines of the node's running bgpd config, read with plain vtysh and a plain regex (not our parser).
export async function networkLines(bgpLab: BgpLab): Promise<string[]> {
  const text = await bgpLab.vtysh.run(['show running-config bgpd']);
  return [...text.matchAll(/^\s+network (\S+)/gm)].map((match) => match[1] ?? '').sort();
}

interface BgpTable {
  routes?: Record<string, { valid?: boolean; peerId?: string }[]>;
}

// Prefixes the router has a valid path for from the node (its BGP table, not the kernel).
export async function learnedAtRouter(bgpLab: BgpLab, family: 4 | 6): Promise<string[]> {
  const table = await bgpLab.router.frr!.vtyshJson<BgpTable>(`show bgp ${family === 4 ? 'ipv4' : 'ipv6'} unicast json`);
  const from = new Set([bgpLab.link.bV4, canonical(bgpLab.link.bV6)]);
  return Object.entries(table.routes ?? {})
    .filter(([, paths]) => paths.some((p) => p.valid === true && p.peerId !== undefined && from.has(p.peerId)))
    .map(([prefix]) => prefix)
    .sort();
}

let restarts = 0;

// The bgpd the lab started on the node (stop it to simulate a crash or a restart).
export function nodeBgpd(bgpLab: BgpLab): Daemon {
  const daemon = bgpLab.node.frr!.daemons.find((d) => d.name.endsWith('/bgpd'));
  if (!daemon) throw new Error('the node runs no bgpd');
  return daemon;
}

// A fresh bgpd from bgpd.conf, as a service restart does: whatever was configured at runtime is gone. Resolves once
// it answers vtysh; stopped by PID with the lab.
export async function startNodeBgpd(bgpLab: BgpLab): Promise<Daemon> {
  const dir = bgpLab.node.frr!.dir;
  restarts += 1;
  const daemon = bgpLab.lab.startDaemon(bgpLab.node, `bgpd-${restarts}`, path.join(FRR_BIN, 'bgpd'), frrDaemonArgs('bgpd', dir));
  await waitFor(
    'the restarted bgpd to answer vtysh',
    async () => {
      if (daemon.child.exitCode !== null) throw new Error(`bgpd exited with ${daemon.child.exitCode}: ${daemon.output().slice(-2000)}`);
      if (!fs.existsSync(path.join(dir, 'bgpd.vty'))) return false;
      return (await bgpLab.vtysh.run(['show bgp summary json'])) !== undefined;
    },
    { timeoutMs: 10_000, intervalMs: 50 },
  );
  return daemon;
}

// frr-config's hold lists on the node (lab/frr-config.ts holdListLines).
export async function addHoldLists(bgpLab: BgpLab): Promise<void> {
  await bgpLab.vtysh.configure(holdListLines(NODE_AS, [bgpLab.link.aV4, bgpLab.link.aV6]));
}
