// The lease (dead man's switch) over the in-memory kernel: the renewal schedule, retries, late renewals after a freeze,
// expiries told from deletions, and the ip text that carries the lifetime.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { Reconciler } from '../../../src/routing/reconciler.js';
import { MemoryBackend } from '../../../src/routing/memory-backend.js';
import { MemoryOwnershipStore } from '../../../src/routing/ownership.js';
import { batchLine, parseAddresses, renewLine } from '../../../src/routing/ip-commands.js';
import { expiredAmong, leaseTerms, renewalIsLate } from '../../../src/routing/lease.js';
import { AgentMetrics } from '../../../src/metrics/metrics.js';
import { entryKey, type DesiredEntry, type ReconcileReport, type RoutingEntry } from '../../../src/routing/types.js';
import { ManualClock } from '../../support/manual-clock.js';

const addr = (address: string, iface = 'lo'): RoutingEntry => ({ kind: 'address', address, interface: iface });
const want = (entry: RoutingEntry, service = 'dns'): DesiredEntry => ({ ...entry, service });
const keys = (entries: readonly RoutingEntry[]) => entries.map(entryKey).sort();

const A = addr('192.0.2.53');
const B = addr('2001:db8::53');
const PARKED = addr('192.0.2.80', 'hc-drain');
const ROUTE: RoutingEntry = { kind: 'route', address: '198.51.100.7', interface: 'lo' };

interface LogLine {
  level: number;
  msg: string;
}

function setup(leaseMs: number | undefined, desired: DesiredEntry[] = [want(A), want(B), want(PARKED, 'web'), want(ROUTE, 'syslog')]) {
  const backend = new MemoryBackend();
  backend.parkingInterfaces = ['hc-drain'];
  const logs: LogLine[] = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) });
  const reports: ReconcileReport[] = [];
  const clock = new ManualClock();
  const reconciler = new Reconciler({
    backend,
    ownership: new MemoryOwnershipStore(),
    desired: () => desired,
    log,
    driftIntervalMs: 60_000,
    onReport: (r) => reports.push(r),
    clock,
    ...(leaseMs !== undefined ? { leaseMs } : {}),
  });
  return { backend, logs, reports, clock, reconciler };
}

test('one renewal batch right after the first pass, then one per lease/3, covering every owned address (parked ones too) and no route', async (t) => {
  const { backend, clock, reconciler } = setup(3000);
  t.after(() => reconciler.stop());
  await reconciler.start();
  await clock.advance(0);
  assert.equal(backend.renewedBatches.length, 1, 'renewed once after start');
  assert.deepEqual(keys(backend.renewedBatches[0]!), keys([A, B, PARKED]));
  await clock.advance(999);
  assert.equal(backend.renewedBatches.length, 1, 'nothing before lease/3');
  await clock.advance(1);
  assert.equal(backend.renewedBatches.length, 2, 'one batch at lease/3');
  await clock.advance(3000);
  assert.equal(backend.renewedBatches.length, 5, 'one batch per tick');
  assert.ok(backend.renewedBatches.every((batch) => keys(batch).join() === keys([A, B, PARKED]).join()));
  assert.equal(backend.applyCalls, 1, 'renewals are not passes: only the first add went through apply()');
  assert.deepEqual(reconciler.lease(), { leaseMs: 3000, renewedAt: clock.now() });
});

test('lease 0: nothing is renewed and status says the lease is off', async (t) => {
  const { backend, clock, reconciler } = setup(0);
  t.after(() => reconciler.stop());
  await reconciler.start();
  await clock.advance(30_000);
  assert.deepEqual(backend.renewedBatches, []);
  assert.equal(reconciler.lease(), undefined);
});

test('a failed renewal is logged and retried at the next tick; the last renewal time moves only when all succeeded', async (t) => {
  const { backend, clock, reconciler, logs } = setup(3000);
  t.after(() => reconciler.stop());
  await reconciler.start();
  await clock.advance(0);
  const renewedAt = reconciler.lease()?.renewedAt;
  backend.failRenew = (entry) => (entry.address === A.address ? 'RTNETLINK answers: No buffer space available' : undefined);
  await clock.advance(1000);
  assert.equal(backend.renewedBatches.length, 2);
  assert.equal(reconciler.lease()?.renewedAt, renewedAt, 'not a successful renewal');
  assert.ok(logs.some((l) => l.level === 50 && /lease renewal failed for 1 of 3 addresses; retrying in 1000 ms/.test(l.msg)));
  backend.failRenew = undefined;
  await clock.advance(1000);
  assert.equal(backend.renewedBatches.length, 3, 'retried at the next tick');
  assert.ok(backend.renewedBatches[2]!.some((entry) => entry.address === A.address));
  assert.equal(reconciler.lease()?.renewedAt, clock.now());
});

test('after a freeze, a late renewal runs a pass first: what expired is re-added, counted and logged', async (t) => {
  const { backend, clock, reconciler, logs, reports } = setup(3000);
  t.after(() => reconciler.stop());
  await reconciler.start();
  await clock.advance(0);
  clock.jump(5000); // the agent is stopped (SIGSTOP): no timer fires, the kernel expires the addresses
  backend.removeExternally(A);
  backend.removeExternally(PARKED);
  await clock.advance(0);
  assert.ok(backend.has(A) && backend.has(PARKED), 're-added');
  const report = reports.at(-1)!;
  assert.deepEqual(keys(report.expired ?? []), keys([A, PARKED]));
  assert.ok(logs.some((l) => l.level === 40 && /lease renewal is late/.test(l.msg)));
  assert.ok(logs.some((l) => l.level === 40 && l.msg === 'the lease of 192.0.2.53 ran out before it was renewed (the agent was frozen or starved); re-adding'));
  const metrics = new AgentMetrics({ version: '1', status: () => [], processMetrics: false });
  metrics.onReport(report);
  assert.match(await metrics.text(), /^healthcast_lease_expired_total 2$/m);
});

