// The exact `ip -batch` lines and the parsing of `ip -j` output and batch errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { batchLine, parseAddresses, parseLocalRoutes, parseRoutes, splitAtIpv6Moves } from '../../../src/routing/ip-commands.js';
import { healthcastLabel, carriesHealthcastMark } from '../../../src/routing/label.js';
import type { RoutingOp } from '../../../src/routing/types.js';

const op = (action: 'add' | 'remove', kind: 'address' | 'route', address: string, iface = 'lo'): RoutingOp => ({
  action,
  entry: { kind, address, interface: iface },
});

test('batch lines for every kind, action and family', () => {
  const table: Array<[RoutingOp, string]> = [
    [op('add', 'address', '192.0.2.53'), 'address add 192.0.2.53/32 dev lo label lo:healthcast'],
    [op('add', 'address', '192.0.2.53', 'eth0.100'), 'address add 192.0.2.53/32 dev eth0.100 label eth0.100:hc'],
    [op('add', 'address', '192.0.2.53', 'verylongname12'), 'address add 192.0.2.53/32 dev verylongname12'],
    [op('add', 'address', '2001:db8::53'), 'address add 2001:db8::53/128 dev lo nodad'],
    [op('remove', 'address', '192.0.2.53'), 'address del 192.0.2.53/32 dev lo'],
    [op('remove', 'address', '2001:db8::53'), 'address del 2001:db8::53/128 dev lo'],
    [op('add', 'route', '198.51.100.7'), 'route add 198.51.100.7/32 dev lo proto 201'],
    [op('add', 'route', '2001:db8::7'), 'route add 2001:db8::7/128 dev lo proto 201'],
    [op('remove', 'route', '2001:db8::7'), 'route del 2001:db8::7/128 dev lo proto 201'],
  ];
  for (const [input, line] of table) assert.equal(batchLine(input, 201), line);
});

test('a parked address goes on the parking interface as a /31 or /127 without a prefix route, and leaves the same way', () => {
  const parking = ['hc-drain'];
  const table: Array<[RoutingOp, string]> = [
    [op('add', 'address', '192.0.2.53', 'hc-drain'), 'address add 192.0.2.53/31 dev hc-drain label hc-drain:hc noprefixroute'],
    [op('add', 'address', '2001:db8::53', 'hc-drain'), 'address add 2001:db8::53/127 dev hc-drain noprefixroute nodad'],
    [op('remove', 'address', '192.0.2.53', 'hc-drain'), 'address del 192.0.2.53/31 dev hc-drain'],
    [op('remove', 'address', '2001:db8::53', 'hc-drain'), 'address del 2001:db8::53/127 dev hc-drain'],
    [op('add', 'address', '192.0.2.53'), 'address add 192.0.2.53/32 dev lo label lo:healthcast'],
    [op('add', 'route', '198.51.100.7', 'hc-drain'), 'route add 198.51.100.7/32 dev hc-drain proto 201'],
  ];
  for (const [input, line] of table) assert.equal(batchLine(input, 201, parking), line);
  assert.equal(
    batchLine(op('add', 'address', '192.0.2.53', 'hc-drain'), 201),
    'address add 192.0.2.53/32 dev hc-drain label hc-drain:hc',
    'not parked unless named',
  );
});

test('on a parking interface a /31 or /127 is listed as the parked host address; other prefixes stay what they are', () => {
  const json = [
    {
      ifname: 'hc-drain',
      addr_info: [
        { family: 'inet', local: '192.0.2.53', prefixlen: 31, label: 'hc-drain:hc' },
        { family: 'inet6', local: '2001:db8::53', prefixlen: 127 },
        { family: 'inet', local: '192.0.2.99', prefixlen: 24, label: 'hc-drain' },
      ],
    },
    { ifname: 'eth0', addr_info: [{ family: 'inet', local: '198.51.100.1', prefixlen: 31, label: 'eth0' }] },
  ];
  assert.deepEqual(parseAddresses(json, ['hc-drain']), [
    { kind: 'address', address: '192.0.2.53', interface: 'hc-drain', prefixLength: 32, label: 'hc-drain:hc' },
    { kind: 'address', address: '2001:db8::53', interface: 'hc-drain', prefixLength: 128 },
    { kind: 'address', address: '192.0.2.99', interface: 'hc-drain', prefixLength: 24, label: 'hc-drain' },
    { kind: 'address', address: '198.51.100.1', interface: 'eth0', prefixLength: 31, label: 'eth0' },
  ]);
  assert.equal(parseAddresses(json)[0]?.prefixLength, 31, 'not parked unless named');
});

test('labels fit the kernel limit of 15 characters', () => {
  assert.equal(healthcastLabel('lo'), 'lo:healthcast');
  assert.equal(healthcastLabel('eth0'), 'eth0:healthcast');
  assert.equal(healthcastLabel('eth0.10'), 'eth0.10:hc');
  assert.equal(healthcastLabel('abcdefghijkl'), 'abcdefghijkl:hc');
  assert.equal(healthcastLabel('abcdefghijklm'), undefined);
});

