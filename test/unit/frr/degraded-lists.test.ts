// The degraded prefix-lists' writer against fake targets: which daemons get the lists (those whose route-maps match
// them, by their own running config), the families each gets, vtysh only when no daemon's socket answers, and the
// full sync after a failure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DegradedLists, daemonTarget, type ListTarget } from '../../../src/frr/degraded-lists.js';
import { bgpSoftOut, changedV6Addresses, referencedFamilies, type DegradedAddress } from '../../../src/frr/degraded-plan.js';
import { resendLines } from '../../../src/frr/degraded-resend.js';
import { ErrorCodes } from '../../../src/errors.js';
import { VtyshError } from '../../../src/frr/vtysh-errors.js';
import { silentLogger } from '../../../src/log.js';
import { ManualClock } from '../../support/manual-clock.js';

const V4_MAP = 'route-map HC-SERVICES-V4 permit 1\n match ip address prefix-list HC-DEGRADED-V4-65000\n set metric 65000\nexit\n';
const V6_MAP = 'route-map HC-SERVICES-V6 permit 1\n match ipv6 address prefix-list HC-DEGRADED-V6-65000\n set metric 65000\nexit\n';
const SENTINELS = 'ip prefix-list HC-DEGRADED-V4-65000 seq 4294967295 deny any\nipv6 prefix-list HC-DEGRADED-V6-65000 seq 4294967295 deny any\n';

interface Fake extends ListTarget {
  written: string[][];
  config: string | undefined; // undefined: the socket does not answer
  failNext: boolean;
}

function fake(name: string, config: string | undefined): Fake {
  const target: Fake = {
    name,
    written: [],
    config,
    failNext: false,
    read: () =>
      target.config === undefined
        ? Promise.reject(new VtyshError(ErrorCodes.VTYSH_DAEMON_DOWN, `${name} is not running`, { commands: [] }))
        : Promise.resolve(target.config),
    write: (lines) => {
      if (target.failNext) {
        target.failNext = false;
        return Promise.reject(new VtyshError(ErrorCodes.VTYSH_DAEMON_DOWN, `${name} is not running`, { commands: [...lines] }));
      }
      target.written.push([...lines]);
      // What the daemon then holds: an added entry is listed, a removed one no more.
      for (const line of lines) {
        if (line.startsWith('no ')) target.config = target.config!.replace(`${line.slice(3)}\n`, '');
        else target.config += `${line}\n`;
      }
      return Promise.resolve();
    },
  };
  return target;
}

function writer(daemons: Fake[], fallback: Fake, degraded: () => DegradedAddress[]) {
  return new DegradedLists({ daemons, fallback, degraded, log: silentLogger(), syncIntervalMs: 10_000, clock: new ManualClock() });
}

test('referencedFamilies: the families of the HC-DEGRADED lists a route-map matches', () => {
  assert.deepEqual(referencedFamilies(V4_MAP + V6_MAP), [4, 6]);
  assert.deepEqual(referencedFamilies(V6_MAP + SENTINELS), [6]);
  assert.deepEqual(referencedFamilies(`${SENTINELS}route-map X permit 1\n match ip address prefix-list HC-METRIC-V4-100\nexit\n`), []);
});

test('each daemon whose route-maps match the lists gets the entries of its families; zebra none; vtysh not used', async () => {
  const ospfd = fake('ospfd', V4_MAP + SENTINELS);
  const ospf6d = fake('ospf6d', V6_MAP + SENTINELS);
  const zebra = fake('zebra', SENTINELS);
  const vtysh = fake('vtysh', V4_MAP + V6_MAP);
  let degraded: DegradedAddress[] = [];
  const lists = writer([ospfd, ospf6d, zebra], vtysh, () => degraded);
  await lists.kick();
  assert.deepEqual(lists.targets(), ['ospfd', 'ospf6d']);
  assert.deepEqual([ospfd.written, ospf6d.written], [[], []], 'nothing degraded, sentinels present: nothing to write');
  degraded = [
    { address: '192.0.2.71', metric: 65000 },
    { address: '2001:db8:71::71', metric: 65000 },
  ];
  await lists.kick();
  assert.deepEqual(ospfd.written, [['ip prefix-list HC-DEGRADED-V4-65000 seq 10 permit 192.0.2.71/32']]);
  assert.deepEqual(ospf6d.written, [['ipv6 prefix-list HC-DEGRADED-V6-65000 seq 10 permit 2001:db8:71::71/128']]);
  degraded = [];
  await lists.kick();
  assert.deepEqual(ospfd.written[1], ['no ip prefix-list HC-DEGRADED-V4-65000 seq 10 permit 192.0.2.71/32']);
  assert.deepEqual(ospf6d.written[1], ['no ipv6 prefix-list HC-DEGRADED-V6-65000 seq 10 permit 2001:db8:71::71/128']);
  assert.deepEqual([zebra.written, vtysh.written], [[], []]);
});

test('a daemon whose socket does not answer is left out; vtysh only when none answers', async () => {
  const ospfd = fake('ospfd', undefined);
  const bgpd = fake('bgpd', undefined);
  const vtysh = fake('vtysh', V4_MAP + V6_MAP);
  const lists = writer([ospfd, bgpd], vtysh, () => [{ address: '192.0.2.71', metric: 65000 }]);
  await lists.kick();
  assert.deepEqual(lists.targets(), ['vtysh']);
  assert.deepEqual(vtysh.written, [
    ['ip prefix-list HC-DEGRADED-V4-65000 seq 4294967295 deny any', 'ip prefix-list HC-DEGRADED-V4-65000 seq 10 permit 192.0.2.71/32'],
  ]);
  bgpd.config = V4_MAP + V6_MAP;
  await lists.kick(); // the mirror is trusted until a failure or the periodic sync
  assert.deepEqual(bgpd.written, []);
  lists.stop();
});

