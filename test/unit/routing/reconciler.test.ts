// The single writer against the in-memory kernel and record: recovery, conflicts, write-ahead, fail-closed, coalescing, drift.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { Reconciler, type ReconcilerDeps } from '../../../src/routing/reconciler.js';
import { MemoryBackend } from '../../../src/routing/memory-backend.js';
import { MemoryOwnershipStore } from '../../../src/routing/ownership.js';
import { entryKey, type DesiredEntry, type ReconcileReport, type RoutingEntry } from '../../../src/routing/types.js';
import { ManualClock, settle } from '../../support/manual-clock.js';

const addr = (address: string, iface = 'lo'): RoutingEntry => ({ kind: 'address', address, interface: iface });
const route = (address: string, iface = 'lo'): RoutingEntry => ({ kind: 'route', address, interface: iface });
const want = (entry: RoutingEntry, service = 'dns'): DesiredEntry => ({ ...entry, service });
const keys = (entries: readonly RoutingEntry[]) => entries.map(entryKey).sort();

const A = addr('192.0.2.53');
const B = addr('2001:db8::53');
const C = addr('192.0.2.54');
const R = route('198.51.100.7');

interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

function setup(options: { desired?: DesiredEntry[]; owned?: RoutingEntry[]; driftIntervalMs?: number } = {}) {
  const backend = new MemoryBackend();
  const store = new MemoryOwnershipStore(options.owned ?? []);
  const logs: LogLine[] = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) });
  let desired = options.desired ?? [];
  const reports: ReconcileReport[] = [];
  const clock = new ManualClock();
  const deps: ReconcilerDeps = {
    backend,
    ownership: store,
    desired: () => desired,
    log,
    driftIntervalMs: options.driftIntervalMs ?? 60_000,
    onReport: (r) => reports.push(r),
    clock,
  };
  const reconciler = new Reconciler(deps);
  return { backend, store, logs, reports, reconciler, deps, clock, setDesired: (entries: DesiredEntry[]) => (desired = entries) };
}

// A promise the test awaits and the code under test resolves: a synchronisation point that does not depend on time.
function gate(): { reached: Promise<void>; open: () => void } {
  let open!: () => void;
  const reached = new Promise<void>((resolve) => (open = resolve));
  return { reached, open };
}

const state = (report: ReconcileReport, entry: RoutingEntry) => report.desired.get(entryKey(entry))?.state;

test('announce: desired entries are added, recorded, and reported present with their service', async (t) => {
  const { backend, store, reconciler } = setup({ desired: [want(A), want(B, 'radius'), want(R, 'syslog')] });
  t.after(() => reconciler.stop());
  const report = await reconciler.start();
  assert.ok(backend.has(A) && backend.has(B) && backend.has(R));
  assert.deepEqual(keys(store.entries), keys([A, B, R]));
  assert.deepEqual(keys(report.added), keys([A, B, R]));
  assert.deepEqual(report.errors, []);
  assert.deepEqual(report.desired.get(entryKey(B)), { state: 'present', service: 'radius' });
  assert.equal(backend.snapshot().find((e) => e.address === A.address)?.label, 'lo:healthcast');
  assert.equal(backend.applyCalls, 1, 'one batch for the whole change');
  const again = await reconciler.kick();
  assert.equal(backend.applyCalls, 1, 'a second pass with nothing to do applies nothing');
  assert.deepEqual(again.added, []);
  assert.equal(state(again, A), 'present');
});

test('crash recovery: owned entries nobody wants are removed on the first pass, wanted ones kept', async (t) => {
  const { backend, store, reconciler, logs } = setup({ desired: [want(B)], owned: [A, B, R] });
  t.after(() => reconciler.stop());
  for (const entry of [A, B, R]) backend.addForeign(entry); // left on the system by a crashed run
  const report = await reconciler.start();
  assert.ok(!backend.has(A) && !backend.has(R), 'unwanted owned entries removed');
  assert.ok(backend.has(B));
  assert.deepEqual(keys(report.removed), keys([A, R]));
  assert.equal(state(report, B), 'present');
  assert.deepEqual(keys(store.entries), keys([B]));
  assert.ok(logs.some((l) => /crash recovery: removing 2 entries/.test(l.msg)));
});

