import { test } from 'node:test';
import assert from 'node:assert/strict';
import { announceCommands, planAnnouncements, routerCommands, L2Announcer } from '../../../src/l2/announce.js';
import { serviceConfig, switchProbe } from '../../support/agent-fixtures.js';
import { silentLogger } from '../../../src/log.js';
import type { ReconcileReport } from '../../../src/routing/types.js';

const probe = switchProbe();
const vip = serviceConfig('vip', ['198.51.100.10', '2001:db8:1::10'], probe.definition, { interface: 'eth0', announceL2: { count: 2 } });
const plain = serviceConfig('plain', ['198.51.100.11'], probe.definition, { interface: 'eth0' });
const loop = serviceConfig('loop', ['192.0.2.53'], probe.definition, { announceL2: { count: 3 } });

test('only addresses added on a LAN interface of a service with announce_l2 are announced', () => {
  const added = [
    { kind: 'address' as const, address: '198.51.100.10', interface: 'eth0' },
    { kind: 'address' as const, address: '2001:db8:1::10', interface: 'eth0' },
    { kind: 'address' as const, address: '198.51.100.11', interface: 'eth0' },
    { kind: 'address' as const, address: '192.0.2.53', interface: 'lo' },
    { kind: 'route' as const, address: '198.51.100.10', interface: 'eth0' },
  ];
  assert.deepEqual(planAnnouncements(added, [vip, plain, loop]), [
    { service: 'vip', family: 4, address: '198.51.100.10', interface: 'eth0', count: 2, routers: [] },
    { service: 'vip', family: 6, address: '2001:db8:1::10', interface: 'eth0', count: 2, routers: [] },
  ]);
  const routed = { ...vip, announceL2: { count: 2, routers: ['198.51.100.1', '2001:db8:1::1'] } };
  assert.deepEqual(
    planAnnouncements(added.slice(0, 2), [routed]).map((job) => job.routers),
    [['198.51.100.1'], ['2001:db8:1::1']],
    'each job tells the routers of its family',
  );
});

test('a router is told directly: a unicast NA with override (IPv6; ndptool allows -D only without -U), then a ping from the address', () => {
  const job = { service: 'vip', family: 6 as const, address: '2001:db8:1::10', interface: 'eth0', count: 2, routers: ['2001:db8:1::1'] };
  assert.deepEqual(routerCommands(job, '2001:db8:1::1'), {
    na: ['ndptool', '-t', 'na', '-i', 'eth0', '-T', '2001:db8:1::10', '-D', '2001:db8:1::1', 'send'],
    ping: ['ping', '-c', '1', '-W', '1', '-I', '2001:db8:1::10', '2001:db8:1::1'],
  });
  assert.deepEqual(routerCommands({ ...job, family: 4, address: '198.51.100.10' }, '198.51.100.1'), {
    ping: ['ping', '-c', '1', '-W', '1', '-I', '198.51.100.10', '198.51.100.1'],
  });
});

test('gratuitous ARP is one arping run with a count; NAs are one ndptool run each', () => {
  assert.deepEqual(announceCommands({ service: 'vip', family: 4, address: '198.51.100.10', interface: 'eth0', count: 3, routers: [] }), [
    ['arping', '-U', '-c', '3', '-I', 'eth0', '198.51.100.10'],
  ]);
  assert.deepEqual(announceCommands({ service: 'vip', family: 6, address: '2001:db8:1::10', interface: 'eth0', count: 2, routers: [] }), [
    ['ndptool', '-t', 'na', '-U', '-i', 'eth0', '-T', '2001:db8:1::10', 'send'],
    ['ndptool', '-t', 'na', '-U', '-i', 'eth0', '-T', '2001:db8:1::10', 'send'],
  ]);
});

test('the announcer reacts to reports without blocking and reports failures of the tools', async () => {
  const outcomes: [string, boolean][] = [];
  const announcer = new L2Announcer({
    services: () => [vip],
    log: silentLogger(),
    intervalMs: 10,
    tools: { arping: 'true', ndptool: '/nonexistent/ndptool' },
    onResult: (job, ok) => outcomes.push([job.address, ok]),
  });
  const report: ReconcileReport = {
    desired: new Map(),
    added: [
      { kind: 'address', address: '198.51.100.10', interface: 'eth0' },
      { kind: 'address', address: '2001:db8:1::10', interface: 'eth0' },
    ],
    removed: [],
    errors: [],
    durationMs: 1,
  };
  announcer.onReport(report);
  // Not blocking: the call returns before any tool has finished (a timed bound here failed on a loaded machine).
  assert.deepEqual(outcomes, []);
  await announcer.idle();
  assert.deepEqual(outcomes.sort(), [
    ['198.51.100.10', true],
    ['2001:db8:1::10', false],
  ]);
});
