// The probe runner on a ManualClock: a probe hears its timeout, its service stopping and its end through ctx.signal,
// with a typed reason; the run never throws and never outlives its timeout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { CancelGroup, ProbeRunner, runProbe, type RunProbeInput } from '../../../../src/core/probe-run/run.js';
import { abortKind, defineProbe, ProbeAbort, type ProbeContext, type ProbeDefinition, type ProbeResult } from '../../../../probes/kit/index.js';
import { silentLogger } from '../../../../src/log.js';
import { ManualClock, settle } from '../../../support/manual-clock.js';

// A probe that waits for ctx.signal and reports the kind and message of the reason it saw.
const waiter = defineProbe({
  type: 'wait',
  summary: 'waits for its signal',
  options: z.object({}),
  run: (_options, ctx: ProbeContext) =>
    new Promise((resolve) => {
      ctx.signal.addEventListener(
        'abort',
        () => {
          const reason = ctx.signal.reason as Error;
          resolve({ ok: false, reason: `saw ${abortKind(reason)}: ${reason.message}` });
        },
        { once: true },
      );
    }),
}) as ProbeDefinition;

const input = (definition: ProbeDefinition, timeoutMs: number, signal?: AbortSignal): RunProbeInput => ({
  definition,
  options: {},
  timeoutMs,
  log: silentLogger(),
  service: { name: 'svc', addresses: [] },
  ...(signal ? { signal } : {}),
});

test("on timeout the probe hears a ProbeAbort of kind timeout, its own reason is kept, and the duration is the clock's", async () => {
  const clock = new ManualClock();
  let result: ProbeResult | undefined;
  void new ProbeRunner(clock).run(input(waiter, 300)).then((r) => (result = r));
  await clock.advance(299);
  assert.equal(result, undefined, 'not before its timeout');
  await clock.advance(1);
  assert.deepEqual(result, { ok: false, durationMs: 300, reason: 'saw timeout: timeout' });
  assert.equal(clock.pending, 0, 'no timer left behind');
});

test('a probe that ignores the abort is settled one loop turn later as timed out', async () => {
  const clock = new ManualClock();
  const deaf = defineProbe({ type: 'deaf', summary: 'x', options: z.object({}), run: () => new Promise(() => {}) }) as ProbeDefinition;
  let result: ProbeResult | undefined;
  void new ProbeRunner(clock).run(input(deaf, 50)).then((r) => (result = r));
  await clock.advance(50);
  await settle();
  assert.deepEqual(result, { ok: false, durationMs: 50, reason: 'timed out after 50ms' });
});

test("the caller's signal cancels the run with its own reason; an already aborted one does not start it", async () => {
  const clock = new ManualClock();
  const runner = new ProbeRunner(clock);
  const controller = new AbortController();
  const pending = runner.run(input(waiter, 5000, controller.signal));
  controller.abort(new ProbeAbort('cancelled', 'service stopped'));
  assert.equal((await pending).reason, 'saw cancelled: service stopped');
  assert.equal(clock.pending, 0, 'its timer went with it');
  let started = false;
  const never = defineProbe({
    type: 'never',
    summary: 'x',
    options: z.object({}),
    run: () => ((started = true), Promise.resolve({ ok: true as const })),
  }) as ProbeDefinition;
  assert.deepEqual(await runner.run(input(never, 100, controller.signal)), { ok: false, durationMs: 0, reason: 'cancelled' });
  assert.equal(started, false);
});

test('a probe that finishes on its own: what still listens to its signal hears finished, and it no longer hears its caller', async () => {
  const clock = new ManualClock();
  let seen: AbortSignal | undefined;
  const quick = defineProbe({
    type: 'quick',
    summary: 'x',
    options: z.object({}),
    run: (_o, ctx) => {
      seen = ctx.signal;
      ctx.signal.addEventListener('abort', () => {}); // e.g. a child process or request left behind
      return Promise.resolve({ ok: true as const });
    },
  }) as ProbeDefinition;
  const controller = new AbortController();
  const result = await new ProbeRunner(clock).run(input(quick, 100, controller.signal));
  assert.deepEqual(result, { ok: true, durationMs: 0 });
  assert.equal(abortKind(seen?.reason), 'finished');
  controller.abort(new ProbeAbort('cancelled'));
  assert.equal(abortKind(seen?.reason), 'finished', "the caller's later abort does not reach a finished run");
  assert.equal(clock.pending, 0);
  let tidy: AbortSignal | undefined;
  const tidied = defineProbe({
    type: 'tidy',
    summary: 'x',
    options: z.object({}),
    run: (_o, ctx) => ((tidy = ctx.signal), Promise.resolve({ ok: true as const })),
  }) as ProbeDefinition;
  await new ProbeRunner(clock).run(input(tidied, 100));
  assert.equal(tidy?.aborted, false, 'nothing listens: no abort (it would only cost an Event)');
});