test('a foreign address is never removed and is reported as a conflict', async (t) => {
  const { backend, store, reconciler, setDesired } = setup({ desired: [want(A), want(C)] });
  t.after(() => reconciler.stop());
  backend.addForeign({ ...addr('192.0.2.53', 'eth0'), prefixLength: 24, label: 'eth0' });
  backend.addForeign(addr('192.0.2.99')); // unrelated, on our interface
  const report = await reconciler.start();
  const status = report.desired.get(entryKey(A));
  assert.equal(status?.state, 'conflict');
  assert.match(status?.state === 'conflict' ? status.reason : '', /192\.0\.2\.53 is already on eth0 as 192\.0\.2\.53\/24/);
  assert.ok(!backend.has(A), 'not added next to the foreign copy');
  assert.equal(state(report, C), 'present');
  assert.deepEqual(keys(store.entries), keys([C]), 'conflicting entry not recorded');
  setDesired([]);
  const withdrawn = await reconciler.kick();
  assert.deepEqual(keys(withdrawn.removed), keys([C]));
  assert.ok(
    backend.snapshot().some((e) => e.interface === 'eth0' && e.address === A.address),
    'foreign copy still there',
  );
  assert.ok(
    backend.snapshot().some((e) => e.address === '192.0.2.99'),
    'unrelated foreign address still there',
  );
  for (const batch of backend.appliedBatches) for (const op of batch) assert.notEqual(op.entry.address, '192.0.2.99');
});

test('a route with our proto that is not in the record is a conflict, and is left alone', async (t) => {
  const { backend, reconciler, setDesired } = setup({ desired: [want(R)] });
  t.after(() => reconciler.stop());
  backend.addForeign(R);
  assert.equal(state(await reconciler.start(), R), 'conflict');
  setDesired([]);
  await reconciler.kick();
  assert.ok(backend.has(R));
});

test('write-ahead: the record names an entry before the batch that adds it runs', async (t) => {
  const { backend, store, reconciler } = setup({ desired: [want(A), want(B)] });
  t.after(() => reconciler.stop());
  const journal: string[] = [];
  store.onSave = (entries) => journal.push(`save ${keys(entries).join(',')}`);
  backend.beforeApply = (ops) => void journal.push(`apply ${keys(ops.map((op) => op.entry)).join(',')}`);
  await reconciler.start();
  assert.deepEqual(journal, [`save ${keys([A, B]).join(',')}`, `apply ${keys([A, B]).join(',')}`]);
});

test('crash between recording and adding: the restarted reconciler forgets the entry without touching the system', async () => {
  const first = setup({ desired: [want(A)] });
  const dying = gate();
  first.backend.beforeApply = () => {
    dying.open();
    return new Promise<void>(() => undefined); // the process "dies" here: the batch never runs
  };
  void first.reconciler.start();
  await dying.reached;
  assert.deepEqual(keys(first.store.entries), keys([A]), 'recorded before the crash');
  assert.ok(!first.backend.has(A), 'never reached the kernel');

  const restarted = setup({ owned: first.store.entries });
  restarted.backend.addForeign(addr('192.0.2.99'));
  const report = await restarted.reconciler.start();
  assert.deepEqual(restarted.store.entries, [], 'owned but absent and unwanted: dropped from the record');
  assert.equal(restarted.backend.applyCalls, 0, 'nothing to remove');
  assert.deepEqual(report.removed, []);
  await restarted.reconciler.stop();
});

