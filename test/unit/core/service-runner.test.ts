// The service runner's schedule: drift-free slots on a grid, never one slot twice, and stop() ending a round at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { ServiceRunner, SLOT_GRID_MS } from '../../../src/core/service-runner.js';
import { defineProbe, type ProbeDefinition } from '../../../probes/kit/index.js';
import { silentLogger } from '../../../src/log.js';
import { serviceConfig, switchProbe } from '../../support/agent-fixtures.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('fast probes on a short interval: each runner probes about once per slot, never twice in one, starting on the grid', { timeout: 20_000 }, async () => {
  const INTERVAL = 20;
  const RUN_MS = 1000;
  // Each round's slot: when its probe started minus how late the runner says it started. A loaded machine delays
  // rounds, but their slots stay on the grid and distinct.
  const starts = new Map<string, number[]>();
  const lateness = new Map<string, number[]>();
  const push = (map: Map<string, number[]>, name: string, value: number) => map.set(name, [...(map.get(name) ?? []), value]);
  const stamping = defineProbe({
    type: 'stamp',
    summary: 'records when each round started',
    options: z.strictObject({}),
    run: (_options, ctx) => (push(starts, ctx.service.name, performance.timeOrigin + performance.now()), Promise.resolve({ ok: true })),
  }) as ProbeDefinition;
  let rounds = 0;
  const runners = Array.from({ length: 30 }, (_, index) => {
    const name = `svc${index}`;
    return new ServiceRunner(serviceConfig(name, [], stamping, { intervalMs: INTERVAL, probes: [{ type: 'stamp', timeoutMs: 15, options: {}, definition: stamping }] }), {
      log: silentLogger(),
      random: () => index / 30,
      onRound: () => (rounds += 1),
      onProbes: (_runner, _run, lateMs) => push(lateness, name, lateMs ?? Number.NaN),
    });
  });
  const began = Date.now();
  for (const runner of runners) runner.start();
  await sleep(RUN_MS);
  await Promise.all(runners.map((runner) => runner.stop()));
  const elapsed = Date.now() - began;
  for (const [name, started] of starts) {
    const late = lateness.get(name) ?? [];
    const times = started.slice(0, late.length).map((start, index) => start - late[index]!);
    assert.ok(times.length <= Math.ceil(elapsed / INTERVAL) + 1, `${name}: ${times.length} rounds in ${elapsed}ms at ${INTERVAL}ms`);
    assert.ok(times.length >= RUN_MS / INTERVAL / 2, `${name}: only ${times.length} rounds`);
    // The first slot is on the grid within one interval of the start.
    assert.ok(times[0]! - began >= -5 && times[0]! - began <= INTERVAL + SLOT_GRID_MS + 5, `${name}: first slot ${times[0]! - began}ms after start`);
    const gaps = times.slice(1).map((time, index) => time - times[index]!);
    // A shared timer may also fire a few ms early by the wall clock (libuv's loop time is cached), which reads as
    // lateness 0: a slot estimate can be that much early. Two rounds in one slot would be ~0 apart.
    assert.ok(gaps.every((gap) => gap >= INTERVAL / 2), `${name}: two rounds in one slot (gaps ${gaps.map((gap) => gap.toFixed(1)).join(', ')})`);
  }
  const calls = [...starts.values()].reduce((sum, list) => sum + list.length, 0);
  assert.ok(calls === rounds || calls === rounds + runners.length, `every probe call became a round (${calls} calls, ${rounds} rounds; a round in flight at stop() is dropped)`);
  assert.equal(SLOT_GRID_MS, 10);
});

test('stop() cancels the running round: the probe hears it at once and its result is dropped', async () => {
  let heard: unknown;
  const waiting = defineProbe({
    type: 'wait',
    summary: 'waits for cancellation',
    options: z.strictObject({}),
    run: (_options, ctx) => new Promise((resolve) => ctx.signal.addEventListener('abort', () => {
      heard = ctx.signal.reason;
      resolve({ ok: true });
    })),
  }) as ProbeDefinition;
  let rounds = 0;
  const config = serviceConfig('slow', [], waiting, { intervalMs: 1000, probes: [{ type: 'wait', timeoutMs: 5000, options: {}, definition: waiting }] });
  const runner = new ServiceRunner(config, { log: silentLogger(), onRound: () => (rounds += 1) });
  runner.start({ splay: false });
  await sleep(50);
  const stopping = Date.now();
  await runner.stop();
  assert.ok(Date.now() - stopping < 500, 'stop() did not wait for the probe timeout');
  assert.match(String((heard as Error | undefined)?.message), /service stopped/);
  assert.equal(rounds, 0, 'a cancelled round is not reported');
  assert.equal(runner.isRunning, false);
});

test('a round held up by a blocked event loop reports how late it started; a check-now round reports none', async () => {
  const probe = switchProbe();
  const reported: number[] = [];
  const runner = new ServiceRunner(serviceConfig('late', [], probe.definition, { intervalMs: 1000 }), {
    log: silentLogger(),
    onRound: () => {},
    onProbes: (_runner, _run, lateMs) => reported.push(lateMs ?? -1),
  });
  runner.start({ splay: false });
  // Slot 0 is due now; its timer cannot fire while this loop spins.
  const spinUntil = Date.now() + 120;
  while (Date.now() < spinUntil);
  await sleep(30);
  assert.equal(reported.length, 1, `rounds so far: ${reported.join(', ')}`);
  assert.ok(reported[0]! >= 115 && reported[0]! < 1000, `lateness ${reported[0]} ms after a 120 ms block`);
  assert.equal(runner.last?.lateMs, reported[0], 'the round result carries the lateness');
  await runner.checkNow();
  assert.deepEqual(reported.slice(1), [-1], 'a check-now round has no lateness');
  assert.equal(runner.last?.lateMs, undefined);
  await runner.stop();
});
