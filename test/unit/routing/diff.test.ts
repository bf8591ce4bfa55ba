// Table-driven tests for the pure planner: every row names the situation and the exact plan it must produce.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { plan, settleRecord, sameEntries } from '../../../src/routing/diff.js';
import { entryKey, type DesiredEntry, type KernelEntry, type RoutingEntry, type RoutingOp } from '../../../src/routing/types.js';

const addr = (address: string, iface = 'lo'): RoutingEntry => ({ kind: 'address', address, interface: iface });
const route = (address: string, iface = 'lo'): RoutingEntry => ({ kind: 'route', address, interface: iface });
const want = (entry: RoutingEntry, service = 'dns'): DesiredEntry => ({ ...entry, service });
const onSystem = (entry: RoutingEntry, extra: Partial<KernelEntry> = {}): KernelEntry => ({ ...entry, ...extra });
const keys = (entries: readonly RoutingEntry[]) => entries.map(entryKey).sort();

interface Row {
  name: string;
  desired: DesiredEntry[];
  kernel: KernelEntry[];
  owned: RoutingEntry[];
  adds?: RoutingEntry[];
  removes?: RoutingEntry[];
  present?: RoutingEntry[];
  conflicts?: RoutingEntry[];
  drifted?: RoutingEntry[];
  stale?: RoutingEntry[];
  before?: RoutingEntry[];
  // The record once settled against the kernel after every op took effect.
  after?: RoutingEntry[];
}

// The kernel once every op of a plan took effect.
function applied(kernel: readonly KernelEntry[], ops: readonly RoutingOp[]): KernelEntry[] {
  const result = new Map(kernel.map((entry) => [entryKey(entry), entry]));
  for (const op of ops) {
    if (op.action === 'add') result.set(entryKey(op.entry), { ...op.entry });
    else result.delete(entryKey(op.entry));
  }
  return [...result.values()];
}

const A = addr('192.0.2.53');
const B = addr('2001:db8::53');
const R = route('198.51.100.7');

const rows: Row[] = [
  { name: 'nothing anywhere', desired: [], kernel: [], owned: [], before: [], after: [] },
  {
    name: 'desired and absent: add, recorded before applying',
    desired: [want(A), want(B)],
    kernel: [],
    owned: [],
    adds: [A, B],
    before: [A, B],
    after: [A, B],
  },
  { name: 'desired, owned and present: nothing to do', desired: [want(A)], kernel: [onSystem(A)], owned: [A], present: [A], before: [A], after: [A] },
  {
    name: 'owned, present, not desired: remove (crash recovery)',
    desired: [],
    kernel: [onSystem(A), onSystem(R)],
    owned: [A, R],
    removes: [A, R],
    before: [A, R],
    after: [],
  },
  { name: 'owned, absent, not desired: forget, never touch', desired: [], kernel: [], owned: [A], stale: [A], before: [], after: [] },
  { name: 'owned, absent, desired: drift, re-add', desired: [want(A)], kernel: [], owned: [A], adds: [A], drifted: [A], before: [A], after: [A] },
  { name: 'present but not owned: conflict, untouched', desired: [want(A)], kernel: [onSystem(A)], owned: [], conflicts: [A], before: [], after: [] },
  { name: 'present on another interface, not owned: conflict', desired: [want(A)], kernel: [onSystem(addr('192.0.2.53', 'eth0'))], owned: [], conflicts: [A] },
  {
    name: 'present with a non-host prefix: conflict, even on our interface',
    desired: [want(A)],
    kernel: [onSystem(A, { prefixLength: 24 })],
    owned: [],
    conflicts: [A],
  },
  {
    name: 'a non-host prefix is never ours, even if recorded',
    desired: [],
    kernel: [onSystem(A, { prefixLength: 24 })],
    owned: [A],
    stale: [A],
    before: [],
    after: [],
  },
  { name: 'foreign address not desired: untouched and not recorded', desired: [], kernel: [onSystem(addr('192.0.2.99'))], owned: [], before: [], after: [] },
  { name: 'route with our proto not recorded: conflict', desired: [want(R)], kernel: [onSystem(R)], owned: [], conflicts: [R] },
  {
    name: 'address and route of one IP are separate kinds',
    desired: [want(route('192.0.2.53'))],
    kernel: [onSystem(A)],
    owned: [],
    adds: [route('192.0.2.53')],
  },
  {
    name: 'ours moves to another interface: remove old, add new',
    desired: [want(addr('192.0.2.53', 'dummy0'))],
    kernel: [onSystem(A)],
    owned: [A],
    removes: [A],
    adds: [addr('192.0.2.53', 'dummy0')],
    before: [A, addr('192.0.2.53', 'dummy0')],
    after: [addr('192.0.2.53', 'dummy0')],
  },
  {
    name: 'ours present and a foreign copy elsewhere: conflict, ours kept',
    desired: [want(A)],
    kernel: [onSystem(A), onSystem(addr('192.0.2.53', 'eth0'))],
    owned: [A],
    conflicts: [A],
    before: [A],
    after: [A],
  },
  { name: 'duplicate desires act once', desired: [want(A, 'dns'), want(A, 'radius')], kernel: [], owned: [], adds: [A], before: [A] },
  {
    name: 'mixed: keep, add, remove, forget',
    desired: [want(A), want(B)],
    kernel: [onSystem(A), onSystem(R)],
    owned: [A, R, addr('192.0.2.1')],
    present: [A],
    adds: [B],
    removes: [R],
    stale: [addr('192.0.2.1')],
    before: [A, R, B],
    after: [A, B],
  },
];