test('crash after adding: the restarted reconciler removes what the record says is ours', async () => {
  const first = setup({ desired: [want(A), want(B)] });
  const original = first.backend.apply.bind(first.backend);
  const dying = gate();
  first.backend.apply = async (ops) => {
    await original(ops);
    dying.open();
    await new Promise<void>(() => undefined); // dies right after the kernel changed, before the post-apply save
  };
  void first.reconciler.start();
  await dying.reached;
  assert.ok(first.backend.has(A) && first.backend.has(B));

  const restarted = setup({ owned: first.store.entries, desired: [want(B)] });
  for (const entry of first.backend.snapshot()) restarted.backend.addForeign(entry);
  const report = await restarted.reconciler.start();
  assert.ok(!restarted.backend.has(A), 'recovered: removed');
  assert.equal(state(report, B), 'present');
  await restarted.reconciler.stop();
});

test('ownership write failure: nothing is added (fail closed), the entries get an error, the rest keeps working', async (t) => {
  const { backend, store, reconciler, setDesired, logs } = setup({ desired: [want(A)] });
  t.after(() => reconciler.stop());
  await reconciler.start();
  assert.ok(backend.has(A));

  store.failSave = 'EROFS: read-only file system';
  setDesired([want(A), want(C, 'radius')]);
  const report = await reconciler.kick();
  assert.ok(!backend.has(C), 'not added without a record');
  const status = report.desired.get(entryKey(C));
  assert.equal(status?.state, 'error');
  assert.match(status?.state === 'error' ? status.reason : '', /not added: .*EROFS/);
  assert.equal(status?.service, 'radius');
  assert.equal(state(report, A), 'present', 'already-owned entries are unaffected');
  assert.ok(report.errors.some((e) => /EROFS/.test(e)));
  assert.ok(logs.some((l) => l.level === 50 && /cannot record ownership; not adding 1 entries/.test(l.msg)));

  setDesired([]); // removals still work: removing never needs a new record first
  const withdrawn = await reconciler.kick();
  assert.ok(!backend.has(A));
  assert.deepEqual(keys(withdrawn.removed), keys([A]));

  store.failSave = undefined;
  setDesired([want(C)]);
  const recovered = await reconciler.kick();
  assert.equal(state(recovered, C), 'present');
  assert.deepEqual(keys(store.entries), keys([C]));
});

test('a failed op gives that entry its own reason; the others in the batch still apply', async (t) => {
  const { backend, store, reconciler } = setup({ desired: [want(A), want(B), want(C)] });
  t.after(() => reconciler.stop());
  backend.failOp = (op) => (op.entry.address === B.address ? 'Error: Nexthop device is not up.' : undefined);
  const report = await reconciler.start();
  assert.equal(state(report, A), 'present');
  assert.equal(state(report, C), 'present');
  assert.deepEqual(report.desired.get(entryKey(B)), { state: 'error', reason: 'could not be added: Error: Nexthop device is not up.', service: 'dns' });
  assert.deepEqual(keys(store.entries), keys([A, C]), 'the record is settled against the kernel: B is not ours');
  backend.failOp = undefined;
  assert.equal(state(await reconciler.kick(), B), 'present', 'retried on the next pass');
});

test('kicks during a pass coalesce into one following pass; passes never overlap', async (t) => {
  const { backend, reconciler, reports, setDesired } = setup({ desired: [want(A)] });
  t.after(() => reconciler.stop());
  const held = gate();
  const release = gate();
  let inFlight = 0;
  let maxInFlight = 0;
  backend.beforeApply = async () => {
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    held.open();
    await release.reached;
    inFlight -= 1;
  };
  const firstPass = reconciler.kick();
  await held.reached; // the first pass is now held inside apply
  setDesired([want(A), want(C)]); // changed after the first pass read its desired entries
  const kicks = Array.from({ length: 10 }, () => reconciler.kick());
  release.open();
  const results = await Promise.all(kicks);
  await firstPass;
  assert.equal(reports.length, 2, 'the running pass plus exactly one coalesced pass');
  assert.ok(
    results.every((r) => r === results[0]),
    'all ten kicks get the same report',
  );
  assert.equal(state(results[0]!, C), 'present', 'the coalesced pass started after the kicks: it saw the change');
  assert.equal(state(await firstPass, C), undefined, 'the first pass did not');
  assert.equal(maxInFlight, 1);
});

