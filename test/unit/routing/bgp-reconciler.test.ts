// The reconciler with bgp entries: announce and withdraw, bgpd down (addresses go on, bgp entries are errors with
// FRR's words and stay recorded), bgpd restarted (statements re-added), crash recovery, foreign statements, and a
// backend without bgp support never forgetting recorded statements.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { BgpBackend } from '../../../src/routing/bgp-backend.js';
import { CompositeBackend } from '../../../src/routing/composite-backend.js';
import { plan } from '../../../src/routing/diff.js';
import { MemoryBackend } from '../../../src/routing/memory-backend.js';
import { FileOwnershipStore, MemoryOwnershipStore } from '../../../src/routing/ownership.js';
import { Reconciler } from '../../../src/routing/reconciler.js';
import {
  BGP_INTERFACE,
  HELD_INTERFACE,
  entryKey,
  KERNEL_KINDS,
  type DesiredEntry,
  type ReconcileReport,
  type RoutingBackend,
  type RoutingEntry,
} from '../../../src/routing/types.js';
import { FakeBgpd } from './bgp-fake-vtysh.js';

const addr = (address: string): RoutingEntry => ({ kind: 'address', address, interface: 'lo' });
const bgp = (address: string): RoutingEntry => ({ kind: 'bgp', address, interface: BGP_INTERFACE });
const want = (entry: RoutingEntry, service = 'dns'): DesiredEntry => ({ ...entry, service });
const keys = (entries: readonly RoutingEntry[]) => entries.map(entryKey).sort();
const status = (report: ReconcileReport, entry: RoutingEntry) => report.desired.get(entryKey(entry));

const V4 = '192.0.2.53';
const V6 = '2001:db8:53::53';
// What the agent desires for a healthy `announce: bgp` service: the address on lo and the network statement.
const announced = (address: string, service = 'dns') => [want(addr(address), service), want(bgp(address), service)];

interface LogLine {
  level: number;
  msg: string;
}

function setup(options: { desired?: DesiredEntry[]; owned?: RoutingEntry[]; backend?: (ip: MemoryBackend, frr: FakeBgpd) => RoutingBackend } = {}) {
  const ip = new MemoryBackend(KERNEL_KINDS);
  const frr = new FakeBgpd();
  let drifts = 0;
  const bgpBackend = new BgpBackend({ vtysh: frr, onDrift: () => (drifts += 1) });
  const backend = options.backend?.(ip, frr) ?? new CompositeBackend({ ip, bgp: bgpBackend });
  const store = new MemoryOwnershipStore(options.owned ?? []);
  const logs: LogLine[] = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) });
  let desired = options.desired ?? [];
  const reconciler = new Reconciler({ backend, ownership: store, desired: () => desired, log, driftIntervalMs: 60_000 });
  return { ip, frr, store, logs, reconciler, bgpBackend, drifts: () => drifts, setDesired: (entries: DesiredEntry[]) => (desired = entries) };
}

test('announce then withdraw: address and network statement both ways, both recorded', async (t) => {
  const { ip, frr, store, reconciler, setDesired } = setup({ desired: [...announced(V4), ...announced(V6, 'dns6')] });
  t.after(() => reconciler.stop());
  const report = await reconciler.start();
  assert.deepEqual(report.errors, []);
  for (const entry of [addr(V4), bgp(V4), addr(V6), bgp(V6)]) assert.equal(status(report, entry)?.state, 'present', entryKey(entry));
  assert.deepEqual(frr.networks, { ipv4: [`${V4}/32`], ipv6: [`${V6}/128`] });
  assert.ok(ip.has(addr(V4)) && ip.has(addr(V6)));
  assert.deepEqual(keys(store.entries), keys([addr(V4), bgp(V4), addr(V6), bgp(V6)]));

  setDesired(announced(V6, 'dns6'));
  const withdrawn = await reconciler.kick();
  assert.deepEqual(keys(withdrawn.removed), keys([addr(V4), bgp(V4)]));
  assert.deepEqual(frr.networks.ipv4, []);
  assert.ok(!ip.has(addr(V4)));
  assert.deepEqual(keys(store.entries), keys([addr(V6), bgp(V6)]));
});