test('a failed write: one full sync from what the daemon holds, which repairs a restarted daemon', async () => {
  const ospfd = fake('ospfd', V4_MAP + SENTINELS);
  const vtysh = fake('vtysh', '');
  let degraded: DegradedAddress[] = [{ address: '192.0.2.71', metric: 65000 }];
  const lists = writer([ospfd], vtysh, () => degraded);
  await lists.kick();
  assert.deepEqual(ospfd.written, [['ip prefix-list HC-DEGRADED-V4-65000 seq 10 permit 192.0.2.71/32']]);
  // ospfd restarts: its lists are the rendered ones again (the sentinel only), and the kept connection fails once.
  ospfd.config = V4_MAP + SENTINELS;
  ospfd.failNext = true;
  degraded = [...degraded, { address: '192.0.2.72', metric: 65000 }];
  await lists.kick();
  assert.deepEqual(ospfd.written.slice(1), [
    ['ip prefix-list HC-DEGRADED-V4-65000 seq 10 permit 192.0.2.71/32', 'ip prefix-list HC-DEGRADED-V4-65000 seq 20 permit 192.0.2.72/32'],
  ]);
  assert.deepEqual(vtysh.written, []);
});

test("bgpd's batch ends with an outbound soft refresh of the families changed; other daemons' batches are the lines alone", async () => {
  assert.deepEqual(bgpSoftOut(['ip prefix-list HC-DEGRADED-V4-65000 seq 10 permit 192.0.2.71/32']), ['do clear bgp ipv4 unicast * soft out']);
  assert.deepEqual(
    bgpSoftOut(['no ipv6 prefix-list HC-DEGRADED-V6-65000 seq 10 permit 2001:db8::1/128', 'ip prefix-list HC-DEGRADED-V4-1 seq 4294967295 deny any']),
    ['do clear bgp ipv4 unicast * soft out', 'do clear bgp ipv6 unicast * soft out'],
  );
  const sent: string[][] = [];
  const asked: string[][] = [];
  const vty = { configure: (lines: readonly string[]) => (sent.push([...lines]), Promise.resolve('')), close: () => undefined };
  const reader = { run: (commands: readonly string[]) => (asked.push([...commands]), Promise.resolve('')) };
  await daemonTarget('bgpd', vty, reader).write(['ip prefix-list HC-DEGRADED-V4-65000 seq 10 permit 192.0.2.71/32']);
  await daemonTarget('ospfd', vty, reader).write(['ip prefix-list HC-DEGRADED-V4-65000 seq 10 permit 192.0.2.71/32']);
  await daemonTarget('ospf6d', vty, reader).read();
  assert.deepEqual(asked, [['show running-config ospf6d']], "a daemon's own running config, as vty-reader.ts routes it");
  assert.deepEqual(sent, [
    ['ip prefix-list HC-DEGRADED-V4-65000 seq 10 permit 192.0.2.71/32', 'do clear bgp ipv4 unicast * soft out'],
    ['ip prefix-list HC-DEGRADED-V4-65000 seq 10 permit 192.0.2.71/32'],
  ]);
});

test('IPv6 routes re-sent to ospf6d: the IPv6 addresses whose entries changed, only healthcast routes to exactly them', async () => {
  assert.deepEqual(
    changedV6Addresses([
      'ipv6 prefix-list HC-DEGRADED-V6-65000 seq 4294967295 deny any',
      'ipv6 prefix-list HC-DEGRADED-V6-65000 seq 10 permit 2001:db8:83::83/128',
      'no ipv6 prefix-list HC-DEGRADED-V6-65000 seq 20 permit 2001:db8:84::84/128',
      'ip prefix-list HC-DEGRADED-V4-65000 seq 10 permit 192.0.2.71/32',
    ]),
    ['2001:db8:83::83', '2001:db8:84::84'],
  );
  // `ip -j route get` answers, in order: ours (proto 201), another protocol's, none, unparsable.
  const documents = [
    '[{"dst":"2001:db8:83::83","dev":"lo","protocol":"201","metric":1024}]',
    '[{"dst":"2001:db8:84::84","dev":"eth0","protocol":"ospf","metric":20}]',
    '[]',
    'garbage',
  ];
  assert.deepEqual(resendLines(['2001:db8:83::83', '2001:db8:84::84', '2001:db8:85::85', '2001:db8:86::86'], documents, 201), [
    'route change 2001:db8:83::83/128 dev lo proto 201 metric 1024',
  ]);

  const resent: string[][] = [];
  const ospf6d = fake('ospf6d', V6_MAP + SENTINELS);
  const lists = new DegradedLists({
    daemons: [ospf6d],
    fallback: fake('vtysh', ''),
    degraded: () => [{ address: '2001:db8:83::83', metric: 65000 }],
    log: silentLogger(),
    syncIntervalMs: 10_000,
    clock: new ManualClock(),
    resend: { resend: (addresses) => (resent.push([...addresses]), Promise.resolve()), close: () => undefined },
  });
  await lists.kick();
  await lists.kick(); // nothing changed: nothing re-sent
  assert.deepEqual(resent, [['2001:db8:83::83']]);
});
