// The service runner's schedule on a manual clock: drift-free slots on a grid, never one slot twice, lateness measured,
// and stop() ending a round at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { ServiceRunner, SLOT_GRID_MS, SlotTimers } from '../../../src/core/service-runner.js';
import { defineProbe, type ProbeDefinition } from '../../../probes/kit/index.js';
import { silentLogger } from '../../../src/log.js';
import { serviceConfig, switchProbe } from '../../support/agent-fixtures.js';
import { ManualClock } from '../../support/manual-clock.js';

test('each runner probes once per slot on the grid, its splay spreading the first slot, never two rounds in one slot', async () => {
  const INTERVAL = 20;
  const clock = new ManualClock(1_000_003); // not on the 10 ms grid: the first slot rounds up to it
  const slots = new SlotTimers(clock);
  const starts = new Map<string, number[]>();
  const stamping = defineProbe({
    type: 'stamp',
    summary: 'records when each round started',
    options: z.strictObject({}),
    run: (_options, ctx) => (starts.set(ctx.service.name, [...(starts.get(ctx.service.name) ?? []), clock.now()]), Promise.resolve({ ok: true })),
  }) as ProbeDefinition;
  let rounds = 0;
  const lateness: number[] = [];
  const runners = Array.from({ length: 30 }, (_, index) => {
    const name = `svc${index}`;
    const config = serviceConfig(name, [], stamping, { intervalMs: INTERVAL, probes: [{ type: 'stamp', timeoutMs: 15, options: {}, definition: stamping }] });
    return new ServiceRunner(config, {
      log: silentLogger(),
      clock,
      slots,
      random: () => index / 30,
      onRound: (_runner, _run, lateMs) => ((rounds += 1), lateness.push(lateMs ?? -1)),
    });
  });
  const began = clock.now();
  for (const runner of runners) runner.start();
  await clock.advance(1000);
  await Promise.all(runners.map((runner) => runner.stop()));
  for (const [index, runner] of runners.entries()) {
    const times = starts.get(runner.name) ?? [];
    // Splay: index/30 of the interval, in whole grid steps, after the start rounded up to the grid.
    const first = Math.ceil(began / SLOT_GRID_MS) * SLOT_GRID_MS + Math.floor(((index / 30) * INTERVAL) / SLOT_GRID_MS) * SLOT_GRID_MS;
    assert.equal(times[0], first, `${runner.name}: first slot`);
    assert.deepEqual(
      times.map((time) => time - times[0]!),
      times.map((_, k) => k * INTERVAL),
      `${runner.name}: one round per slot`,
    );
    assert.equal(times.length, Math.floor((began + 1000 - first) / INTERVAL) + 1, `${runner.name}: every slot in the second ran`);
  }
  assert.equal(
    rounds,
    [...starts.values()].reduce((sum, list) => sum + list.length, 0),
    'every probe call became a round',
  );
  assert.ok(
    lateness.every((late) => late === 0),
    'on a clock that is never late, no round is late',
  );
  assert.equal(clock.pending, 0, 'stopped runners leave no timer');
});

test('stop() cancels the running round: the probe hears it at once and its result is dropped', async () => {
  const clock = new ManualClock();
  let heard: unknown;
  let started = false;
  const waiting = defineProbe({
    type: 'wait',
    summary: 'waits for cancellation',
    options: z.strictObject({}),
    run: (_options, ctx) =>
      new Promise((resolve) => {
        started = true;
        ctx.signal.addEventListener('abort', () => {
          heard = ctx.signal.reason;
          resolve({ ok: true });
        });
      }),
  }) as ProbeDefinition;
  let rounds = 0;
  const config = serviceConfig('slow', [], waiting, { intervalMs: 1000, probes: [{ type: 'wait', timeoutMs: 5000, options: {}, definition: waiting }] });
  const runner = new ServiceRunner(config, { log: silentLogger(), clock, onRound: () => (rounds += 1) });
  runner.start({ splay: false });
  await clock.advance(0);
  assert.equal(started, true, 'slot 0 is due at the start');
  await runner.stop();
  assert.match(String((heard as Error | undefined)?.message), /service stopped/);
  assert.equal(rounds, 0, 'a cancelled round is not reported');
  assert.equal(runner.isRunning, false);
});

test('a round held up by a blocked event loop reports how late it started, skips the slots it missed; check-now reports none', async () => {
  const clock = new ManualClock();
  const probe = switchProbe();
  const reported: number[] = [];
  const runner = new ServiceRunner(serviceConfig('late', [], probe.definition, { intervalMs: 1000 }), {
    log: silentLogger(),
    clock,
    onRound: (_runner, _run, lateMs) => reported.push(lateMs ?? -1),
  });
  runner.start({ splay: false });
  // Slot 0 is due now; its timer cannot fire while the loop is blocked.
  clock.jump(120);
  await clock.advance(0);
  assert.deepEqual(reported, [120]);
  // Blocked from slot 2 into slot 3: slot 2 runs 1.5 s late; slot 3 is skipped, not run late too.
  await clock.advance(880);
  clock.jump(2500);
  await clock.advance(0);
  assert.deepEqual(reported, [120, 0, 1500]);
  await clock.advance(499);
  assert.equal(reported.length, 3, 'slot 4 is 500 ms away');
  await clock.advance(1);
  assert.deepEqual(reported, [120, 0, 1500, 0]);
  await runner.checkNow();
  assert.deepEqual(reported.slice(4), [-1], 'a check-now round has no lateness');
  await runner.stop();
});