test("bgpd down: the address still goes on; the bgp entry is an error in FRR's words, logged once; bgpd back: announced", async (t) => {
  const { ip, frr, store, logs, reconciler } = setup({ desired: announced(V4) });
  t.after(() => reconciler.stop());
  frr.running = false;
  const first = await reconciler.start();
  assert.equal(status(first, addr(V4))?.state, 'present');
  const failed = status(first, bgp(V4));
  assert.equal(failed?.state, 'error');
  assert.match(failed?.state === 'error' ? failed.reason : '', /^cannot list bgp entries: .*bgpd is not running/);
  assert.ok(ip.has(addr(V4)));
  assert.deepEqual(keys(store.entries), keys([addr(V4)]), 'nothing recorded for bgp: nothing was added');
  assert.ok(first.errors.some((e) => /bgpd is not running/.test(e)));
  await reconciler.kick();
  assert.equal(logs.filter((l) => /cannot list bgp entries/.test(l.msg)).length, 1, 'the same failure is logged once, not every pass');

  frr.running = true;
  const back = await reconciler.kick();
  assert.equal(status(back, bgp(V4))?.state, 'present');
  assert.deepEqual(frr.networks.ipv4, [`${V4}/32`]);
});

test('bgpd restarted (its runtime statements lost): the verification after a pass finds it, the next pass re-adds', async (t) => {
  const { frr, logs, reconciler, bgpBackend, drifts } = setup({ desired: announced(V4) });
  t.after(() => reconciler.stop());
  await reconciler.start();
  await bgpBackend.verified();
  assert.equal(drifts(), 0, 'bgpd holds what was written: no drift');
  frr.running = false;
  frr.networks.ipv4.length = 0;
  // A pass answers from what bgpd is believed to hold (no vtysh on its path); the verification after it reads bgpd.
  const believed = await reconciler.kick();
  assert.equal(status(believed, bgp(V4))?.state, 'present');
  await bgpBackend.verified();
  assert.equal(drifts(), 1, 'bgpd unreadable: the belief is dropped and a pass asked for');
  const down = await reconciler.kick();
  assert.equal(status(down, bgp(V4))?.state, 'error');
  frr.running = true;
  const again = await reconciler.kick();
  assert.equal(status(again, bgp(V4))?.state, 'present');
  assert.deepEqual(frr.networks.ipv4, [`${V4}/32`]);
  assert.ok(logs.some((l) => /bgp 192\.0\.2\.53 was removed by someone else; re-adding/.test(l.msg)));
});

test('bgpd down while a service is withdrawn: the address goes, the statement stays recorded and is removed later', async (t) => {
  const { ip, frr, store, reconciler, setDesired } = setup({ desired: announced(V4) });
  t.after(() => reconciler.stop());
  await reconciler.start();
  frr.running = false;
  setDesired([]);
  const report = await reconciler.kick();
  assert.ok(!ip.has(addr(V4)));
  assert.deepEqual(keys(report.removed), keys([addr(V4)]));
  assert.deepEqual(keys(store.entries), keys([bgp(V4)]), 'not forgotten although it could not be seen');
  assert.ok(
    report.errors.some((e) => /bgpd is not running/.test(e)),
    'reported because a bgp entry is recorded',
  );
  frr.running = true;
  const later = await reconciler.kick();
  assert.deepEqual(keys(later.removed), keys([bgp(V4)]));
  assert.deepEqual(frr.networks.ipv4, []);
  assert.deepEqual(store.entries, []);
});

test('an OSPF-only host (nothing bgp desired or recorded) reports nothing about a bgpd that is not running', async (t) => {
  const { frr, reconciler } = setup({ desired: [want(addr(V4))] });
  t.after(() => reconciler.stop());
  frr.running = false;
  const report = await reconciler.start();
  assert.deepEqual(report.errors, []);
  assert.equal(status(report, addr(V4))?.state, 'present');
});

