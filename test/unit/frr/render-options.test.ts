// frr-config's inputs: the frr: section, flags that override it, defaults, and errors that name the key to fix.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../../src/config/load.js';
import { isHealthcastError } from '../../../src/errors.js';
import { areaToDotted, resolveRenderOptions, sortAddresses, type FrrFlags, type RenderSource } from '../../../src/frr/render-options.js';
import { PROFILES } from '../../../src/frr/profiles.js';
import { DEFAULT_BFD } from '../../../src/config/defaults.js';
import { fixture } from '../../support/paths.js';

const services = [{ addresses: ['192.0.2.53', '2001:db8::53'], interface: 'lo' }];

function source(frr: Partial<RenderSource['frr']> = {}): RenderSource {
  return { interface: 'lo', services, frr: { vtysh: '/usr/bin/vtysh', ...frr } };
}

function errorsOf(src: RenderSource, flags: FrrFlags = {}, hostname = 'node1'): string[] {
  const result = resolveRenderOptions(src, flags, hostname);
  assert.equal(result.ok, false, 'expected errors');
  return result.ok ? [] : result.errors;
}

const complete = { router_id: '10.0.0.1', interfaces: [{ name: 'eth0' }], asn: 65001, neighbors: [{ address: '198.51.100.1', remote_as: 65000 }] };

test('defaults: integrated, ospf, default profile, area 0.0.0.0, broadcast links, system host name', () => {
  const result = resolveRenderOptions(source(complete), {}, 'node1');
  assert.ok(result.ok);
  const { options } = result;
  assert.equal(options.style, 'integrated');
  assert.equal(options.protocol, 'ospf');
  assert.equal(options.profile, 'default');
  assert.equal(options.area, '0.0.0.0');
  assert.equal(options.hostname, 'node1');
  assert.deepEqual(options.interfaces, [{ name: 'eth0', network: 'broadcast' }]);
  assert.deepEqual(options.timers, PROFILES.default);
  assert.deepEqual(options.servicesV4, ['192.0.2.53/32']);
  assert.deepEqual(options.servicesV6, ['2001:db8::53/128']);
  assert.deepEqual(options.serviceInterfaces, ['lo']);
});

test('flags override the frr: section', () => {
  const result = resolveRenderOptions(
    source({ ...complete, hostname: 'fromconfig', style: 'split', profile: 'fast' }),
    {
      style: 'integrated',
      profile: 'default',
      protocol: 'bgp',
      hostname: 'fromflag',
      routerId: '10.9.9.9',
      area: '7',
      interfaces: ['eth1=point-to-point'],
      asn: '4200000000',
      neighbors: ['2001:DB8:FFFF::1=65000'],
    },
    'node1',
  );
  assert.ok(result.ok);
  const { options } = result;
  assert.equal(options.style, 'integrated');
  assert.equal(options.profile, 'default');
  assert.equal(options.protocol, 'bgp');
  assert.equal(options.hostname, 'fromflag');
  assert.equal(options.routerId, '10.9.9.9');
  assert.equal(options.area, '0.0.0.7');
  assert.equal(options.asn, 4_200_000_000);
  assert.deepEqual(options.neighbors, [{ address: '2001:db8:ffff::1', remoteAs: 65000 }]);
  const ospf = resolveRenderOptions(source(complete), { interfaces: ['eth1=point-to-point', 'eth2'] }, 'node1');
  assert.ok(ospf.ok);
  assert.deepEqual(ospf.options.interfaces, [
    { name: 'eth1', network: 'point-to-point' },
    { name: 'eth2', network: 'broadcast' },
  ]);
  const costly = resolveRenderOptions(source({ ...complete, interfaces: [{ name: 'eth0', network: 'point-to-point', cost: 100 }] }), {}, 'node1');
  assert.ok(costly.ok);
  assert.deepEqual(costly.options.interfaces, [{ name: 'eth0', network: 'point-to-point', cost: 100 }]);
});

