// The real ip backend in a throwaway namespace: one long-lived `ip -batch` process, verified with `ip -j` directly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { requirePrerequisites } from '../../support/prereq.js';
import { IpBackend } from '../../../src/routing/ip-backend.js';
import { RoutingBatchError } from '../../../src/routing/batch-error.js';
import { ErrorCodes, isHealthcastError } from '../../../src/errors.js';
import type { RoutingEntry, RoutingOp } from '../../../src/routing/types.js';
import { addressesIn, hostAddressesIn, ipIn, namespaceFor, routesIn, v4, v6 } from './fixture.js';

const PROTO = 201;
const add = (entry: RoutingEntry): RoutingOp => ({ action: 'add', entry });
const del = (entry: RoutingEntry): RoutingOp => ({ action: 'remove', entry });
const address = (a: string, iface = 'lo'): RoutingEntry => ({ kind: 'address', address: a, interface: iface });
const route = (a: string, iface = 'lo'): RoutingEntry => ({ kind: 'route', address: a, interface: iface });

// A wrapper around ip that counts its invocations, to prove one process serves every batch.
async function countingIp(t: { after: (fn: () => Promise<void>) => void }): Promise<{ path: string; calls: () => Promise<string[]> }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'hc-ipwrap-'));
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  const wrapper = path.join(dir, 'ip');
  const log = path.join(dir, 'calls');
  await fs.writeFile(wrapper, `#!/bin/sh\necho "$*" >> '${log}'\nexec ip "$@"\n`, { mode: 0o755 });
  return { path: wrapper, calls: async () => (await fs.readFile(log, 'utf8').catch(() => '')).split('\n').filter(Boolean) };
}

test('100 IPv4 and 100 IPv6 addresses added, listed and removed, all through one ip process', { timeout: 30_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, commands: ['ip'] })) return;
  const ns = await namespaceFor(t);
  const wrapper = await countingIp(t);
  const backend = new IpBackend({ routeProtocol: PROTO, namespace: ns, ip: wrapper.path });
  const entries = [...Array.from({ length: 100 }, (_, i) => address(v4(i))), ...Array.from({ length: 100 }, (_, i) => address(v6(i)))];

  await backend.apply(entries.map(add));
  assert.deepEqual(await wrapper.calls(), [`-n ${ns} -j -force -batch -`], 'one ip process for 200 addresses');
  const onLo = await hostAddressesIn(ns);
  for (const entry of entries) assert.ok(onLo.has(entry.address), `${entry.address} on lo`);
  const lines = await addressesIn(ns);
  assert.ok(lines.includes('192.0.2.1/32 lo lo:healthcast'), 'IPv4 carries the healthcast label');
  const flags = JSON.parse(await ipIn(ns, '-j -6 address show dev lo')) as { addr_info: { local: string; nodad?: boolean }[] }[];
  assert.equal(flags[0]?.addr_info.find((a) => a.local === v6(0))?.nodad, true, 'IPv6 added with nodad');

  const listed = await backend.list();
  const ours = listed.filter((e) => e.kind === 'address' && e.interface === 'lo' && (e.prefixLength === 32 || e.prefixLength === 128) && e.address !== '::1');
  assert.equal(ours.length, 200);
  assert.ok(
    listed.some((e) => e.address === '127.0.0.1' && e.prefixLength === 8),
    'all addresses are listed, for conflict detection',
  );

  await backend.apply(entries.map(del));
  assert.deepEqual(await wrapper.calls(), [`-n ${ns} -j -force -batch -`], 'the same ip process listed and removed them');
  backend.close();
  const left = await hostAddressesIn(ns);
  for (const entry of entries) assert.ok(!left.has(entry.address), `${entry.address} removed`);
  assert.ok(
    (await addressesIn(ns)).some((l) => l.startsWith('127.0.0.1/8 lo')),
    'loopback itself untouched',
  );
});

test('route mode: host routes with our proto for both families, listed by proto only', { timeout: 30_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, commands: ['ip'] })) return;
  const ns = await namespaceFor(t);
  const backend = new IpBackend({ routeProtocol: PROTO, namespace: ns });
  t.after(() => backend.close()); // its ip process holds the namespace open
  await ipIn(ns, 'route add 198.51.100.99/32 dev lo proto static');
  await backend.apply([add(route('198.51.100.7')), add(route('2001:db8::7'))]);
  const routes = await routesIn(ns);
  assert.ok(routes.includes(`198.51.100.7 lo proto ${PROTO}`), routes.join('\n'));
  assert.ok(routes.includes(`2001:db8::7 lo proto ${PROTO}`), routes.join('\n'));
  const listedRoutes = (await backend.list()).filter((e) => e.kind === 'route');
  assert.deepEqual(
    listedRoutes.map((e) => `${e.address} ${e.interface}`).sort(),
    ['198.51.100.7 lo', '2001:db8::7 lo'],
    'the static route is not ours and not listed',
  );

  await backend.apply([del(route('198.51.100.7')), del(route('2001:db8::7'))]);
  const after = await routesIn(ns);
  assert.ok(!after.some((l) => l.includes(`proto ${PROTO}`)), after.join('\n'));
  assert.ok(after.includes('198.51.100.99 lo proto static'), 'foreign route untouched');
});

test('a route someone else installed is not replaced: the add fails with its own reason, the rest of the batch applies', { timeout: 30_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, commands: ['ip'] })) return;
  const ns = await namespaceFor(t);
  const backend = new IpBackend({ routeProtocol: PROTO, namespace: ns });
  t.after(() => backend.close()); // its ip process holds the namespace open
  await ipIn(ns, 'route add 198.51.100.9/32 dev lo proto static');
  const ops = [add(address('192.0.2.10')), add(route('198.51.100.9')), add(address('2001:db8::10')), del(address('192.0.2.200'))];
  await assert.rejects(backend.apply(ops), (error: unknown) => {
    assert.ok(error instanceof RoutingBatchError);
    assert.equal(error.failures.length, 2);
    assert.equal(error.failures[0]?.op, ops[1]);
    assert.match(error.failures[0]?.reason ?? '', /File exists/);
    assert.equal(error.failures[1]?.op, ops[3]);
    assert.match(error.failures[1]?.reason ?? '', /Address not found|Cannot assign/i);
    return true;
  });
  const onLo = await hostAddressesIn(ns);
  assert.ok(onLo.has('192.0.2.10') && onLo.has('2001:db8::10'), 'lines after a failed one still ran (-force)');
  assert.ok((await routesIn(ns)).includes('198.51.100.9 lo proto static'), 'the foreign route was not replaced');
});

test('a missing ip binary is a coded backend error, not a crash', { timeout: 10_000 }, async () => {
  const backend = new IpBackend({ routeProtocol: PROTO, ip: '/nonexistent/ip' });
  await assert.rejects(backend.list(), /HC_ERR_BACKEND_COMMAND|ip failed|cannot run/);
  await assert.rejects(
    backend.apply([add(address('192.0.2.1'))]),
    (error: unknown) => isHealthcastError(error, ErrorCodes.BACKEND_COMMAND) && /ENOENT/.test(error.message),
  );
});