test('crash recovery and cleanup (desired=[]): recorded statements are removed, a hand-made one is never touched', async (t) => {
  const { frr, store, reconciler } = setup({ owned: [addr(V4), bgp(V4), bgp(V6)] });
  t.after(() => reconciler.stop());
  frr.networks.ipv4.push(`${V4}/32`, '192.0.2.99/32');
  frr.networks.ipv6.push(`${V6}/128`);
  const report = await reconciler.start();
  assert.deepEqual(keys(report.removed), keys([bgp(V4), bgp(V6)]));
  assert.deepEqual(frr.networks, { ipv4: ['192.0.2.99/32'], ipv6: [] });
  assert.deepEqual(store.entries, [], 'the recorded address was already gone: forgotten');
  assert.deepEqual(report.errors, []);
});

test('a foreign network statement for a service address is a conflict: never removed, never claimed', async (t) => {
  const { frr, store, reconciler, setDesired } = setup({ desired: announced(V4) });
  t.after(() => reconciler.stop());
  frr.networks.ipv4.push(`${V4}/32`);
  const report = await reconciler.start();
  const conflict = status(report, bgp(V4));
  assert.equal(conflict?.state, 'conflict');
  assert.match(
    conflict?.state === 'conflict' ? conflict.reason : '',
    /network statement for 192\.0\.2\.53 is already configured and was not added by healthcast/,
  );
  assert.equal(status(report, addr(V4))?.state, 'present');
  assert.deepEqual(keys(store.entries), keys([addr(V4)]));
  setDesired([]);
  await reconciler.kick();
  assert.deepEqual(frr.networks.ipv4, [`${V4}/32`], 'still there after the service is withdrawn');
});

test('a rejected statement is an error for that entry only; the others are present', async (t) => {
  const { frr, reconciler } = setup({ desired: [...announced(V4), ...announced('192.0.2.54', 'radius')] });
  t.after(() => reconciler.stop());
  frr.rejectLine = (line) => (line === 'network 192.0.2.54/32' ? '% Configuration failed.' : undefined);
  const report = await reconciler.start();
  assert.equal(status(report, bgp(V4))?.state, 'present');
  const rejected = status(report, bgp('192.0.2.54'));
  assert.equal(rejected?.state, 'error');
  assert.match(rejected?.state === 'error' ? rejected.reason : '', /could not be added: FRR rejected it: % Configuration failed\./);
  assert.equal(status(report, addr('192.0.2.54'))?.state, 'present');
});

test('withdrawal order: the statement is removed before the address, and added after it', async () => {
  const p = plan(
    announced(V6),
    [
      { ...addr(V4), prefixLength: 32 },
      { ...bgp(V4), prefixLength: 32 },
    ],
    [addr(V4), bgp(V4)],
  );
  assert.deepEqual(
    p.ops.map((op) => `${op.action} ${op.entry.kind} ${op.entry.address}`),
    [`remove bgp ${V4}`, `remove address ${V4}`, `add address ${V6}`, `add bgp ${V6}`],
  );
});

test('a backend without bgp support (ip only) keeps recorded statements and reports why', async (t) => {
  const { ip, store, reconciler } = setup({ owned: [addr(V4), bgp(V4)], desired: [want(bgp('192.0.2.54'))], backend: (memory) => memory });
  t.after(() => reconciler.stop());
  ip.addForeign(addr(V4));
  const report = await reconciler.start();
  assert.deepEqual(keys(report.removed), keys([addr(V4)]));
  assert.deepEqual(keys(store.entries), keys([bgp(V4)]), 'the statement is neither removed nor forgotten');
  const wanted = status(report, bgp('192.0.2.54'));
  assert.match(wanted?.state === 'error' ? wanted.reason : '', /the routing backend does not handle bgp entries/);
});

