// Every rendered variant (split and integrated, OSPF and BGP, default and fast timers) loaded into real FRR in a
// node namespace peering with a router namespace: the router learns exactly the service prefixes, nothing else on
// the node's loopback or in its kernel table, and loses a service prefix when healthcast would remove it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { requirePrerequisites } from '../../support/prereq.js';
import { Lab, type LabLink, type LabNode } from '../../../lab/lab.js';
import { waitFor } from '../../../lab/process.js';
import { checkAdvertised } from '../../../src/frr/advertised.js';
import { PROFILES } from '../../../src/frr/profiles.js';
import { DEFAULT_BFD } from '../../../src/config/defaults.js';
import { resolveRenderOptions, type FrrProtocol, type FrrStyle, type OspfNetwork } from '../../../src/frr/render-options.js';
import { renderFrrConfig } from '../../../src/frr/render.js';
import type { ProfileName } from '../../../src/frr/profiles.js';
import type { Vtysh } from '../../../src/frr/vtysh.js';
import { startFrrWithConfig, type FrrDaemonName, type LoadMode, type StartedFrr } from './frr-daemons.js';
import { routerConfigFiles } from './router-config.js';

const COMMANDS = ['ip', 'vtysh', '/usr/lib/frr/zebra', '/usr/lib/frr/ospfd', '/usr/lib/frr/ospf6d', '/usr/lib/frr/bgpd', '/usr/lib/frr/bfdd'];

// Service addresses on lo (announce: address) and as kernel routes (announce: route, proto 201).
const SERVICE_ADDRESSES = ['192.0.2.53/32', '2001:db8:53::53/128'];
const SERVICE_ROUTES = ['192.0.2.54/32', '2001:db8:53::54/128'];
const SERVICES = [...SERVICE_ADDRESSES, ...SERVICE_ROUTES];
// announce: bgp (bgp variants only): the address on lo plus a network statement, as healthcast's bgp backend writes it.
const BGP_SERVICE = ['192.0.2.80/32', '2001:db8:80::80/128'];
// Not services: another range, and neighbours inside the service ranges (an `ge 32` range filter would leak these).
const FOREIGN_ADDRESSES = ['203.0.113.7/32', '192.0.2.99/32', '2001:db8:77::7/128', '2001:db8:53::99/128'];
const FOREIGN_ROUTES = ['192.0.2.98/32', '2001:db8:53::98/128'];
const FOREIGN_LATE = ['203.0.113.8/32', '2001:db8:53::97/128'];
const FOREIGN = [...FOREIGN_ADDRESSES, ...FOREIGN_ROUTES, ...FOREIGN_LATE];

interface Variant {
  style: FrrStyle;
  protocol: FrrProtocol;
  profile: ProfileName;
  mode: LoadMode;
  // fast runs over a broadcast link (DR election waits only the 3 s dead interval); default over point-to-point.
  network: OspfNetwork;
}

const VARIANTS: Variant[] = [];
for (const profile of ['fast', 'default'] as const) {
  for (const protocol of ['ospf', 'bgp'] as const) {
    const network = profile === 'fast' ? 'broadcast' : 'point-to-point';
    VARIANTS.push({ style: 'split', protocol, profile, mode: 'split', network });
    VARIANTS.push({ style: 'integrated', protocol, profile, mode: 'integrated-vtysh', network });
    if (profile === 'fast') VARIANTS.push({ style: 'integrated', protocol, profile, mode: 'integrated-each', network });
  }
}

function family(prefix: string): 4 | 6 {
  return prefix.includes(':') ? 6 : 4;
}

async function addRoute(node: LabNode, prefix: string): Promise<void> {
  await node.exec('ip', [`-${family(prefix)}`, 'route', 'add', prefix, 'dev', 'lo', 'proto', '201']);
}

// Kernel table and FRR RIB of the router, as prefixes with the protocol that installed them.
async function routerKnows(router: LabNode, vtysh: Vtysh): Promise<Map<string, string>> {
  const known = new Map<string, string>();
  for (const fam of [4, 6] as const) {
    for (const route of await router.routes(fam)) known.set(route.dst, `kernel:${route.protocol ?? '?'}`);
    const rib = await vtysh.show<Record<string, { protocol: string }[]>>(fam === 4 ? 'show ip route json' : 'show ipv6 route json');
    for (const [prefix, entries] of Object.entries(rib)) if (!known.has(prefix)) known.set(prefix, `rib:${entries[0]?.protocol ?? '?'}`);
  }
  return known;
}

function renderNode(variant: Variant, link: LabLink) {
  const resolved = resolveRenderOptions(
    {
      interface: 'lo',
      services: [
        { addresses: SERVICES.map((prefix) => prefix.split('/')[0]!), interface: 'lo' },
        { addresses: BGP_SERVICE.map((prefix) => prefix.split('/')[0]!), interface: 'lo', announce: 'bgp' },
      ],
      frr: {
        vtysh: 'vtysh',
        hostname: 'node-a',
        router_id: '10.255.0.2',
        interfaces: [{ name: link.bIf, network: variant.network }],
        asn: 65001,
        neighbors: [
          { address: link.aV4, remote_as: 65000 },
          { address: link.aV6, remote_as: 65000 },
        ],
      },
    },
    { style: variant.style, protocol: variant.protocol, profile: variant.profile },
  );
  if (!resolved.ok) throw new Error(resolved.errors.join('; '));
  return Object.fromEntries(renderFrrConfig(resolved.options).map((file) => [file.name, file.text]));
}