test('addresses: every family-inet address on every interface, canonical, with prefix and label', () => {
  const json = [
    {
      ifname: 'lo',
      addr_info: [
        { family: 'inet', local: '127.0.0.1', prefixlen: 8, label: 'lo' },
        { family: 'inet', local: '192.0.2.53', prefixlen: 32, label: 'lo:healthcast' },
        { family: 'inet6', local: '2001:DB8:0:0::53', prefixlen: 128 },
      ],
    },
    { ifname: 'eth0', addr_info: [{ family: 'inet', local: '192.0.2.1', prefixlen: 24, label: 'eth0' }] },
    { ifname: 'x', addr_info: [{ family: 'bridge' }] },
  ];
  const entries = parseAddresses(json);
  assert.deepEqual(entries, [
    { kind: 'address', address: '127.0.0.1', interface: 'lo', prefixLength: 8, label: 'lo' },
    { kind: 'address', address: '192.0.2.53', interface: 'lo', prefixLength: 32, label: 'lo:healthcast' },
    { kind: 'address', address: '2001:db8::53', interface: 'lo', prefixLength: 128 },
    { kind: 'address', address: '192.0.2.1', interface: 'eth0', prefixLength: 24, label: 'eth0' },
  ]);
  assert.deepEqual(entries.map(carriesHealthcastMark), [false, true, false, false]);
  assert.throws(() => parseAddresses({}), /JSON array/);
});

test('routes: host routes in the main table only', () => {
  const json = [
    { dst: '198.51.100.7', dev: 'lo', scope: 'link' },
    { dst: '2001:db8::98', dev: 'lo', metric: 1024 },
    { dst: '198.51.100.0/24', dev: 'lo' },
    { dst: '198.51.100.8/32', dev: 'lo' },
    { dst: 'default', dev: 'eth0' },
    { dst: '198.51.100.1', dev: 'lo', table: '100' },
  ];
  assert.deepEqual(parseRoutes(json), [
    { kind: 'route', address: '198.51.100.7', interface: 'lo' },
    { kind: 'route', address: '2001:db8::98', interface: 'lo' },
    { kind: 'route', address: '198.51.100.8', interface: 'lo' },
  ]);
});

test('an IPv6 move is cut before the old copy is removed, and the new copy waits to settle; IPv4 and plain changes stay one request', () => {
  const describePieces = (ops: RoutingOp[]) =>
    splitAtIpv6Moves(ops).map((piece) => ({
      ops: piece.ops.map((o) => `${o.action} ${o.entry.address}@${o.entry.interface}`),
      settle: piece.settle.map((e) => `${e.address}@${e.interface}`),
    }));
  // Parking (the plan's order: adds to the parking interface, then removals elsewhere).
  assert.deepEqual(
    describePieces([
      op('add', 'address', '192.0.2.53', 'hc-drain'),
      op('add', 'address', '2001:db8::53', 'hc-drain'),
      op('add', 'address', '2001:db8::54', 'hc-drain'),
      op('remove', 'address', '192.0.2.53'),
      op('remove', 'address', '2001:db8::53'),
      op('remove', 'address', '2001:db8::54'),
    ]),
    [
      {
        ops: ['add 192.0.2.53@hc-drain', 'add 2001:db8::53@hc-drain', 'add 2001:db8::54@hc-drain', 'remove 192.0.2.53@lo'],
        settle: ['2001:db8::53@hc-drain', '2001:db8::54@hc-drain'],
      },
      { ops: ['remove 2001:db8::53@lo', 'remove 2001:db8::54@lo'], settle: [] },
    ],
  );
  // Back from the parking interface: adds on lo, then removals from the parking interface.
  assert.deepEqual(describePieces([op('add', 'address', '2001:db8::53'), op('remove', 'address', '2001:db8::53', 'hc-drain')]), [
    { ops: ['add 2001:db8::53@lo'], settle: ['2001:db8::53@lo'] },
    { ops: ['remove 2001:db8::53@hc-drain'], settle: [] },
  ]);
  // No move: IPv4 only, IPv6 adds and removes of different addresses, a route and an address of the same IPv6 address.
  for (const ops of [
    [op('add', 'address', '192.0.2.53', 'hc-drain'), op('remove', 'address', '192.0.2.53')],
    [op('add', 'address', '2001:db8::53'), op('remove', 'address', '2001:db8::54')],
    [op('remove', 'address', '2001:db8::53', 'hc-drain'), op('add', 'address', '2001:db8::53')],
    [op('add', 'route', '2001:db8::53'), op('remove', 'address', '2001:db8::53')],
    [],
  ]) {
    const pieces = splitAtIpv6Moves(ops);
    assert.equal(pieces.length, 1, JSON.stringify(ops));
    assert.deepEqual(pieces[0], { ops, settle: [] });
  }
});

test('local routes: only type local with an address, canonical', () => {
  const listed = [
    { type: 'local', dst: '2001:DB8:0::53', table: 'local' },
    { type: 'multicast', dst: 'ff00::/8' },
    { dst: '2001:db8::54', protocol: 'kernel' },
    { type: 'local', dst: '192.0.2.53' },
    { type: 'local' },
  ];
  assert.deepEqual([...parseLocalRoutes(listed)].sort(), ['192.0.2.53', '2001:db8::53']);
  assert.throws(() => parseLocalRoutes({}), /JSON array/);
});
