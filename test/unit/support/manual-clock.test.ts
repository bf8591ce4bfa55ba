import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../support/manual-clock.js';
import { sleep } from '../../../src/clock.js';

test('manual clock fires timers in due order, intervals repeatedly, and skips cleared ones', async () => {
  const clock = new ManualClock(1000);
  const fired: string[] = [];
  clock.setTimeout(() => fired.push(`b@${clock.now()}`), 20);
  clock.setTimeout(() => fired.push(`a@${clock.now()}`), 10);
  const cleared = clock.setTimeout(() => fired.push('never'), 15);
  const every = clock.setInterval(() => fired.push(`i@${clock.now()}`), 8);
  clock.clearTimeout(cleared);
  await clock.advance(25);
  clock.clearInterval(every);
  await clock.advance(100);
  assert.deepEqual(fired, ['i@1008', 'a@1010', 'i@1016', 'b@1020', 'i@1024']);
  assert.equal(clock.now(), 1125);
  assert.equal(clock.monotonic(), 125);
  assert.equal(clock.pending, 0);
});

test('a promise chain started by a timer settles before the next timer fires', async () => {
  const clock = new ManualClock();
  const order: string[] = [];
  const slept = sleep(clock, 50).then(() => order.push('slept'));
  clock.setTimeout(() => order.push('later'), 51);
  await clock.advance(60);
  await slept;
  assert.deepEqual(order, ['slept', 'later']);
});

test('sleep rejects at once with the abort reason and leaves no timer', async () => {
  const clock = new ManualClock();
  const controller = new AbortController();
  const slept = sleep(clock, 1000, controller.signal);
  controller.abort(new Error('stop'));
  await assert.rejects(slept, /stop/);
  assert.equal(clock.pending, 0);
});
