// The probe runner's cancellation: listeners, the lazily made AbortSignal, and how runProbe uses them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Cancellation, cancellationOf, FINISHED_REASON, isTimeout, signalHook, TIMEOUT_REASON } from '../../../probes/cancel.js';
import { runProbe } from '../../../probes/run.js';
import { defineProbe, type ProbeContext, type ProbeDefinition } from '../../../probes/types.js';
import { silentLogger } from '../../../src/log.js';
import { z } from 'zod';

test('listeners hear the reason once; a removed listener and one added after the cancel hear nothing', () => {
  const cancellation = new Cancellation();
  const heard: unknown[][] = [];
  cancellation.onCancel((reason) => heard.push(['a', reason]));
  const remove = cancellation.onCancel((reason) => heard.push(['b', reason]));
  remove();
  remove();
  assert.equal(cancellation.cancelled, false);
  cancellation.cancel(TIMEOUT_REASON);
  cancellation.cancel(FINISHED_REASON);
  assert.deepEqual(heard, [['a', TIMEOUT_REASON]]);
  assert.equal(cancellation.reason, TIMEOUT_REASON);
  cancellation.onCancel(() => heard.push(['late']))();
  assert.equal(heard.length, 1);
});

test('the AbortSignal is made on first use and aborts with the same reason, before or after the cancel', () => {
  const early = new Cancellation();
  const signal = early.signal;
  assert.equal(early.signal, signal);
  assert.equal(signal.aborted, false);
  early.cancel(TIMEOUT_REASON);
  assert.equal(signal.aborted, true);
  assert.equal(signal.reason, TIMEOUT_REASON);
  const late = new Cancellation();
  late.cancel(FINISHED_REASON);
  assert.equal(late.signal.aborted, true);
  assert.equal(late.signal.reason, FINISHED_REASON);
});

test('isTimeout knows the runner\'s reason and any Error saying timeout; signalHook bridges an AbortSignal', () => {
  assert.equal(isTimeout(TIMEOUT_REASON), true);
  assert.equal(isTimeout(new Error('timeout')), true);
  assert.equal(isTimeout(FINISHED_REASON), false);
  assert.equal(isTimeout('timeout'), false);
  const controller = new AbortController();
  const hook = signalHook(controller.signal);
  const heard: unknown[] = [];
  hook.onCancel((reason) => heard.push(reason));
  hook.onCancel((reason) => heard.push(['removed', reason]))();
  controller.abort(TIMEOUT_REASON);
  assert.deepEqual(heard, [TIMEOUT_REASON]);
  assert.equal(hook.cancelled, true);
  assert.equal(hook.reason, TIMEOUT_REASON);
});

// A probe that waits for its cancellation, through the hook or through ctx.signal, and reports what it saw.
function waiter(via: 'hook' | 'signal'): ProbeDefinition {
  return defineProbe({
    type: `wait-${via}`,
    summary: 'waits for cancellation',
    options: z.object({}),
    run: (_options, ctx: ProbeContext) =>
      new Promise((resolve) => {
        const report = (reason: unknown) => resolve({ ok: false, reason: `saw ${isTimeout(reason) ? 'timeout' : String((reason as Error | undefined)?.message ?? reason)}` });
        if (via === 'signal') ctx.signal.addEventListener('abort', () => report(ctx.signal.reason), { once: true });
        else cancellationOf(ctx)!.onCancel(report);
      }),
  }) as ProbeDefinition;
}

const input = (definition: ProbeDefinition, timeoutMs: number) => ({ definition, options: {}, timeoutMs, log: silentLogger(), service: { name: 'svc', addresses: [] } });

test('runProbe: on timeout a probe hears it through either path and its own reason is kept', async () => {
  for (const via of ['hook', 'signal'] as const) {
    const result = await runProbe(input(waiter(via), 30));
    assert.equal(result.reason, 'saw timeout', via);
    assert.ok(result.durationMs >= 25 && result.durationMs < 1000, `${via}: ${result.durationMs}ms`);
  }
});

