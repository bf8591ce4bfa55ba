import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../../src/config/load.js';
import { serviceFingerprint } from '../../../src/config/types.js';
import { parseDuration } from '../../../src/config/duration.js';
import { parseHostAddress } from '../../../src/config/address.js';
import { mainSchema } from '../../../src/config/schema.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fixture } from '../../support/paths.js';

test('a valid config resolves defaults, conf.d files and canonical addresses', async () => {
  const config = await loadConfig(fixture('config', 'valid', 'healthcast.yaml'));
  assert.deepEqual(
    config.services.map((service) => service.name),
    ['web', 'dns'],
  );
  const [web, dns] = config.services;
  assert.ok(web && dns);
  assert.equal(web.announce, 'route');
  assert.equal(web.intervalMs, 1000);
  assert.equal(web.timeoutMs, 500);
  assert.equal(web.rise, 3);
  assert.equal(web.probes[0]?.timeoutMs, 500);
  assert.deepEqual(dns.addresses, ['192.0.2.53', '2001:db8:53::53']);
  assert.equal(dns.origin, 'services.d/dns.yaml');
  assert.equal(dns.intervalMs, 2000);
  assert.equal(dns.require, 'any');
  assert.deepEqual(
    dns.probes.map((probe) => probe.timeoutMs),
    [250, 100],
  );
  assert.match(config.stateDir, /valid\/state$/);
});

test('fingerprints change with what matters and not with where it was defined', async () => {
  const config = await loadConfig(fixture('config', 'valid', 'healthcast.yaml'));
  const dns = config.services[1]!;
  assert.equal(serviceFingerprint(dns), serviceFingerprint({ ...dns, origin: 'elsewhere.yaml' }));
  assert.notEqual(serviceFingerprint(dns), serviceFingerprint({ ...dns, rise: 5 }));
  assert.notEqual(serviceFingerprint(dns), serviceFingerprint({ ...dns, probes: [{ ...dns.probes[0]!, options: { host: '127.0.0.2', ports: [53] } }] }));
});

test('durations', () => {
  const cases: [string | number, number | undefined][] = [
    ['250ms', 250],
    ['1s', 1000],
    ['1.5s', 1500],
    ['2m', 120_000],
    ['1h', 3_600_000],
    [750, 750],
    ['1 sec', undefined],
    ['', undefined],
    ['-1s', undefined],
    [-5, undefined],
    ['10', undefined],
    [Number.NaN, undefined],
  ];
  for (const [input, expected] of cases) assert.equal(parseDuration(input), expected, `parseDuration(${JSON.stringify(input)})`);
});

test('host addresses', () => {
  assert.deepEqual(parseHostAddress('192.0.2.1'), { address: '192.0.2.1', family: 4 });
  assert.deepEqual(parseHostAddress('192.0.2.1/32'), { address: '192.0.2.1', family: 4 });
  assert.deepEqual(parseHostAddress('2001:DB8:0:0::1/128'), { address: '2001:db8::1', family: 6 });
  assert.equal(typeof parseHostAddress('192.0.2.1/31'), 'string');
  assert.equal(typeof parseHostAddress('2001:db8::1/127'), 'string');
  assert.equal(typeof parseHostAddress('192.0.2.1/32/1'), 'string');
  assert.equal(typeof parseHostAddress('300.0.0.1'), 'string');
  const unusable: [string, RegExp][] = [
    ['0.0.0.0', /unspecified/],
    ['255.255.255.255', /broadcast/],
    ['127.0.0.2', /loopback/],
    ['224.0.0.1', /multicast/],
    ['240.0.0.1', /reserved/],
    ['0.1.2.3', /this network/],
    ['::', /unspecified/],
    ['::1', /loopback/],
    ['ff02::1', /multicast/],
    ['fe80::1', /link-local/],
    ['::ffff:192.0.2.1', /IPv4-mapped/],
  ];
  for (const [input, why] of unusable) assert.match(String(parseHostAddress(input)), why, input);
  assert.equal(parseHostAddress('fe80::1%eth0'), '"fe80::1%eth0" has a zone index: service addresses must be global, not link-local');
});

test('lease: 45s by default, 0 turns it off, anything else at least 3s', async () => {
  const config = await loadConfig(fixture('config', 'valid', 'healthcast.yaml'));
  assert.equal(config.leaseMs, 45_000);
  const lease = (value: unknown) => mainSchema.safeParse({ lease: value });
  assert.equal(lease(0).data?.lease, 0);
  assert.equal(lease('0s').data?.lease, 0);
  assert.equal(lease('3s').data?.lease, 3000);
  assert.equal(lease('1m').data?.lease, 60_000);
  for (const bad of ['2s', 2999, '-1s', 'soon']) assert.equal(lease(bad).success, false, JSON.stringify(bad));
});

test('disable_dir defaults to /etc/healthcast/disable.d and is resolved beside the main file; l2_router takes one address or a list', async (t) => {
  const config = await loadConfig(fixture('config', 'valid', 'healthcast.yaml'));
  assert.equal(config.disableDir, '/etc/healthcast/disable.d');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hc-valid-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'healthcast.yaml');
  const vip = (extra: string) =>
    `  - { name: vip${extra.length}, addresses: [198.51.100.${extra.length}], interface: eth0, announce_l2: true, ${extra} probes: [{ type: tcp, host: 127.0.0.1, ports: [53] }] }\n`;
  fs.writeFileSync(file, `disable_dir: off.d\nservices:\n${vip("l2_router: '2001:db8:1::1',")}${vip('l2_router: [198.51.100.1, 2001:db8:1::1],')}${vip('')}`);
  const loaded = await loadConfig(file);
  assert.equal(loaded.disableDir, path.join(dir, 'off.d'));
  assert.deepEqual(
    loaded.services.map((service) => service.announceL2),
    [{ count: 3, routers: ['2001:db8:1::1'] }, { count: 3, routers: ['198.51.100.1', '2001:db8:1::1'] }, { count: 3 }],
  );
});
