// The lab itself on real FRR: filtered redistribution reaches the router, and nothing survives tear-down.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { requirePrerequisites } from '../../support/prereq.js';
import { buildAnycastLab } from '../../../lab/topology.js';
import { withLab } from '../../../lab/lab.js';
import { listNamespaces } from '../../../lab/netns.js';
import { isGone } from '../../../lab/proc.js';
import { frrRoute, frrRoutes, kernelRoute, nextHops, waitForRoute } from '../../../lab/routes.js';
import { waitFor } from '../../../lab/process.js';
import { waitForBgpSessions } from '../../../lab/frr.js';

const FRR_COMMANDS = ['ip', 'vtysh', '/usr/lib/frr/zebra', '/usr/lib/frr/ospfd', '/usr/lib/frr/ospf6d'];
const SERVICE_V4 = '192.0.2.53/32';
const SERVICE_V6 = '2001:db8:53::53/128';

async function assertTornDown(id: string, pids: readonly number[], dir: string): Promise<void> {
  assert.deepEqual(
    (await listNamespaces()).filter((name) => name.endsWith(`-${id}`)),
    [],
    'no namespace of this run is left',
  );
  assert.deepEqual(
    pids.filter((pid) => !isGone(pid)),
    [],
    'no daemon of this run is left',
  );
  assert.equal(fs.existsSync(dir), false, 'the lab directory is removed');
}

test('router learns exactly the node host routes the prefix-lists allow, and they leave when removed', { timeout: 60_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, commands: FRR_COMMANDS })) return;
  const topology = await buildAnycastLab({ nodes: 1, name: 'labtest' });
  const { lab, router, links } = topology;
  const [node] = topology.nodes;
  const link = links[0]!;
  const pids = [router, node!].flatMap((n) => n.frr!.daemons.map((daemon) => daemon.pid));
  try {
    t.diagnostic(`lab ${lab.id} converged in ${topology.readyMs} ms`);
    assert.equal(pids.length, 6, 'zebra, ospfd and ospf6d in both namespaces');

    await node!.addAddress(SERVICE_V4, { label: 'lo:test' });
    await node!.addAddress(SERVICE_V6);
    const upV4 = await waitForRoute(router, SERVICE_V4, true);
    const upV6 = await waitForRoute(router, SERVICE_V6, true);
    t.diagnostic(`announce seen on router (kernel + RIB): IPv4 ${upV4} ms, IPv6 ${upV6} ms`);
    const v4 = await kernelRoute(router, SERVICE_V4);
    assert.equal(v4?.protocol, 'ospf');
    assert.deepEqual(nextHops(v4!), [`${link.bV4}@${link.aIf}`]);
    assert.equal((await frrRoute(router, SERVICE_V4))?.protocol, 'ospf');
    assert.equal((await kernelRoute(router, SERVICE_V6))?.protocol, 'ospf');
    assert.equal((await frrRoute(router, SERVICE_V6))?.protocol, 'ospf6');

    // Outside the filters: another range, a non-host prefix inside each service range.
    const foreign = ['203.0.113.7/32', '192.0.2.64/26', '2001:db8:77::1/64', 'fd00:77::7/128'];
    for (const cidr of foreign) await node!.addAddress(cidr);
    // A permitted address added after them: once it is on the router, the others had their chance.
    await node!.addAddress('192.0.2.54/32');
    await node!.addAddress('2001:db8:53::54/128');
    await waitForRoute(router, '192.0.2.54/32', true);
    await waitForRoute(router, '2001:db8:53::54/128', true);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const known = [
      ...Object.keys(await frrRoutes(router, 4)),
      ...Object.keys(await frrRoutes(router, 6)),
      ...(await router.routes(4)).map((r) => r.dst),
      ...(await router.routes(6)).map((r) => r.dst),
    ];
    for (const prefix of ['203.0.113.7/32', '192.0.2.64/26', '2001:db8:77::/64', 'fd00:77::7/128']) {
      assert.equal(known.includes(prefix), false, `${prefix} must not be advertised`);
    }

    await node!.deleteAddress(SERVICE_V4);
    await node!.deleteAddress(SERVICE_V6);
    const downV4 = await waitForRoute(router, SERVICE_V4, false);
    const downV6 = await waitForRoute(router, SERVICE_V6, false);
    t.diagnostic(`withdraw seen on router (kernel + RIB): IPv4 ${downV4} ms, IPv6 ${downV6} ms`);
    assert.ok(await kernelRoute(router, '192.0.2.54/32'), 'the other service address stays');
  } finally {
    await lab.destroy();
  }
  await assertTornDown(lab.id, pids, lab.dir);
});