test('timers: profile values, overridden key by key from frr.timers (durations in, FRR units out)', () => {
  const result = resolveRenderOptions(source({ ...complete, profile: 'fast', timers: { dead_interval: 4000, spf_max_hold: 1000, bgp_hold: 9000 } }), {}, 'n');
  assert.ok(result.ok);
  assert.deepEqual(result.options.timers, { ...PROFILES.fast, deadInterval: 4, spfMaxHold: 1000, bgpHold: 9 });
});

test('what each protocol requires is reported with the key and the flag that would fill it', () => {
  assert.deepEqual(errorsOf(source(), {}), [
    'frr.router_id: required (or --router-id): an IPv4 address unique to this node, never a service address (anycast addresses are shared, router-ids must not be)',
    'frr.interfaces: required for --protocol ospf (or --interface NAME[=point-to-point|broadcast]): the links to the upstream router(s)',
  ]);
  assert.deepEqual(errorsOf(source({ router_id: '10.0.0.1' }), { protocol: 'bgp' }), [
    'frr.asn: required for --protocol bgp (or --asn)',
    'frr.neighbors: required for --protocol bgp (or --neighbor ADDRESS=REMOTE_AS): the upstream router(s) to peer with',
  ]);
});

test('bad flag values name the flag', () => {
  const errors = errorsOf(source(complete), {
    style: 'both',
    protocol: 'rip',
    profile: 'turbo',
    routerId: '300.1.1.1',
    area: 'backbone',
    asn: '0',
    neighbors: ['198.51.100.1'],
    interfaces: ['eth0=nbma'],
    hostname: 'a b',
  });
  assert.deepEqual(errors, [
    '--style: must be split or integrated, got "both"',
    '--protocol: must be ospf or bgp, got "rip"',
    '--profile: must be default or fast, got "turbo"',
    '--hostname: "a b" is not a host name',
    '--router-id: must be a dotted quad other than 0.0.0.0, got "300.1.1.1"',
    '--area: must be a dotted quad (0.0.0.0) or 0-4294967295, got "backbone"',
    '--interface "eth0=nbma": must be point-to-point or broadcast, got "nbma"',
    '--asn: must be an AS number 1-4294967295, got "0"',
    '--neighbor "198.51.100.1": must be ADDRESS=REMOTE_AS, e.g. 198.51.100.1=65000',
  ]);
});

test('a service address as router-id, OSPF on the service interface, duplicates: refused', () => {
  assert.deepEqual(errorsOf(source({ ...complete, router_id: '192.0.2.53' })), [
    'frr.router_id: 192.0.2.53 is a service address; every anycast node would claim the same router-id',
  ]);
  assert.deepEqual(errorsOf(source({ ...complete, interfaces: [{ name: 'eth0' }, { name: 'lo' }, { name: 'eth0' }] })), [
    'frr.interfaces[1].name: lo carries the service addresses; OSPF on it would advertise every address there, unfiltered',
    'frr.interfaces[2].name: eth0 is listed twice',
  ]);
  assert.deepEqual(errorsOf(source(complete), { protocol: 'bgp', neighbors: ['198.51.100.1=1', '198.51.100.1=2'] }), [
    '--neighbor "198.51.100.1=2": 198.51.100.1 is listed twice',
  ]);
});

test('timer combinations FRR would take but that cannot work are refused', () => {
  assert.deepEqual(
    errorsOf(
      source({ ...complete, timers: { hello_interval: 10_000, dead_interval: 10_000, spf_hold: 500, spf_max_hold: 100, bgp_hold: 2000, bgp_keepalive: 0 } }),
    ),
    [
      'frr.timers.dead_interval: 10s must be longer than hello_interval (10s); use 3-4 times it',
      'frr.timers.spf_hold: 500ms is more than spf_max_hold (100ms)',
      'frr.timers.bgp_hold: must be 0 (no keepalives) or at least 3s, got 2s',
    ],
  );
  assert.deepEqual(errorsOf(source({ ...complete, timers: { bgp_keepalive: 30_000, bgp_hold: 30_000 } })), [
    'frr.timers.bgp_keepalive: 30s must be shorter than bgp_hold (30s); use a third of it',
  ]);
});

