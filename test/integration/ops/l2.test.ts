// LAN announcements in a lab: peer, old node and new node on one bridge. When a floating address moves to the new
// node, the peer's neighbour entry moves to the new node's MAC at once (no traffic from the peer needed) for the
// service with announce_l2, while the entry of a service without it keeps pointing at the old node. The agent runs
// with the unit's privileges: an unprivileged user with CAP_NET_ADMIN and CAP_NET_RAW.
import { test } from 'node:test';
import fs from 'node:fs';
import path from 'node:path';
import assert from 'node:assert/strict';
import { requirePrerequisites } from '../../support/prereq.js';
import { createNamespace, createVeth, deleteNamespace, ip, runIn } from '../../../lab/netns.js';
import { waitFor } from '../../../lab/process.js';
import { baseConfig, OPS_COMMANDS, opsNode, service } from './harness.js';

interface Neighbour {
  dst: string;
  lladdr?: string;
  state?: string[];
}

async function mac(ns: string, dev: string): Promise<string> {
  return (JSON.parse(await ip(['-n', ns, '-j', 'link', 'show', 'dev', dev])) as { address: string }[])[0]!.address;
}

async function neighbour(ns: string, dev: string, address: string): Promise<string | undefined> {
  const entries = JSON.parse(await ip(['-n', ns, '-j', 'neigh', 'show', 'dev', dev])) as Neighbour[];
  return entries.find((entry) => entry.dst === address)?.lladdr;
}