test('an address someone deletes while its lease runs is drift, not an expiry', async (t) => {
  const { backend, clock, reconciler, reports } = setup(3000);
  t.after(() => reconciler.stop());
  await reconciler.start();
  await clock.advance(500);
  backend.removeExternally(A);
  const report = await reconciler.kick();
  assert.ok(backend.has(A));
  assert.equal(report.expired, undefined);
  assert.ok(reports.every((r) => r.expired === undefined));
});

test('renewals never overlap a pass, and stop() ends them: the addresses are left to expire', async (t) => {
  const { backend, clock, reconciler } = setup(3000);
  t.after(() => reconciler.stop());
  await reconciler.start();
  await clock.advance(0);
  let release!: () => void;
  backend.beforeApply = () => new Promise<void>((resolve) => (release = resolve));
  backend.removeExternally(B);
  const pass = reconciler.kick();
  await clock.advance(1000);
  assert.equal(backend.renewedBatches.length, 1, 'the tick waits for the pass');
  release();
  await pass;
  await clock.advance(0);
  assert.equal(backend.renewedBatches.length, 2, 'and runs after it');
  await reconciler.stop();
  await clock.advance(10_000);
  assert.equal(backend.renewedBatches.length, 2, 'no renewal after stop');
  assert.ok(backend.has(A), 'stop removes nothing: the kernel expires what is left');
});

test('the pure rules: terms, lateness, expiry', () => {
  assert.equal(leaseTerms(0), undefined);
  assert.deepEqual(leaseTerms(10_000), { leaseMs: 10_000, lifetimeSeconds: 10, renewEveryMs: 3333 });
  assert.deepEqual(leaseTerms(3500), { leaseMs: 3500, lifetimeSeconds: 4, renewEveryMs: 1166 });
  const terms = leaseTerms(3000)!;
  assert.equal(renewalIsLate(undefined, 10_000, terms), false);
  assert.equal(renewalIsLate(0, 2499, terms), false);
  assert.equal(renewalIsLate(0, 2500, terms), true);
  const leasedAt = new Map([
    [entryKey(A), 0],
    [entryKey(B), 2000],
  ]);
  assert.deepEqual(expiredAmong([A, B, ROUTE], leasedAt, entryKey, 3000, terms), [A]);
});

test('ip text: adds carry the lifetime, renewals replace with the same prefix, label and flags', () => {
  const add = (entry: RoutingEntry) => batchLine({ action: 'add', entry }, 201, ['hc-drain'], 10);
  assert.equal(add(A), 'address add 192.0.2.53/32 dev lo label lo:healthcast valid_lft 10 preferred_lft 10');
  assert.equal(
    add(B),
    'address add 2001:db8::53/128 dev lo noprefixroute nodad valid_lft 10 preferred_lft 10',
    'no prefix route a deletion would leave behind',
  );
  assert.equal(add(PARKED), 'address add 192.0.2.80/31 dev hc-drain label hc-drain:hc noprefixroute valid_lft 10 preferred_lft 10');
  assert.equal(add(ROUTE), 'route add 198.51.100.7/32 dev lo proto 201', 'routes take no lease');
  assert.equal(batchLine({ action: 'remove', entry: A }, 201, [], 10), 'address del 192.0.2.53/32 dev lo');
  assert.equal(batchLine({ action: 'add', entry: A }, 201), 'address add 192.0.2.53/32 dev lo label lo:healthcast', 'no lease: as before');
  assert.equal(renewLine(A, [], 3), 'address replace 192.0.2.53/32 dev lo label lo:healthcast valid_lft 3 preferred_lft 3');
  assert.equal(
    renewLine(addr('2001:db8::54', 'hc-drain'), ['hc-drain'], 3),
    'address replace 2001:db8::54/127 dev hc-drain noprefixroute nodad valid_lft 3 preferred_lft 3',
  );
  assert.equal(renewLine(B, [], 'forever'), 'address replace 2001:db8::53/128 dev lo noprefixroute nodad valid_lft forever preferred_lft forever');
  assert.equal(batchLine({ action: 'add', entry: B }, 201), 'address add 2001:db8::53/128 dev lo nodad', 'no lease: as before');
  assert.throws(() => renewLine(ROUTE, [], 3), /only addresses carry a lease/);
  const listed = parseAddresses([
    {
      ifname: 'lo',
      addr_info: [
        { family: 'inet', local: '192.0.2.53', prefixlen: 32, dynamic: true, valid_life_time: 3 },
        { family: 'inet', local: '127.0.0.1', prefixlen: 8 },
      ],
    },
  ]);
  assert.deepEqual(
    listed.map((entry) => entry.dynamic),
    [true, undefined],
  );
});

test('lease 0 after a leased run: the owned addresses listed with a lifetime are made permanent once, the others left alone', async (t) => {
  const backend = new MemoryBackend();
  backend.addForeign({ ...A, label: 'lo:healthcast', prefixLength: 32, dynamic: true });
  backend.addForeign({ ...B, prefixLength: 128 });
  const clock = new ManualClock();
  const reconciler = new Reconciler({
    backend,
    ownership: new MemoryOwnershipStore([A, B]),
    desired: () => [want(A), want(B)],
    log: pino({ level: 'silent' }),
    driftIntervalMs: 60_000,
    clock,
    leaseMs: 0,
  });
  t.after(() => reconciler.stop());
  await reconciler.start();
  await clock.advance(60_000);
  assert.deepEqual(backend.renewedBatches, [[A]]);
});