test('an unusable system host name asks for frr.hostname', () => {
  assert.deepEqual(errorsOf(source(complete), {}, 'my host'), ['frr.hostname: required: the system host name "my host" is not usable in FRR']);
});

test('loadConfig reports frr: keys the schema rejects, with their paths', async () => {
  const error = await loadConfig(fixture('frr', 'config', 'bad-frr.yaml')).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  assert.ok(isHealthcastError(error), 'loadConfig must fail');
  assert.deepEqual([...error.details].sort(), [
    'bad-frr.yaml: frr.asn: must be 1-4294967295',
    'bad-frr.yaml: frr.color: unknown key',
    'bad-frr.yaml: frr.interfaces[0].network: Invalid option: expected one of "point-to-point"|"broadcast"',
    'bad-frr.yaml: frr.router_id: must be a dotted quad like 10.255.0.1',
    'bad-frr.yaml: frr.timers.hello_interval: must be whole seconds (FRR has no finer unit here)',
  ]);
});

test('addresses sort by value, not by text, and collapse to one spelling', () => {
  assert.deepEqual(sortAddresses(['192.0.2.100', '192.0.2.9', '2001:db8:53::53', '2001:DB8:9::80', '192.0.2.9', '2001:db8::1']), {
    v4: ['192.0.2.9', '192.0.2.100'],
    v6: ['2001:db8::1', '2001:db8:9::80', '2001:db8:53::53'],
  });
  assert.equal(areaToDotted(0), '0.0.0.0');
  assert.equal(areaToDotted('4294967295'), '255.255.255.255');
  assert.equal(areaToDotted(256), '0.0.1.0');
  assert.equal(areaToDotted('4294967296'), undefined);
});

test('BFD: on with the fast profile, off with default, frr.bfd overrides either way; its timers default to 100 ms x 3', () => {
  const bfdOf = (frr: Partial<RenderSource['frr']>, flags: FrrFlags = {}) => {
    const result = resolveRenderOptions(source({ ...complete, ...frr }), flags, 'node1');
    assert.ok(result.ok);
    return result.options.bfd;
  };
  const defaults = { receiveIntervalMs: 100, transmitIntervalMs: 100, detectMultiplier: 3 };
  assert.deepEqual(DEFAULT_BFD, defaults);
  const table: [Partial<RenderSource['frr']>, FrrFlags, typeof defaults | undefined][] = [
    [{}, {}, undefined],
    [{}, { profile: 'fast' }, defaults],
    [{ profile: 'fast' }, {}, defaults],
    [{ bfd: false }, { profile: 'fast' }, undefined],
    [{ bfd: true }, {}, defaults],
    [{ bfd: { detect_multiplier: 5 } }, {}, { ...defaults, detectMultiplier: 5 }],
    [{ bfd: { receive_interval: 300, transmit_interval: 250 } }, { profile: 'fast' }, { receiveIntervalMs: 300, transmitIntervalMs: 250, detectMultiplier: 3 }],
  ];
  for (const [frr, flags, expected] of table) assert.deepEqual(bfdOf(frr, flags), expected, JSON.stringify({ frr, flags }));
});

test('passive interfaces are kept, per interface', () => {
  const result = resolveRenderOptions(source({ ...complete, interfaces: [{ name: 'eth0', passive: true }, { name: 'eth1' }] }), {}, 'node1');
  assert.ok(result.ok);
  assert.deepEqual(result.options.interfaces, [
    { name: 'eth0', network: 'broadcast', passive: true },
    { name: 'eth1', network: 'broadcast' },
  ]);
});