test('owned.json round-trips bgp entries', async (t) => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'hc-bgp-owned-'));
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  const store = new FileOwnershipStore(dir);
  await store.save([bgp(V6), addr(V4), bgp(V4)]);
  assert.deepEqual(keys(await store.load()), keys([bgp(V6), addr(V4), bgp(V4)]));
});

const held = (address: string): RoutingEntry => ({ kind: 'bgp', address, interface: HELD_INTERFACE });
// What the agent desires while an `announce: bgp` service drains: the address stays, the statement is held back.
const draining = (address: string, service = 'dns') => [want(addr(address), service), want(held(address), service)];
const prefixLists = (frr: FakeBgpd) => [...frr.prefixLists.values()].map((entry) => entry.line).filter((line) => !line.includes('permit any'));

test('a drain holds the statement (deny entry, statement and address kept); announced again, only the entry goes; the end drops the statement', async (t) => {
  const { ip, frr, store, reconciler, setDesired } = setup({ desired: announced(V4) });
  frr.withHoldLists();
  t.after(() => reconciler.stop());
  await reconciler.start();
  setDesired(draining(V4));
  let report = await reconciler.kick();
  assert.deepEqual(report.errors, []);
  assert.equal(status(report, held(V4))?.state, 'present');
  assert.deepEqual(frr.networks.ipv4, [`${V4}/32`], 'the statement stays in bgpd');
  assert.deepEqual(prefixLists(frr), [`ip prefix-list HC-BGP-HOLD-V4 seq 1 deny ${V4}/32`]);
  assert.deepEqual(
    frr.configured().at(-1),
    [`ip prefix-list HC-BGP-HOLD-V4 seq 1 deny ${V4}/32`, 'router bgp 65001', 'address-family ipv4 unicast', `network ${V4}/32`, 'exit-address-family'],
    'one write: the deny entry, no `no network`',
  );
  assert.ok(ip.has(addr(V4)), 'the address stays on the host');
  assert.deepEqual(keys(store.entries), keys([addr(V4), held(V4)]));

  setDesired(announced(V4));
  report = await reconciler.kick();
  assert.equal(status(report, bgp(V4))?.state, 'present');
  assert.equal(frr.configured().at(-1)?.[0], `no ip prefix-list HC-BGP-HOLD-V4 seq 1 deny ${V4}/32`);
  assert.deepEqual(prefixLists(frr), []);
  assert.deepEqual(keys(store.entries), keys([addr(V4), bgp(V4)]));

  setDesired(draining(V4));
  await reconciler.kick();
  setDesired([]);
  report = await reconciler.kick();
  assert.deepEqual(frr.networks.ipv4, []);
  assert.ok(!ip.has(addr(V4)));
  assert.deepEqual(store.entries, []);
  assert.deepEqual(report.errors, []);
});

test('a drain without hold lists: the statement goes at once, the held entry counts as present (no error), and comes back as a new statement', async (t) => {
  const { frr, reconciler, setDesired } = setup({ desired: announced(V6) });
  t.after(() => reconciler.stop());
  await reconciler.start();
  setDesired(draining(V6));
  let report = await reconciler.kick();
  assert.deepEqual(report.errors, []);
  assert.equal(status(report, held(V6))?.state, 'present');
  assert.deepEqual(frr.networks.ipv6, []);
  setDesired(announced(V6));
  report = await reconciler.kick();
  assert.equal(status(report, bgp(V6))?.state, 'present');
  assert.deepEqual(frr.networks.ipv6, [`${V6}/128`]);
});

test('crash recovery: a statement bgpd lists held while the record names it announced is still ours, and is removed', async (t) => {
  const { frr, store, reconciler } = setup({ owned: [bgp(V4)] });
  frr.withHoldLists();
  frr.networks.ipv4.push(`${V4}/32`);
  await frr.configure([`ip prefix-list HC-BGP-HOLD-V4 seq 1 deny ${V4}/32`]);
  t.after(() => reconciler.stop());
  const report = await reconciler.start();
  assert.deepEqual(report.errors, []);
  assert.deepEqual(frr.networks.ipv4, []);
  assert.deepEqual(store.entries, []);
});
