import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HoldWatch, orphanedHolds } from '../../../src/maintenance/hold-watch.js';
import type { DrainEntry, DrainOwner } from '../../../src/maintenance/drain-store.js';
import { silentLogger } from '../../../src/log.js';
import { ManualClock, settle } from '../../support/manual-clock.js';

const since = '2026-01-01T00:00:00.000Z';
const entry = (name: string, owner: DrainOwner): DrainEntry => ({ name, since, ...owner });

test('orphaned holds: only holds naming a process that is gone; those that asked to stay drained are kept', () => {
  const alive = new Set([100]);
  const rows: [DrainEntry, 'release' | 'kept' | 'none'][] = [
    [entry('cli', { by: 'cli' }), 'none'],
    [entry('old-record', { by: 'maintenance (pid 7)' }), 'none'], // a record from before pids: nothing to watch
    [entry('live', { by: 'maintenance (pid 100)', pid: 100 }), 'none'],
    [entry('gone', { by: 'maintenance (pid 200)', pid: 200 }), 'release'],
    [entry('gone-stay', { by: 'maintenance (pid 300)', pid: 300, stayDrained: true }), 'kept'],
    [entry('live-stay', { by: 'maintenance (pid 100)', pid: 100, stayDrained: true }), 'none'],
  ];
  const verdict = orphanedHolds(
    rows.map(([e]) => e),
    (owner) => alive.has(owner.pid!),
  );
  for (const [e, expected] of rows) {
    const got = verdict.release.includes(e) ? 'release' : verdict.kept.includes(e) ? 'kept' : 'none';
    assert.equal(got, expected, e.name);
  }
});

function fakeAgent(entries: DrainEntry[]) {
  const resumed: [string[], string][] = [];
  return {
    resumed,
    get drainedServices() {
      return [...entries];
    },
    async resumeServices(names: readonly string[], by: string) {
      resumed.push([[...names], by]);
      for (const name of names)
        entries.splice(
          entries.findIndex((e) => e.name === name),
          1,
        );
      return { services: [...names], notDrained: [] };
    },
  };
}

test('the watch ends an orphaned hold at start and on its timer, keeps a stay-drained one, and logs both', async () => {
  const clock = new ManualClock();
  const alive = new Set([100, 200]);
  const entries = [
    entry('dns', { by: 'maintenance (pid 100)', pid: 100 }),
    entry('radius', { by: 'maintenance (pid 200)', pid: 200 }),
    entry('web', { by: 'maintenance (pid 300)', pid: 300, stayDrained: true }),
    entry('ntp', { by: 'maintenance (pid 400)', pid: 400 }),
  ];
  const agent = fakeAgent(entries);
  const lines: { level: string; msg: string }[] = [];
  const log = silentLogger();
  const capture = Object.assign(Object.create(log) as typeof log, {
    child: () => capture,
    warn: (_fields: unknown, msg: string) => lines.push({ level: 'warn', msg }),
    error: (_fields: unknown, msg: string) => lines.push({ level: 'error', msg }),
  });
  const watch = new HoldWatch({ agent, clock, log: capture, intervalMs: 1000, alive: (owner) => alive.has(owner.pid!) });
  watch.start();
  await settle();
  assert.deepEqual(agent.resumed, [[['ntp'], 'hold-watch (holder maintenance (pid 400) gone)']], 'at start: the hold of a process already gone');
  assert.ok(lines.some((line) => line.level === 'error' && /orphaned: maintenance \(pid 400\) has exited without resuming ntp/.test(line.msg)));
  assert.ok(lines.some((line) => line.level === 'warn' && /web stays drained: .*asked to stay drained on failure/.test(line.msg)));

  alive.delete(200);
  await clock.advance(999);
  assert.equal(agent.resumed.length, 1, 'nothing before the interval');
  await clock.advance(1);
  await settle();
  assert.deepEqual(agent.resumed[1], [['radius'], 'hold-watch (holder maintenance (pid 200) gone)']);
  assert.deepEqual(
    entries.map((e) => e.name),
    ['dns', 'web'],
    'the live holder and the stay-drained hold remain',
  );

  await clock.advance(5000);
  assert.equal(lines.filter((line) => /web stays drained/.test(line.msg)).length, 1, 'the kept hold is reported once');
  watch.stop();
  assert.equal(clock.pending, 0, 'stop clears the timer');
});