test('a run() that throws synchronously, rejects or resolves nothing fails with a reason; after an abort a throw reads as the abort', async () => {
  const make = (run: (options: unknown, ctx: ProbeContext) => Promise<unknown>) =>
    defineProbe({ type: 'bad', summary: 'x', options: z.object({}), run: run as never }) as ProbeDefinition;
  assert.equal(
    (
      await runProbe(
        input(
          make(() => {
            throw new Error('sync boom');
          }),
          100,
        ),
      )
    ).reason,
    'probe error: sync boom',
  );
  assert.equal(
    (
      await runProbe(
        input(
          make(() => Promise.reject(new Error('async boom'))),
          100,
        ),
      )
    ).reason,
    'probe error: async boom',
  );
  assert.equal(
    (
      await runProbe(
        input(
          make(() => Promise.resolve(undefined)),
          100,
        ),
      )
    ).reason,
    'probe error: returned no result',
  );
  const clock = new ManualClock();
  const throwsOnAbort = make((_o, ctx) => new Promise((_resolve, reject) => ctx.signal.addEventListener('abort', () => reject(new Error('aborted')))));
  const controller = new AbortController();
  const cancelled = new ProbeRunner(clock).run(input(throwsOnAbort, 100, controller.signal));
  controller.abort();
  assert.equal((await cancelled).reason, 'cancelled');
  let timedOut: ProbeResult | undefined;
  void new ProbeRunner(clock).run(input(throwsOnAbort, 100)).then((r) => (timedOut = r));
  await clock.advance(100);
  assert.equal(timedOut?.reason, 'timed out after 100ms');
});

test('a CancelGroup cancels the runs in flight on its signal with its reason, and starts none after', async () => {
  const clock = new ManualClock();
  const runner = new ProbeRunner(clock);
  const controller = new AbortController();
  const group = new CancelGroup(controller.signal);
  const pending = [runner.run(input(waiter, 5000), group), runner.run(input(waiter, 5000), group)];
  const finished = await runner.run(
    input(defineProbe({ type: 'ok', summary: 'x', options: z.object({}), run: () => Promise.resolve({ ok: true as const }) }) as ProbeDefinition, 100),
    group,
  );
  assert.equal(finished.ok, true);
  controller.abort(new ProbeAbort('cancelled', 'service stopped'));
  for (const result of await Promise.all(pending)) assert.equal(result.reason, 'saw cancelled: service stopped');
  assert.equal(clock.pending, 0, 'their timers went with them');
  assert.deepEqual(await runner.run(input(waiter, 100), group), { ok: false, durationMs: 0, reason: 'cancelled' });
});

test("an input's next run reuses a signal only when the last run left it neither aborted nor listened to", async () => {
  const clock = new ManualClock();
  const runner = new ProbeRunner(clock);
  const signals: AbortSignal[] = [];
  let listen = false;
  let hang = false;
  const probe = defineProbe({
    type: 'rec',
    summary: 'x',
    options: z.object({}),
    run: (_o, ctx) => {
      signals.push(ctx.signal);
      if (listen) ctx.signal.addEventListener('abort', () => {});
      if (hang) return new Promise<never>(() => {});
      return Promise.resolve({ ok: true as const });
    },
  }) as ProbeDefinition;
  const same = input(probe, 100);
  await runner.run(same);
  await runner.run(same);
  assert.equal(signals[1], signals[0], 'tidy run: the same signal, never aborted');
  listen = true;
  await runner.run(same);
  assert.equal(abortKind(signals[2]?.reason), 'finished', 'a listener left behind hears finished');
  listen = false;
  await runner.run(same);
  assert.notEqual(signals[3], signals[2], 'an aborted signal is not handed out again');
  assert.equal(signals[3]?.aborted, false);
  assert.equal(signals.length, 4);
  hang = true;
  const timedOut = runner.run(same);
  await clock.advance(100);
  await settle();
  assert.equal((await timedOut).reason, 'timed out after 100ms');
  hang = false;
  await runner.run(same);
  assert.equal(signals[4], signals[3], 'the tidy run before it left its signal');
  assert.equal(signals[4]?.aborted, true, 'the timed-out run saw its timeout');
  assert.equal(abortKind(signals[4]?.reason), 'timeout');
  assert.notEqual(signals[5], signals[4]);
  assert.equal(signals[5]?.aborted, false, 'the next run gets a fresh signal');
});
