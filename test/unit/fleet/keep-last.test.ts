// keep_last's rule: first the decision from tables (advertiser sets, router-ids, guard timing), then a fleet of records
// driven by next() on a ManualClock with an LSDB that lags by the convergence time: all failing together leaves exactly
// one advertiser and never none; some failing leaves no extra one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideKeep, guardLength, orphanedAddress, type KeepDecision } from '../../../src/fleet/keep-last.js';
import type { FleetSnapshot } from '../../../src/fleet/lsdb.js';
import { keepWatching, newRecord, next, wants, type AgentView, type Effect, type ServiceEvent, type ServiceRecord } from '../../../src/core/service-record.js';
import type { FleetReading } from '../../../src/fleet/watcher.js';
import { serviceConfig, switchProbe } from '../../support/agent-fixtures.js';
import { ManualClock } from '../../support/manual-clock.js';

const NOW = 1_000_000;
const snapshot = (self: string, byAddress: Record<string, string[]>): FleetSnapshot => ({
  routerId: self,
  advertisers: new Map(Object.entries(byAddress).map(([prefix, ids]) => [prefix, new Set(ids)])),
});

interface Row {
  name: string;
  snapshot: FleetSnapshot | undefined;
  addresses?: string[];
  guardUntil?: number;
  guardOthers?: string[];
  now?: number;
  readMs?: number;
  detectionMs?: number;
  decision: Pick<KeepDecision, 'action'> & { until?: number };
}

const rows: Row[] = [
  { name: 'unknown (FRR not answering): withdraw', snapshot: undefined, decision: { action: 'withdraw' } },
  { name: 'alone: keep', snapshot: snapshot('0.0.0.2', { '192.0.2.53/32': ['0.0.0.2'] }), decision: { action: 'keep' } },
  { name: 'nobody, not even itself (not yet originated): keep', snapshot: snapshot('0.0.0.2', {}), decision: { action: 'keep' } },
  {
    name: 'a higher router-id advertises too: withdraw at once',
    snapshot: snapshot('0.0.0.2', { '192.0.2.53/32': ['0.0.0.2', '0.0.0.3'] }),
    decision: { action: 'withdraw' },
  },
  {
    name: 'the highest of several: guard period from now',
    snapshot: snapshot('0.0.0.3', { '192.0.2.53/32': ['0.0.0.2', '0.0.0.3'] }),
    decision: { action: 'guard', until: NOW + 3000 },
  },
  {
    name: 'the highest, on a slow machine: the guard is at least 3x the last read (the others read as slowly)',
    snapshot: snapshot('0.0.0.3', { '192.0.2.53/32': ['0.0.0.2', '0.0.0.3'] }),
    readMs: 1500,
    decision: { action: 'guard', until: NOW + 4500 },
  },
  {
    name: 'the highest, during its guard: keep waiting until the same end',
    snapshot: snapshot('0.0.0.3', { '192.0.2.53/32': ['0.0.0.2', '0.0.0.3'] }),
    guardUntil: NOW + 1000,
    decision: { action: 'guard', until: NOW + 1000 },
  },
  {
    name: 'the highest, probes noticed late elsewhere: the guard adds the detection time (fall x interval + timeout)',
    snapshot: snapshot('0.0.0.3', { '192.0.2.53/32': ['0.0.0.2', '0.0.0.3'] }),
    readMs: 1000,
    detectionMs: 550,
    decision: { action: 'guard', until: NOW + 3550 },
  },
  {
    name: 'the highest, during its guard, one of the others withdrew: the fleet is moving, the guard starts again',
    snapshot: snapshot('0.0.0.4', { '192.0.2.53/32': ['0.0.0.3', '0.0.0.4'] }),
    guardUntil: NOW + 200,
    guardOthers: ['0.0.0.2', '0.0.0.3'],
    decision: { action: 'guard', until: NOW + 3000 },
  },
  {
    name: 'the highest, guard over, but the others changed since it began: guard again, not withdraw',
    snapshot: snapshot('0.0.0.4', { '192.0.2.53/32': ['0.0.0.3', '0.0.0.4'] }),
    guardUntil: NOW - 1,
    guardOthers: ['0.0.0.2', '0.0.0.3'],
    decision: { action: 'guard', until: NOW + 3000 },
  },
  {
    name: 'the highest, guard over, the same others as when it began: withdraw',
    snapshot: snapshot('0.0.0.4', { '192.0.2.53/32': ['0.0.0.3', '0.0.0.4'] }),
    guardUntil: NOW,
    guardOthers: ['0.0.0.3'],
    decision: { action: 'withdraw' },
  },
  {
    name: 'the highest, guard over, others still advertise: withdraw',
    snapshot: snapshot('0.0.0.3', { '192.0.2.53/32': ['0.0.0.2', '0.0.0.3'] }),
    guardUntil: NOW,
    decision: { action: 'withdraw' },
  },
  {
    name: 'guard over and alone now: keep',
    snapshot: snapshot('0.0.0.3', { '192.0.2.53/32': ['0.0.0.3'] }),
    guardUntil: NOW,
    decision: { action: 'keep' },
  },
  {
    name: 'router-ids compare as numbers: 0.0.0.10 is above 0.0.0.9',
    snapshot: snapshot('0.0.0.9', { '192.0.2.53/32': ['0.0.0.9', '0.0.0.10'] }),
    decision: { action: 'withdraw' },
  },
  {
    name: 'two addresses, one of them served by nobody else: keep (withdrawing would lose it)',
    snapshot: snapshot('0.0.0.2', { '192.0.2.53/32': ['0.0.0.2', '0.0.0.3'], '2001:db8:53::53/128': ['0.0.0.2'] }),
    addresses: ['192.0.2.53', '2001:db8:53::53'],
    decision: { action: 'keep' },
  },
  {
    name: 'two addresses served by different others, one higher: withdraw',
    snapshot: snapshot('0.0.0.2', { '192.0.2.53/32': ['0.0.0.2', '0.0.0.1'], '2001:db8:53::53/128': ['0.0.0.2', '0.0.0.4'] }),
    addresses: ['192.0.2.53', '2001:db8:53::53'],
    decision: { action: 'withdraw' },
  },
];

