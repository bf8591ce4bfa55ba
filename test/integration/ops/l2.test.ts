// LAN announcements in a lab: peer, old node and new node on one bridge. When a floating address moves to the new
// node, the peer's neighbour entry moves to the new node's MAC at once (no traffic from the peer needed) for the
// service with announce_l2, while the entry of a service without it keeps pointing at the old node. The agent runs
// with the unit's privileges: an unprivileged user with CAP_NET_ADMIN and CAP_NET_RAW.
import { test } from 'node:test';
import fs from 'node:fs';
import path from 'node:path';
import assert from 'node:assert/strict';
import { requirePrerequisites } from '../../support/prereq.js';
import { createNamespace, createVeth, deleteNamespace, ip } from '../../../lab/netns.js';
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
  if (!requirePrerequisites(t, { root: true, commands: [...OPS_COMMANDS, 'arping', 'ndptool', 'ping'] })) return;
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
  const { runIn } = await import('../../../lab/netns.js');
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

  // Failover: the old node loses them without telling anyone; the new node's agent adds them.
  for (const vip of vips) await ip(['-n', old, 'address', 'del', `${vip}/${vip.includes(':') ? 128 : 32}`, 'dev', 'eth0']);
  await new Promise((resolve) => setTimeout(resolve, 1100)); // past the peer's ARP locktime (1 s) since the pings
  await node.startListener();
  node.writeConfig(
    baseConfig(node, [
      service('vip', ['198.51.100.10', '2001:db8:1::10'], node.port, { interface: 'lan0', announce_l2: { count: 2 }, rise: 1 }),
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
});