test('bgpd variant: filtered host routes reach the router over eBGP (v4 and v6 sessions), no OSPF', { timeout: 60_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, commands: [...FRR_COMMANDS, '/usr/lib/frr/bgpd'] })) return;
  await withLab({ name: 'bgptest' }, async (lab) => {
    const router = await lab.node('router');
    const node = await lab.node('a');
    const link = await lab.link(router, node);
    const started = Date.now();
    const [routerFrr, nodeFrr] = await Promise.all([
      lab.startFrr(router, {
        bgp: {
          asn: 65000,
          neighbors: [
            { address: link.bV4, asn: 65001 },
            { address: link.bV6, asn: 65001 },
          ],
        },
      }),
      lab.startFrr(node, {
        announce: true,
        bgp: {
          asn: 65001,
          neighbors: [
            { address: link.aV4, asn: 65000 },
            { address: link.aV6, asn: 65000 },
          ],
        },
      }),
    ]);
    assert.deepEqual(
      routerFrr.daemons.map((daemon) => daemon.name.split('/')[1]),
      ['zebra', 'bgpd'],
    );
    await Promise.all([waitForBgpSessions(routerFrr), waitForBgpSessions(nodeFrr)]);
    t.diagnostic(`BGP sessions Established after ${Date.now() - started} ms`);
    await node.addAddress('203.0.113.7/32');
    await node.addAddress(SERVICE_V4);
    await node.addAddress(SERVICE_V6);
    const up = Math.max(await waitForRoute(router, SERVICE_V4, true), await waitForRoute(router, SERVICE_V6, true));
    t.diagnostic(`announce over BGP seen on router in ${up} ms`);
    assert.equal((await frrRoute(router, SERVICE_V4))?.protocol, 'bgp');
    assert.equal((await kernelRoute(router, SERVICE_V6))?.protocol, 'bgp');
    assert.equal((await frrRoutes(router, 4))['203.0.113.7/32'], undefined, 'outside the prefix-list');
    await node.deleteAddress(SERVICE_V4);
    t.diagnostic(`withdraw over BGP seen on router in ${await waitForRoute(router, SERVICE_V4, false)} ms`);
  });
});

test('withLab tears down when the body throws', { timeout: 30_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, commands: FRR_COMMANDS })) return;
  let seen: { id: string; dir: string; pids: number[] } | undefined;
  await assert.rejects(
    withLab({ name: 'failing' }, async (lab) => {
      const a = await lab.node('a');
      const b = await lab.node('b');
      await lab.link(a, b);
      const frr = await lab.startFrr(a);
      seen = { id: lab.id, dir: lab.dir, pids: frr.daemons.map((daemon) => daemon.pid) };
      assert.equal((await listNamespaces()).filter((name) => name.endsWith(`-${lab.id}`)).length, 2);
      throw new Error('body failed');
    }),
    /body failed/,
  );
  assert.ok(seen);
  await assertTornDown(seen.id, seen.pids, seen.dir);
});

test('SIGTERM to a process holding a lab removes namespaces and daemons', { timeout: 60_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, commands: FRR_COMMANDS })) return;
  const hold = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../lab/hold.js');
  const child = spawn(process.execPath, [hold, '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    err += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    const line = await waitFor(
      'the held lab to describe itself',
      () => {
        if (child.exitCode !== null) throw new Error(`hold exited ${child.exitCode}: ${err}`);
        return out.includes('\n') ? out.slice(0, out.indexOf('\n')) : undefined;
      },
      { timeoutMs: 30_000 },
    );
    const held = JSON.parse(line) as { id: string; dir: string; namespaces: string[]; pids: number[] };
    assert.equal(held.namespaces.length, 2);
    assert.deepEqual(
      held.pids.filter((pid) => isGone(pid)),
      [],
      'the daemons run before the signal',
    );
    child.kill('SIGTERM');
    assert.equal(await exited, 143);
    await assertTornDown(held.id, held.pids, held.dir);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});