for (const row of rows) {
  test(`keep_last rule: ${row.name}`, () => {
    const decision = decideKeep({
      snapshot: row.snapshot,
      addresses: row.addresses ?? ['192.0.2.53'],
      now: row.now ?? NOW,
      guardMs: 3000,
      guardUntil: row.guardUntil,
      guardOthers: row.guardOthers,
      readMs: row.readMs,
      detectionMs: row.detectionMs,
    });
    assert.equal(decision.action, row.decision.action, decision.reason);
    if (row.decision.until !== undefined) assert.equal((decision as { until: number }).until, row.decision.until);
  });
}

const orphans = [
  { name: 'another router advertises', snapshot: snapshot('0.0.0.2', { '192.0.2.53/32': ['0.0.0.4'] }), orphan: undefined },
  { name: 'nobody advertises', snapshot: snapshot('0.0.0.2', {}), orphan: '192.0.2.53' },
  { name: 'only its own LSA, not yet flushed', snapshot: snapshot('0.0.0.2', { '192.0.2.53/32': ['0.0.0.2'] }), orphan: '192.0.2.53' },
  {
    name: 'one of two addresses served by nobody',
    snapshot: snapshot('0.0.0.2', { '192.0.2.53/32': ['0.0.0.4'], '2001:db8:53::53/128': [] }),
    addresses: ['192.0.2.53', '2001:db8:53::53'],
    orphan: '2001:db8:53::53',
  },
  { name: 'advertisers unknown: nothing to conclude', snapshot: undefined, orphan: undefined },
];
for (const row of orphans) {
  test(`keep_last standby: ${row.name} -> ${row.orphan ?? 'stay withdrawn'}`, () => {
    assert.equal(orphanedAddress(row.snapshot, row.addresses ?? ['192.0.2.53']), row.orphan);
  });
}

test('keep_last guard length: the configured floor, or detection + 3 slowest reads', () => {
  assert.equal(guardLength({ guardMs: 1500 }), 1500);
  assert.equal(guardLength({ guardMs: 1500, readMs: 80, detectionMs: 550 }), 1500);
  assert.equal(guardLength({ guardMs: 1500, readMs: 1100, detectionMs: 550 }), 3850);
});