for (const row of rows) {
  test(`plan: ${row.name}`, () => {
    const result = plan(row.desired, row.kernel, row.owned);
    assert.deepEqual(keys(result.adds), keys(row.adds ?? []), 'adds');
    assert.deepEqual(keys(result.removes), keys(row.removes ?? []), 'removes');
    assert.deepEqual(keys(result.present), keys(row.present ?? []), 'present');
    assert.deepEqual(keys(result.conflicts.map((c) => c.entry)), keys(row.conflicts ?? []), 'conflicts');
    assert.deepEqual(keys(result.drifted), keys(row.drifted ?? []), 'drifted');
    assert.deepEqual(keys(result.stale), keys(row.stale ?? []), 'stale');
    if (row.before) assert.deepEqual(keys(result.recordBeforeApply), keys(row.before), 'record before apply');
    if (row.after) assert.deepEqual(keys(settleRecord(result.recordBeforeApply, applied(row.kernel, result.ops))), keys(row.after), 'record after apply');
    // Invariants for every row: removes, then adds; nothing conflicting or foreign is ever an op.
    const firstAdd = result.ops.findIndex((op) => op.action === 'add');
    if (firstAdd >= 0)
      assert.ok(
        result.ops.slice(firstAdd).every((op) => op.action === 'add'),
        'removes come before adds',
      );
    const ownedKeys = new Set(row.owned.map(entryKey));
    for (const op of result.ops) if (op.action === 'remove') assert.ok(ownedKeys.has(entryKey(op.entry)), 'only owned entries are removed');
    for (const add of result.adds)
      assert.ok(
        result.recordBeforeApply.some((e) => entryKey(e) === entryKey(add)),
        'every add is recorded first',
      );
  });
}

test('conflict holders name where the address is', () => {
  const result = plan([want(A)], [onSystem(addr('192.0.2.53', 'eth0'), { label: 'eth0:vip', prefixLength: 32 })], []);
  assert.equal(result.conflicts.length, 1);
  assert.equal(result.conflicts[0]?.holders[0]?.interface, 'eth0');
  assert.equal(result.conflicts[0]?.holders[0]?.label, 'eth0:vip');
});

test('recorded entries carry no service or label', () => {
  const result = plan([want(A)], [], []);
  assert.deepEqual(result.recordBeforeApply, [A]);
  assert.deepEqual(result.ops, [{ action: 'add', entry: A }]);
});

test('settleRecord keeps only what the kernel shows, as host entries', () => {
  const record = [A, B, R];
  assert.deepEqual(keys(settleRecord(record, [onSystem(A), onSystem(R)])), keys([A, R]));
  assert.deepEqual(settleRecord(record, [onSystem(A, { prefixLength: 24 })]), []);
  assert.deepEqual(settleRecord(record, []), []);
});

test('sameEntries ignores order and duplicates only', () => {
  assert.ok(sameEntries([A, B], [B, A]));
  assert.ok(!sameEntries([A], [A, B]));
  assert.ok(!sameEntries([A], [addr('192.0.2.53', 'eth0')]));
});

// FRR 8.4's zebra mishandles one connected prefix on two interfaces: between ordinary interfaces the address leaves first.
test('an address moving between two ordinary interfaces leaves the first one first, in the same batch', () => {
  const onLo = { kind: 'address' as const, address: '192.0.2.53', interface: 'lo' };
  const onEth = { ...onLo, interface: 'eth1' };
  const result = plan([{ ...onEth, service: 'dns' }], [onSystem(onLo)], [onLo], { parkingInterfaces: ['hc-drain'] });
  assert.deepEqual(
    result.ops.map((op) => `${op.action} ${op.entry.interface}`),
    ['remove lo', 'add eth1'],
  );
  assert.equal(result.conflicts.length, 0);
});

// A parked address has its own connected prefix (/31, /127), so the host never lacks the address during a move.
test('make-before-break with a parking interface: parked before it leaves lo, back on lo before it leaves the parking interface', () => {
  const onLo = { kind: 'address' as const, address: '192.0.2.53', interface: 'lo' };
  const onDrain = { ...onLo, interface: 'hc-drain' };
  const other = { kind: 'address' as const, address: '192.0.2.54', interface: 'lo' };
  const options = { parkingInterfaces: ['hc-drain'] };
  const drain = plan(
    [
      { ...onDrain, service: 'dns' },
      { ...other, service: 'ntp' },
    ],
    [onSystem(onLo)],
    [onLo],
    options,
  );
  assert.deepEqual(
    drain.ops.map((op) => `${op.action} ${op.entry.address}@${op.entry.interface}`),
    ['add 192.0.2.53@hc-drain', 'remove 192.0.2.53@lo', 'add 192.0.2.54@lo'],
  );
  const resume = plan([{ ...onLo, service: 'dns' }], [onSystem(onDrain)], [onDrain], options);
  assert.deepEqual(
    resume.ops.map((op) => `${op.action} ${op.entry.interface}`),
    ['add lo', 'remove hc-drain'],
  );
  assert.equal(drain.conflicts.length + resume.conflicts.length, 0);
  assert.deepEqual(
    plan([{ ...onDrain, service: 'dns' }], [onSystem(onLo)], [onLo]).ops.map((op) => `${op.action} ${op.entry.interface}`),
    ['remove lo', 'add hc-drain'],
    'without parking interfaces: break before make',
  );
});
