// Telling an agent that did not run from one that ran late: the pure rule from a table, the watchdog on a ManualClock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { freezeThresholdMs, frozenFor, MAX_FREEZE_THRESHOLD_MS } from '../../../src/core/freeze.js';
import { FreezeWatch } from '../../../src/core/freeze-watch.js';
import { ManualClock } from '../../support/manual-clock.js';

test('the threshold: a renewal period (lease/3), at most 3 s; 3 s without a lease', () => {
  const table: [leaseMs: number, thresholdMs: number][] = [
    [0, 3000],
    [3000, 1000],
    [6000, 2000],
    [9000, 3000],
    [10_000, 3000],
    [60_000, 3000],
  ];
  for (const [leaseMs, thresholdMs] of table) assert.equal(freezeThresholdMs(leaseMs), thresholdMs, `lease ${leaseMs} ms`);
  assert.equal(freezeThresholdMs(0), MAX_FREEZE_THRESHOLD_MS);
});

test('a freeze: away longer than the tick by at least the threshold', () => {
  // [last seen, now, tick, threshold, frozen for (undefined: not a freeze)]
  const table: [number, number, number, number, number | undefined][] = [
    [0, 500, 500, 1000, undefined], // on time
    [0, 0, 500, 1000, undefined], // checked between ticks
    [0, 800, 500, 1000, undefined], // a loaded loop, 300 ms late
    [0, 1499, 500, 1000, undefined], // just short
    [0, 1500, 500, 1000, 1500], // a whole threshold beyond the tick
    [10_000, 15_000, 500, 1000, 5000], // SIGSTOP for 5 s
    [10_000, 13_400, 500, 3000, undefined], // 3.4 s away is not 3 s beyond a 500 ms tick
    [10_000, 13_500, 500, 3000, 3500],
  ];
  for (const [lastSeenAt, now, tick, threshold, expected] of table)
    assert.equal(frozenFor(lastSeenAt, now, tick, threshold), expected, `seen ${lastSeenAt}, now ${now}, tick ${tick}, threshold ${threshold}`);
});

function watch(thresholdMs: number) {
  const clock = new ManualClock();
  const freezes: number[] = [];
  const freezeWatch = new FreezeWatch(clock, thresholdMs, (awayMs) => freezes.push(awayMs));
  return { clock, freezes, freezeWatch };
}

test('the watchdog: ticks on time and late ones are no freeze; a jump past the threshold is one freeze, told once', async () => {
  const { clock, freezes, freezeWatch } = watch(1000);
  freezeWatch.start();
  await clock.advance(10_000); // ticks on time; the last one now
  clock.jump(900); // a busy loop: the tick runs 400 ms late
  await clock.advance(100);
  clock.jump(1499); // 999 ms beyond the tick: still not a freeze
  await clock.advance(1);
  assert.deepEqual(freezes, []);
  clock.jump(1500); // the last tick was just now: away 1,500 ms, a whole threshold beyond the tick
  await clock.advance(0);
  assert.deepEqual(freezes, [1500]);
  clock.jump(7000);
  await clock.advance(2000);
  assert.deepEqual(freezes, [1500, 7000], 'each freeze once, however many ticks fell due meanwhile');
  freezeWatch.stop();
  assert.equal(clock.pending, 0);
});

test('check() between ticks sees a freeze before the tick that fell due does; a stopped watch sees none', async () => {
  const { clock, freezes, freezeWatch } = watch(1000);
  freezeWatch.check();
  assert.deepEqual(freezes, [], 'not started');
  freezeWatch.start();
  await clock.advance(250);
  freezeWatch.check();
  clock.jump(5000);
  freezeWatch.check();
  assert.deepEqual(freezes, [5000]);
  await clock.advance(0);
  assert.deepEqual(freezes, [5000], 'the late tick does not tell it again');
  freezeWatch.stop();
  clock.jump(60_000);
  freezeWatch.check();
  await clock.advance(1000);
  assert.deepEqual(freezes, [5000], 'a stopped watch (a pause) sees nothing');
  freezeWatch.start();
  await clock.advance(1000);
  assert.deepEqual(freezes, [5000], 'started again from now');
});