async function runVariant(t: { diagnostic(message: string): void }, variant: Variant): Promise<void> {
  const lab = await Lab.create({ name: 'rendered' });
  let nodeFrr: StartedFrr | undefined;
  let routerFrr: StartedFrr | undefined;
  try {
    const router = await lab.node('router');
    const node = await lab.node('a');
    const link = await lab.link(router, node);
    const nodeFiles = renderNode(variant, link);
    // The fast profile renders BFD. bfdd cannot take its block from frr.conf itself (it leaves configuration mode at
    // the first block it does not know, and its block comes last), so the integrated-each variant runs without it.
    const bfd = variant.profile === 'fast' && variant.mode !== 'integrated-each';
    const daemons: FrrDaemonName[] = [
      ...(variant.protocol === 'ospf' ? (['zebra', 'ospfd', 'ospf6d'] as const) : (['zebra', 'bgpd'] as const)),
      ...(bfd ? (['bfdd'] as const) : []),
    ];
    const started = Date.now();
    routerFrr = await startFrrWithConfig(lab, router, {
      daemons,
      mode: 'split',
      files: routerConfigFiles({
        hostname: 'router',
        routerId: '10.255.0.1',
        interface: link.aIf,
        network: variant.network,
        timers: PROFILES[variant.profile],
        ...(bfd ? { bfd: { ...DEFAULT_BFD } } : {}),
        ...(variant.protocol === 'bgp'
          ? {
              bgp: {
                asn: 65000,
                neighbors: [
                  { address: link.bV4, remoteAs: 65001 },
                  { address: link.bV6, remoteAs: 65001 },
                ],
              },
            }
          : {}),
      }),
    });
    // Foreign entries exist before the node's FRR starts: they would go out in its very first updates.
    for (const prefix of FOREIGN_ADDRESSES) await node.addAddress(prefix);
    for (const prefix of FOREIGN_ROUTES) await addRoute(node, prefix);
    nodeFrr = await startFrrWithConfig(lab, node, { daemons, files: nodeFiles, mode: variant.mode });
    for (const prefix of FOREIGN_LATE) await node.addAddress(prefix);
    for (const prefix of SERVICE_ADDRESSES) await node.addAddress(prefix);
    for (const prefix of SERVICE_ROUTES) await addRoute(node, prefix);

    const timeoutMs = variant.profile === 'fast' ? 20_000 : 90_000;
    const expectedProtocol = variant.protocol === 'ospf' ? 'ospf' : 'bgp';
    await waitFor(
      `the router to learn ${SERVICES.join(', ')}`,
      async () => {
        const known = await routerKnows(router, routerFrr!.vtysh);
        return SERVICES.every((prefix) => known.get(prefix) === `kernel:${expectedProtocol}`);
      },
      { timeoutMs, intervalMs: 50 },
    ).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}\n${nodeFrr?.logs()}\n${routerFrr?.logs()}`);
    });
    t.diagnostic(
      `${variant.style}/${variant.protocol}/${variant.profile} (${variant.mode}): router has all service prefixes ${Date.now() - started} ms after FRR start`,
    );

    if (bfd) await bfdSessionsUp(t, nodeFrr, variant);

    // The node's own view: FRR originates the services and none of the rest.
    const advertised = await checkAdvertised(nodeFrr.vtysh, [...SERVICES, ...FOREIGN], variant.protocol);
    for (const prefix of SERVICES) assert.equal(advertised.get(prefix)?.advertised, 'yes', `${prefix} originated by the node`);
    for (const prefix of FOREIGN) assert.equal(advertised.get(prefix)?.advertised, 'no', `${prefix} not originated: ${advertised.get(prefix)?.reason}`);
    // And the router's: a grace period after the services arrived, no foreign prefix anywhere.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const known = await routerKnows(router, routerFrr.vtysh);
    for (const prefix of FOREIGN) assert.equal(known.has(prefix), false, `${prefix} must not reach the router (${known.get(prefix)})`);

    if (variant.mode === 'integrated-each' && variant.protocol === 'ospf') {
      // ospf6d reads `router ospf` in frr.conf as `router ospf6` (keyword prefix match); the later block must win.
      const running = await nodeFrr.vtysh.run(['show running-config']);
      assert.match(running, /router ospf6\n(?: .*\n)* redistribute connected route-map HC-SERVICES-V6\n/);
    }

    // healthcast withdraws: the address and the kernel route go, the router forgets them, FRR says no.
    await node.deleteAddress(SERVICE_ADDRESSES[0]!);
    await node.exec('ip', ['route', 'del', SERVICE_ROUTES[1]!, 'dev', 'lo', 'proto', '201']);
    const gone = [SERVICE_ADDRESSES[0]!, SERVICE_ROUTES[1]!];
    const withdrawStarted = Date.now();
    await waitFor(
      `the router to forget ${gone.join(', ')}`,
      async () => {
        const now = await routerKnows(router, routerFrr!.vtysh);
        return gone.every((prefix) => !now.has(prefix));
      },
      { timeoutMs, intervalMs: 50 },
    );
    t.diagnostic(`withdraw seen on the router after ${Date.now() - withdrawStarted} ms`);
    if (variant.protocol === 'bgp') await announceWithNetworkStatements(router, routerFrr.vtysh, node, nodeFrr.vtysh, timeoutMs);
    const after = await checkAdvertised(nodeFrr.vtysh, SERVICES, variant.protocol);
    assert.deepEqual(
      SERVICES.map((prefix) => after.get(prefix)?.advertised),
      SERVICES.map((prefix) => (gone.includes(prefix) ? 'no' : 'yes')),
    );
    const still = await routerKnows(router, routerFrr.vtysh);
    for (const prefix of SERVICES.filter((entry) => !gone.includes(entry))) assert.equal(still.get(prefix), `kernel:${expectedProtocol}`, `${prefix} stays`);
  } finally {
    await lab.destroy();
  }
}

interface BfdPeer {
  peer?: string;
  status?: string;
  'receive-interval'?: number;
  'transmit-interval'?: number;
  'detect-multiplier'?: number;
}

// The rendered BFD works: one session per OSPF daemon (link address, link-local) or per BGP neighbour, up, with the
// profile's timers (FRR's own default would be 300 ms x 3).
async function bfdSessionsUp(t: { diagnostic(message: string): void }, frr: StartedFrr, variant: Variant): Promise<void> {
  let peers: BfdPeer[] = [];
  await waitFor(
    'two BFD sessions up on the node',
    async () => {
      peers = await frr.vtysh.show<BfdPeer[]>('show bfd peers json');
      return peers.filter((peer) => peer.status === 'up').length === 2;
    },
    { timeoutMs: 20_000, intervalMs: 100 },
  ).catch((error: unknown) => {
    throw new Error(`${(error as Error).message}: ${JSON.stringify(peers)}\n${frr.logs()}`);
  });
  for (const peer of peers) {
    assert.deepEqual(
      [peer['receive-interval'], peer['transmit-interval'], peer['detect-multiplier']],
      [DEFAULT_BFD.receiveIntervalMs, DEFAULT_BFD.transmitIntervalMs, DEFAULT_BFD.detectMultiplier],
      `BFD peer ${peer.peer}`,
    );
  }
  t.diagnostic(`${variant.style}/${variant.protocol}: BFD up with ${peers.map((peer) => peer.peer).join(', ')}`);
}

// announce: bgp through the rendered config: the network statement reaches the router; removing it (the drain's first
// step) withdraws the prefix although the address stays on lo, so redistribution does not carry it.
async function announceWithNetworkStatements(router: LabNode, routerVtysh: Vtysh, node: LabNode, nodeVtysh: Vtysh, timeoutMs: number): Promise<void> {
  for (const prefix of BGP_SERVICE) await node.addAddress(prefix);
  const statements = (verb: '' | 'no ') => [
    'router bgp 65001',
    'address-family ipv4 unicast',
    `${verb}network ${BGP_SERVICE[0]}`,
    'exit-address-family',
    'address-family ipv6 unicast',
    `${verb}network ${BGP_SERVICE[1]}`,
    'exit-address-family',
  ];
  await nodeVtysh.configure(statements(''));
  await waitFor(
    `the router to learn ${BGP_SERVICE.join(', ')} from network statements`,
    async () => {
      const known = await routerKnows(router, routerVtysh);
      return BGP_SERVICE.every((prefix) => known.get(prefix) === 'kernel:bgp');
    },
    { timeoutMs, intervalMs: 50 },
  );
  await nodeVtysh.configure(statements('no '));
  await waitFor(
    `the router to forget ${BGP_SERVICE.join(', ')} while the addresses stay on the node's lo`,
    async () => {
      const known = await routerKnows(router, routerVtysh);
      return BGP_SERVICE.every((prefix) => !known.has(prefix));
    },
    { timeoutMs, intervalMs: 50 },
  );
}

for (const variant of VARIANTS) {
  const name = `${variant.style} ${variant.protocol} ${variant.profile}${variant.mode === 'integrated-each' ? ' (frr.conf read by each daemon)' : variant.mode === 'integrated-vtysh' ? ' (frr.conf applied by vtysh)' : ''}: exactly the service prefixes reach the router`;
  test(name, { timeout: variant.profile === 'fast' ? 60_000 : 240_000 }, async (t) => {
    if (!requirePrerequisites(t, { root: true, commands: COMMANDS })) return;
    await runVariant(t, variant);
  });
}