// ---- a fleet of records: each node's record, its LSDB lagging the others' announcements by the convergence time ----

interface SimNode {
  id: string;
  record: ServiceRecord;
  view: AgentView;
  advertising: boolean;
  healthy: boolean;
  timers: { grace?: unknown; recheck?: unknown };
}

interface FleetOptions {
  ids: string[];
  convergenceMs: number;
  readMs: number; // one vtysh read
  readsMs?: number[]; // per node, when they differ
  intervalMs: number; // probe interval
  offsets: number[]; // each node's probe slot within the interval
  guardMs: number;
}

class Fleet {
  readonly clock = new ManualClock(NOW);
  readonly nodes: SimNode[];
  // Every change of any node's advertisement: [time, id, advertising].
  private readonly history: [number, string, boolean][] = [];
  // The smallest number of advertisers seen at any moment since `watchFrom`, and how long there were none.
  minimum = Infinity;
  watchFrom = Infinity;
  zeroMs = 0;
  private zeroSince: number | undefined;

  constructor(private readonly options: FleetOptions) {
    const config = serviceConfig('dns', ['192.0.2.53'], switchProbe().definition, {
      rise: 2,
      fall: 2,
      keepLast: true,
      keepLastGuardMs: options.guardMs,
      drainMs: 0,
      intervalMs: options.intervalMs,
      timeoutMs: 150,
    });
    this.nodes = options.ids.map((id) => ({
      id,
      record: { ...newRecord(config), health: { phase: 'up', successes: 5, failures: 0 } },
      view: { mode: 'running', drainInterface: 'hc-drain' },
      advertising: true,
      healthy: true,
      timers: {},
    }));
    for (const node of this.nodes) this.history.push([this.clock.now() - 60_000, node.id, true]);
    options.offsets.forEach((offset, index) => this.clock.setTimeout(() => this.probe(this.nodes[index]!), offset));
    for (const node of this.nodes) this.poll(node);
  }

  // The watcher's timer: every second while a service is held by keep_last, else slowly.
  private poll(node: SimNode): void {
    this.read(node, 0);
    this.clock.setTimeout(() => this.poll(node), keepWatching(node.record, this.clock.now()) ? 1000 : 10_000);
  }

  count(): number {
    return this.nodes.filter((node) => node.advertising).length;
  }

  advertisers(): string[] {
    return this.nodes.filter((node) => node.advertising).map((node) => node.id);
  }

  // The LSDB as `viewer` sees it at `at`: its own LSA at once, the others' as of the convergence time before.
  private lsdb(viewer: SimNode, at: number): FleetSnapshot {
    const ids = new Set<string>();
    for (const node of this.nodes) {
      const asOf = node === viewer ? at : at - this.options.convergenceMs;
      let state = false;
      for (const [time, id, advertising] of this.history) if (id === node.id && time <= asOf) state = advertising;
      if (state) ids.add(node.id);
    }
    return { routerId: viewer.id, advertisers: new Map([['192.0.2.53/32', ids]]) };
  }

  private read(node: SimNode, delay = this.options.readsMs?.[this.nodes.indexOf(node)] ?? this.options.readMs): void {
    const at = this.clock.now();
    this.clock.setTimeout(() => {
      const reading: FleetReading = { at, snapshot: this.lsdb(node, at), durationMs: delay };
      node.view.fleet = reading;
      this.dispatch(node, { kind: 'fleet' });
    }, delay);
  }

  private probe(node: SimNode): void {
    this.dispatch(node, { kind: 'result', result: { ok: node.healthy, reason: node.healthy ? 'ok' : 'dns: refused', durationMs: 1, at: this.clock.now() } });
    this.clock.setTimeout(() => this.probe(node), this.options.intervalMs);
  }

  private dispatch(node: SimNode, event: ServiceEvent): void {
    const { record, effects } = next(node.record, event, this.clock.now(), node.view);
    node.record = record;
    for (const effect of effects) this.carryOut(node, effect);
  }