test('drift: an owned address removed by someone else is re-added and logged as a warning, by the timer', async (t) => {
  const { backend, reconciler, logs, clock, reports } = setup({ desired: [want(A), want(B)], driftIntervalMs: 25 });
  t.after(() => reconciler.stop());
  await reconciler.start();
  assert.ok(backend.removeExternally(A));
  await clock.advance(24);
  assert.ok(!backend.has(A), 'nothing runs before the drift interval');
  assert.equal(reports.length, 1);
  await clock.advance(1);
  assert.ok(backend.has(A), 'repaired without a kick, one drift interval after the start');
  const warning = logs.find((l) => l.level === 40 && l.msg === 'address 192.0.2.53 was removed by someone else; re-adding');
  assert.ok(warning, `warning logged; got ${JSON.stringify(logs.map((l) => l.msg))}`);
});

test('corrupt record: error reported, labelled IPv4 addresses and our-proto routes are claimed, unlabelled IPv6 left alone', async (t) => {
  const { backend, store, reconciler, logs } = setup();
  t.after(() => reconciler.stop());
  backend.addForeign({ ...A, label: 'lo:healthcast', prefixLength: 32 });
  backend.addForeign({ ...C, label: 'lo:other', prefixLength: 32 });
  backend.addForeign({ ...B, prefixLength: 128 });
  backend.addForeign(R);
  store.corruptOnce = true;
  const report = await reconciler.start();
  assert.ok(report.errors.some((e) => /corrupt/.test(e)));
  assert.ok(logs.some((l) => l.level === 50 && /ownership record unusable; treating 2 entries/.test(l.msg)));
  assert.deepEqual(keys(report.removed), keys([A, R]));
  assert.ok(backend.has(B) && backend.has(C), 'unmarked addresses are not ours');
  assert.deepEqual(store.entries, [], 'a fresh record is written');
  assert.ok(store.saves >= 1);
});

test('a kernel that cannot be listed: every desired entry is an error, nothing is applied', async (t) => {
  const { backend, reconciler } = setup({ desired: [want(A)] });
  t.after(() => reconciler.stop());
  backend.failList = 'ip: command not found';
  const report = await reconciler.start();
  assert.equal(backend.applyCalls, 0);
  const status = report.desired.get(entryKey(A));
  assert.equal(status?.state, 'error');
  assert.match(status?.state === 'error' ? status.reason : '', /cannot list .*command not found/);
  backend.failList = undefined;
  assert.equal(state(await reconciler.kick(), A), 'present');
});

test('start, kick and stop are safe to repeat; stop waits for the running pass', async () => {
  const { backend, reconciler, reports, clock } = setup({ desired: [want(A)], driftIntervalMs: 10 });
  const held = gate();
  const release = gate();
  backend.beforeApply = () => {
    held.open();
    return release.reached;
  };
  void reconciler.start();
  void reconciler.start();
  await held.reached;
  assert.equal(clock.pending, 1, 'one drift timer for two starts');
  let stopped = false;
  const stopping = reconciler.stop().then(() => (stopped = true));
  await settle();
  assert.equal(stopped, false, 'stop waits for the pass in flight');
  release.open();
  await stopping;
  await reconciler.stop();
  const count = reports.length;
  assert.equal(clock.pending, 0, 'the drift timer is cleared');
  await clock.advance(50);
  assert.equal(reports.length, count, 'no timer passes after stop');
  assert.ok(backend.has(A));
});

test('an unexpected failure inside a pass becomes a report, never a rejection', async (t) => {
  const { backend, reconciler, reports } = setup({ desired: [want(A)] });
  t.after(() => reconciler.stop());
  backend.list = async () => null as unknown as never; // a backend bug: not a list
  const report = await reconciler.start();
  assert.ok(
    report.errors.some((e) => /reconcile pass failed/.test(e)),
    report.errors.join('; '),
  );
  assert.equal(reports.length, 1, 'onReport still hears about it');
  backend.list = MemoryBackend.prototype.list.bind(backend);
  assert.equal(state(await reconciler.kick(), A), 'present', 'the next pass works');
});