test("announce_l2: gratuitous ARP and unsolicited NA move the peer's neighbour entries to the new node", { timeout: 90_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, commands: [...OPS_COMMANDS, 'arping', 'ndptool', 'ping', 'ndisc6', 'sysctl'] })) return;
  const suffix = `${process.pid % 10000}${Math.random().toString(36).slice(2, 5)}`;
  const sw = `hcl2sw-${suffix}`;
  const peer = `hcl2peer-${suffix}`;
  const old = `hcl2old-${suffix}`;
  t.after(async () => {
    for (const ns of [sw, peer, old]) await deleteNamespace(ns).catch(() => undefined);
  });
  const node = await opsNode(t, 'l2');
  for (const ns of [sw, peer, old]) await createNamespace(ns);
  await ip(['-n', sw, 'link', 'add', 'br0', 'type', 'bridge']);
  await ip(['-n', sw, 'link', 'set', 'br0', 'up']);
  const ends: [string, string, string][] = [
    [peer, 'pp', 'eth0'],
    [old, 'po', 'eth0'],
    [node.ns, 'pn', 'lan0'],
  ];
  for (const [ns, port, dev] of ends) {
    await createVeth({ netns: sw, ifname: port }, { netns: ns, ifname: dev });
    await ip(['-n', sw, 'link', 'set', port, 'master', 'br0']);
  }
  await ip(['-n', peer, 'address', 'add', '198.51.100.1/24', 'dev', 'eth0']);
  await ip(['-n', peer, 'address', 'add', '2001:db8:1::1/64', 'dev', 'eth0', 'nodad']);
  await ip(['-n', old, 'address', 'add', '198.51.100.2/24', 'dev', 'eth0']);
  await ip(['-n', old, 'address', 'add', '2001:db8:1::2/64', 'dev', 'eth0', 'nodad']);
  await ip(['-n', node.ns, 'address', 'add', '198.51.100.3/24', 'dev', 'lan0']);
  await ip(['-n', node.ns, 'address', 'add', '2001:db8:1::3/64', 'dev', 'lan0', 'nodad']);
  const oldMac = await mac(old, 'eth0');
  const newMac = await mac(node.ns, 'lan0');

  // The addresses live on the old node first; the peer talks to them, so it caches the old node's MAC.
  const vips = ['198.51.100.10', '2001:db8:1::10', '198.51.100.11'];
  for (const vip of vips)
    await ip(['-n', old, 'address', 'add', `${vip}/${vip.includes(':') ? 128 : 32}`, 'dev', 'eth0', ...(vip.includes(':') ? ['nodad'] : [])]);
  for (const vip of vips)
    await waitFor(
      `peer reaches ${vip}`,
      () =>
        runIn(peer, 'ping', ['-c', '1', '-W', '1', vip]).then(
          () => true,
          () => false,
        ),
      { timeoutMs: 10_000 },
    );
  for (const vip of vips) assert.equal(await neighbour(peer, 'eth0', vip), oldMac, `peer caches the old node for ${vip}`);

  // The kernel's default (arp_ignore=0): it answers ARP on lan0 for a local address that is on another interface, as a
  // drained address is (parked on the drain interface). The agent raises arp_ignore on lan0 so that stops.
  assert.equal(await sysctl(node.ns, 'lan0'), '0');
  await ip(['-n', node.ns, 'address', 'add', '198.51.100.20/32', 'dev', 'lo']);
  assert.equal(await arpAnswered(peer, '198.51.100.20'), true, 'by default the host answers ARP on lan0 for an address on lo');
  await ip(['-n', node.ns, 'address', 'del', '198.51.100.20/32', 'dev', 'lo']);

  // Failover: the old node loses them without telling anyone; the new node's agent adds them.
  for (const vip of vips) await ip(['-n', old, 'address', 'del', `${vip}/${vip.includes(':') ? 128 : 32}`, 'dev', 'eth0']);
  await new Promise((resolve) => setTimeout(resolve, 1100)); // past the peer's ARP locktime (1 s) since the pings
  await node.startListener();
  node.writeConfig(
    baseConfig(node, [
      service('vip', ['198.51.100.10', '2001:db8:1::10'], node.port, {
        interface: 'lan0',
        announce_l2: { count: 2 },
        l2_router: ['2001:db8:1::1', '198.51.100.1'],
        rise: 1,
        drain: '4s',
      }),
      service('plain', ['198.51.100.11'], node.port, { interface: 'lan0', rise: 1 }),
    ]),
  );
  // As the unit runs it: an unprivileged user with CAP_NET_ADMIN and, for arping/ndptool, CAP_NET_RAW only.
  for (const dir of [node.stateDir, path.dirname(node.socket)]) {
    fs.mkdirSync(dir, { recursive: true });
    fs.chownSync(dir, 65534, 65534);
  }
  const caps = '-all,+net_admin,+net_raw';
  const started = Date.now();
  await node.startAgent({
    wrap: ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', `--inh-caps=${caps}`, `--ambient-caps=${caps}`, `--bounding-set=${caps}`],
  });
  assert.match(fs.readFileSync(`/proc/${node.agent!.pid}/status`, 'utf8'), /^CapEff:\s+0000000000003000$/m, 'exactly CAP_NET_ADMIN and CAP_NET_RAW');
  await waitFor(
    'addresses on the new node',
    async () => {
      const links = JSON.parse(await ip(['-n', node.ns, '-j', 'address', 'show', 'dev', 'lan0'])) as { addr_info: { local: string }[] }[];
      const locals = links.flatMap((link) => link.addr_info.map((info) => info.local));
      return vips.every((vip) => locals.includes(vip));
    },
    { timeoutMs: 5000 },
  );
  await waitFor("peer's IPv4 entry on the new MAC", async () => (await neighbour(peer, 'eth0', '198.51.100.10')) === newMac, { timeoutMs: 3000 });
  await waitFor("peer's IPv6 entry on the new MAC", async () => (await neighbour(peer, 'eth0', '2001:db8:1::10')) === newMac, { timeoutMs: 3000 });
  t.diagnostic(`agent start -> peer's entries moved: ${Date.now() - started} ms`);
  assert.equal(await neighbour(peer, 'eth0', '198.51.100.11'), oldMac, 'without announce_l2 the peer still points at the old node');
  await node.waitForLine('arp logged', (line) => line.msg === 'gratuitous ARP sent' && line.address === '198.51.100.10');
  await node.waitForLine('na logged', (line) => line.msg === 'unsolicited neighbor advertisements sent' && line.address === '2001:db8:1::10');
  // The router (the peer here) was told directly, and a ping from the address came back to this node: its entry for
  // the IPv6 address is confirmed (REACHABLE) at the new node's MAC.
  for (const router of ['2001:db8:1::1', '198.51.100.1'])
    await node
      .waitForLine(`${router} refreshed`, (line) => line.msg.startsWith(`l2_router ${router} refreshed`), 5000)
      .catch((error: Error) => {
        throw new Error(`${error.message}; l2 log: ${JSON.stringify(node.lines().filter((line) => line.component === 'l2'))}`);
      });
  const routerEntry = (JSON.parse(await ip(['-n', peer, '-j', 'neigh', 'show', 'dev', 'eth0'])) as Neighbour[]).find((entry) => entry.dst === '2001:db8:1::10');
  assert.equal(routerEntry?.lladdr, newMac);
  assert.ok(
    routerEntry?.state?.some((state) => ['REACHABLE', 'DELAY', 'PROBE'].includes(state)),
    `router entry confirmed or being confirmed: ${JSON.stringify(routerEntry)}`,
  );

  // While vip is drained its addresses sit on the drain interface: still answered for traffic already on its way, but
  // the LAN hears no ARP (arp_ignore=1) or NA (the kernel answers NS only for addresses on the receiving interface).
  assert.equal(await sysctl(node.ns, 'lan0'), '1', 'the agent raised arp_ignore on lan0');
  await node.waitForLine('arp_ignore logged', (line) => line.msg.startsWith('net.ipv4.conf.lan0.arp_ignore set to 1'));
  assert.equal(await arpAnswered(peer, '198.51.100.10'), true, 'announced: answered');
  assert.equal(await naAnswered(peer, '2001:db8:1::10'), true, 'announced: answered');
  const drain = node.spawnCli(['drain', 'vip']);
  const drained = new Promise<number | null>((resolve) => drain.on('exit', resolve));
  await waitFor(
    'vip parked on the drain interface',
    async () => {
      const onLan = await addressesOn(node.ns, 'lan0');
      return !onLan.includes('198.51.100.10') && !onLan.includes('2001:db8:1::10');
    },
    { timeoutMs: 5000, intervalMs: 20 },
  );
  assert.equal(await arpAnswered(peer, '198.51.100.10'), false, 'drained: no ARP answer');
  assert.equal(await naAnswered(peer, '2001:db8:1::10'), false, 'drained: no NA');
  const parked = JSON.parse(await ip(['-n', node.ns, '-j', 'address', 'show'])) as { ifname: string; addr_info: { local: string }[] }[];
  assert.ok(
    parked.some((link) => link.ifname !== 'lan0' && link.addr_info.some((info) => info.local === '198.51.100.10')),
    'still on the host (the drain interface) while the ARP went unanswered',
  );
  assert.equal(await drained, 0, 'healthcast drain vip');
});

async function sysctl(ns: string, dev: string): Promise<string> {
  return (await runIn(ns, 'sysctl', ['-n', `net.ipv4.conf.${dev}.arp_ignore`])).stdout.trim();
}

// One ARP request from the peer: answered or not within a second.
async function arpAnswered(ns: string, address: string): Promise<boolean> {
  const { stdout } = await runIn(ns, 'arping', ['-c', '1', '-w', '1', '-I', 'eth0', address]).catch((error: Error) => ({ stdout: error.message }));
  return /Received [1-9]\d* response/.test(stdout);
}

// One neighbour solicitation from the peer (ndisc6): answered or not within half a second.
async function naAnswered(ns: string, address: string): Promise<boolean> {
  return runIn(ns, 'ndisc6', ['-r', '1', '-w', '500', address, 'eth0']).then(
    () => true,
    () => false,
  );
}

async function addressesOn(ns: string, dev: string): Promise<string[]> {
  const links = JSON.parse(await ip(['-n', ns, '-j', 'address', 'show', 'dev', dev])) as { addr_info: { local: string }[] }[];
  return links.flatMap((link) => link.addr_info.map((info) => info.local));
}