  private carryOut(node: SimNode, effect: Effect): void {
    if (effect.kind === 'kick') this.apply(node);
    if (effect.kind === 'fleet-read') this.read(node);
    if (effect.kind === 'recheck') {
      this.clock.clearTimeout(node.timers.recheck as never);
      node.timers.recheck = this.clock.setTimeout(() => this.dispatch(node, { kind: 'recheck' }), Math.max(0, effect.at - this.clock.now()));
    }
  }

  private apply(node: SimNode): void {
    const advertising = wants(node.record, node.view.mode);
    if (advertising === node.advertising) return;
    node.advertising = advertising;
    this.history.push([this.clock.now(), node.id, advertising]);
    if (this.clock.now() >= this.watchFrom) {
      this.minimum = Math.min(this.minimum, this.count());
      if (this.count() === 0) this.zeroSince ??= this.clock.now();
      else if (this.zeroSince !== undefined) {
        this.zeroMs += this.clock.now() - this.zeroSince;
        this.zeroSince = undefined;
      }
    }
    // Like the runtime: our own change makes the node read the fleet again while it spreads.
    for (const delay of [250, 1000]) this.clock.setTimeout(() => this.read(node, 0), delay);
  }

  // Fails (or heals) the named nodes `spreadMs` apart, starting now.
  setHealthy(ids: string[], healthy: boolean, spreadMs = 0): void {
    ids.forEach((id, index) => {
      this.clock.setTimeout(() => {
        this.nodes.find((node) => node.id === id)!.healthy = healthy;
      }, index * spreadMs);
    });
  }
}

const IDS = ['0.0.0.2', '0.0.0.3', '0.0.0.4'];
const base: FleetOptions = { ids: IDS, convergenceMs: 40, readMs: 80, intervalMs: 200, offsets: [0, 70, 140], guardMs: 1000 };

// Slots, spreads and convergence times a real fleet sees (detection spread up to one interval).
const cases = [
  { name: 'failures within ms, slots 70 ms apart', options: base, spreadMs: 2 },
  { name: 'failures within ms, identical slots', options: { ...base, offsets: [0, 0, 0] }, spreadMs: 0 },
  { name: 'failures spread over 150 ms', options: { ...base, offsets: [10, 20, 30] }, spreadMs: 75 },
  { name: 'slow convergence (300 ms) and slow reads', options: { ...base, convergenceMs: 300, readMs: 400, guardMs: 2000 }, spreadMs: 5 },
  { name: 'reads (1.5 s) slower than the configured guard (1 s): the guard follows the reads', options: { ...base, readMs: 1500 }, spreadMs: 3 },
  { name: 'highest router-id detects last', options: { ...base, offsets: [150, 100, 0], ids: ['0.0.0.2', '0.0.0.3', '0.0.0.4'] }, spreadMs: 1 },
  { name: 'router-ids 9 and 10 (numeric order)', options: { ...base, ids: ['0.0.0.9', '0.0.0.10', '0.0.0.1'] }, spreadMs: 1 },
];

for (const { name, options, spreadMs } of cases) {
  test(`keep_last fleet, all fail together (${name}): exactly one advertiser remains, never none`, async () => {
    const fleet = new Fleet(options);
    await fleet.clock.advance(2000);
    assert.equal(fleet.count(), 3);
    fleet.watchFrom = fleet.clock.now();
    fleet.setHealthy(options.ids, false, spreadMs);
    await fleet.clock.advance(Math.max(options.guardMs, 3 * options.readMs) * 3 + 3000);
    assert.equal(fleet.count(), 1, `advertisers: ${fleet.advertisers().join(', ')}`);
    assert.equal(fleet.minimum, 1, 'the service never had zero advertisers');
    const kept = fleet.nodes.find((node) => node.advertising)!;
    assert.equal(kept.record.keep?.state, 'last');
    // One comes back: it is announced and the kept node withdraws.
    const back = fleet.nodes.find((node) => !node.advertising)!;
    fleet.setHealthy([back.id], true);
    await fleet.clock.advance(Math.max(options.guardMs, 3 * options.readMs) * 2 + 3000);
    assert.deepEqual(fleet.advertisers(), [back.id]);
    assert.equal(fleet.minimum, 1);
  });
}