test('runProbe: a parent Cancellation or AbortSignal cancels the run; an already cancelled parent does not start it', async () => {
  const parent = new Cancellation();
  const viaHook = runProbe({ ...input(waiter('hook'), 5000), cancel: parent });
  parent.cancel(new Error('service stopped'));
  assert.equal((await viaHook).reason, 'saw service stopped');
  const controller = new AbortController();
  const viaSignal = runProbe({ ...input(waiter('signal'), 5000), signal: controller.signal });
  controller.abort(new Error('agent stopping'));
  assert.equal((await viaSignal).reason, 'saw agent stopping');
  let started = false;
  const never = defineProbe({ type: 'never', summary: 'x', options: z.object({}), run: () => ((started = true), Promise.resolve({ ok: true as const })) }) as ProbeDefinition;
  assert.deepEqual(await runProbe({ ...input(never, 100), cancel: parent }), { ok: false, durationMs: 0, reason: 'cancelled' });
  assert.equal(started, false);
});

test('runProbe: a run() that throws synchronously, rejects or resolves nothing fails with a reason', async () => {
  const make = (run: () => Promise<unknown>) => defineProbe({ type: 'bad', summary: 'x', options: z.object({}), run: run as never }) as ProbeDefinition;
  assert.equal((await runProbe(input(make(() => { throw new Error('sync boom'); }), 100))).reason, 'probe error: sync boom');
  assert.equal((await runProbe(input(make(() => Promise.reject(new Error('async boom'))), 100))).reason, 'probe error: async boom');
  assert.equal((await runProbe(input(make(() => Promise.resolve(undefined)), 100))).reason, 'probe error: returned no result');
});

test('attached targets and listeners are told in the order they were added, whichever slot they sit in; a detached one is not', () => {
  const cancellation = new Cancellation();
  const heard: string[] = [];
  const target = (name: string) => ({ cancel: (reason: unknown) => heard.push(`${name}:${String((reason as Error).message)}`) });
  const a = target('a');
  const b = target('b');
  const c = target('c');
  cancellation.attach(a); // the single slot
  cancellation.attach(b); // the rest
  cancellation.detach(a); // frees the single slot while b waits in the rest
  cancellation.attach(c); // must follow b, not jump ahead of it
  const removeD = cancellation.onCancel((reason) => heard.push(`d:${String((reason as Error).message)}`));
  cancellation.onCancel((reason) => heard.push(`e:${String((reason as Error).message)}`));
  removeD();
  cancellation.cancel(TIMEOUT_REASON);
  assert.deepEqual(heard, ['b:timeout', 'c:timeout', 'e:timeout']);
  cancellation.attach(target('late'));
  cancellation.cancel(FINISHED_REASON);
  assert.equal(heard.length, 3, 'attached after the cancel: never told');
});

test('a child cancellation attached to a parent follows it until detached; signalHook attaches targets to an AbortSignal', () => {
  const parent = new Cancellation();
  const kept = new Cancellation();
  const left = new Cancellation();
  parent.attach(kept);
  parent.attach(left);
  parent.detach(left);
  parent.cancel(TIMEOUT_REASON);
  assert.equal(kept.reason, TIMEOUT_REASON);
  assert.equal(left.cancelled, false);

  const controller = new AbortController();
  const hook = signalHook(controller.signal);
  const told: unknown[] = [];
  const stays = { cancel: (reason: unknown) => told.push(['stays', reason]) };
  const goes = { cancel: (reason: unknown) => told.push(['goes', reason]) };
  hook.attach(stays);
  hook.attach(stays); // once only
  hook.attach(goes);
  hook.detach(goes);
  const why = new Error('stop');
  controller.abort(why);
  assert.deepEqual(told, [['stays', why]]);
});