// The races no timing rule closes, so a node that withdrew for the fleet stands by and announces again when nobody
// advertises: every moment, the end is exactly one advertiser, and a gap (if any) is short.
test("keep_last fleet, the others fail again at every moment of the kept node's guard (they had come back, it had not)", async (t) => {
  const gaps: number[] = [];
  for (let delay = 0; delay <= 3000; delay += 100) {
    const fleet = new Fleet(base);
    await fleet.clock.advance(2000);
    fleet.setHealthy(IDS, false, 1);
    await fleet.clock.advance(6000);
    assert.deepEqual(fleet.advertisers(), ['0.0.0.4']);
    // a and b back: announced after rise; c, still failing, starts its guard on seeing them.
    fleet.setHealthy(['0.0.0.2', '0.0.0.3'], true);
    for (let waited = 0; waited < 3000 && fleet.nodes[2]!.record.keep?.state !== 'guard'; waited += 50) await fleet.clock.advance(50);
    assert.equal(fleet.nodes[2]!.record.keep?.state, 'guard', `delay ${delay}: c guards`);
    fleet.watchFrom = fleet.clock.now();
    await fleet.clock.advance(delay);
    fleet.setHealthy(['0.0.0.2', '0.0.0.3'], false, 1);
    await fleet.clock.advance(12_000);
    assert.equal(fleet.count(), 1, `delay ${delay}: advertisers ${fleet.advertisers().join(', ')}`);
    assert.equal(fleet.nodes.find((node) => node.advertising)!.record.keep?.state, 'last');
    assert.ok(fleet.zeroMs <= 1500, `delay ${delay}: ${fleet.zeroMs} ms without an advertiser`);
    gaps.push(fleet.zeroMs);
  }
  t.diagnostic(`31 delays: ${gaps.filter((ms) => ms > 0).length} with a gap (longest ${Math.max(...gaps)} ms), none stuck at zero`);
});

test('keep_last fleet, all fail together, the kept node reads fast and the others slowly (1.5 s): exactly one remains', async (t) => {
  const fleet = new Fleet({ ...base, readsMs: [1500, 1200, 200] });
  await fleet.clock.advance(5000);
  fleet.watchFrom = fleet.clock.now();
  fleet.setHealthy(IDS, false, 1);
  await fleet.clock.advance(20_000);
  assert.equal(fleet.count(), 1, `advertisers: ${fleet.advertisers().join(', ')}`);
  assert.ok(fleet.zeroMs <= 2500, `${fleet.zeroMs} ms without an advertiser`);
  t.diagnostic(`without an advertiser for ${fleet.zeroMs} ms`);
});

test('keep_last fleet, staggered failures (seconds apart): each withdraws while another serves, the last one stays', async () => {
  const fleet = new Fleet(base);
  await fleet.clock.advance(2000);
  fleet.watchFrom = fleet.clock.now();
  fleet.setHealthy(IDS, false, 3000);
  await fleet.clock.advance(12_000);
  assert.deepEqual(fleet.advertisers(), ['0.0.0.4'], 'the last to fail stays');
  assert.equal(fleet.minimum, 1);
});

for (const failing of [['0.0.0.2'], ['0.0.0.4'], ['0.0.0.2', '0.0.0.4'], ['0.0.0.3', '0.0.0.4']]) {
  test(`keep_last fleet, only ${failing.join(' and ')} fail: none of them stays once the guard is over`, async () => {
    const fleet = new Fleet(base);
    await fleet.clock.advance(2000);
    fleet.setHealthy(failing, false, 1);
    await fleet.clock.advance(base.guardMs + 2000);
    assert.deepEqual(
      fleet.advertisers(),
      IDS.filter((id) => !failing.includes(id)),
    );
    assert.ok(
      fleet.nodes.every((node) => node.record.keep === undefined || node.record.keep.state === 'standby'),
      'no failing node held announced',
    );
  });
}

test('keep_last off: all fail, all withdraw (as before)', async () => {
  const fleet = new Fleet(base);
  for (const node of fleet.nodes) node.record = { ...node.record, config: { ...node.record.config, keepLast: false } };
  await fleet.clock.advance(2000);
  fleet.setHealthy(IDS, false, 1);
  await fleet.clock.advance(3000);
  assert.equal(fleet.count(), 0);
});
