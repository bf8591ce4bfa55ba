import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildAgent } from '../../../src/core/agent.js';
import { Reconciler } from '../../../src/routing/reconciler.js';
import { MemoryBackend } from '../../../src/routing/memory-backend.js';
import { MemoryOwnershipStore } from '../../../src/routing/ownership.js';
import { silentLogger } from '../../../src/log.js';
import { z } from 'zod';
import { defineProbe, type ProbeDefinition } from '../../../probes/kit/index.js';
import { waitFor } from '../../../lab/process.js';
import { agentConfig, serviceConfig, switchProbe } from '../../support/agent-fixtures.js';
import type { AgentConfig } from '../../../src/config/types.js';
import type { RoutingOp } from '../../../src/routing/types.js';

function harness(config: AgentConfig) {
  const backend = new MemoryBackend();
  backend.parkingInterfaces = [config.drainInterface];
  const agent = buildAgent({
    config,
    log: silentLogger(),
    splay: false,
    routing: ({ desired, onReport }) => new Reconciler({ backend, ownership: new MemoryOwnershipStore(), desired, onReport, log: silentLogger(), driftIntervalMs: 60_000 }),
  });
  const on = (address: string, iface: string) => backend.has({ kind: 'address', address, interface: iface });
  const batches = () => backend.appliedBatches.map((ops: RoutingOp[]) => ops.map((op) => `${op.action} ${op.entry.address}@${op.entry.interface}`));
  return { agent, backend, on, batches };
}

test('a planned withdrawal parks the address on the drain interface before it leaves lo (one batch), keeps it for `drain`, then removes it', async () => {
  const probe = switchProbe();
  const { agent, on, batches } = harness(agentConfig([serviceConfig('dns', ['192.0.2.53', '2001:db8::53'], probe.definition, { drainMs: 150 })]));
  await agent.start();
  await waitFor('announce', () => on('192.0.2.53', 'lo') && on('2001:db8::53', 'lo'));
  const before = batches().length;
  const started = Date.now();
  const pausing = agent.pause();
  await waitFor('moved to the drain interface', () => on('192.0.2.53', 'hc-drain') && !on('192.0.2.53', 'lo'));
  assert.equal(on('2001:db8::53', 'hc-drain'), true);
  await pausing;
  assert.ok(Date.now() - started >= 140, 'pause waits for the drain');
  assert.equal(on('192.0.2.53', 'hc-drain'), false, 'gone after the drain');
  assert.deepEqual(batches().slice(before), [
    ['add 192.0.2.53@hc-drain', 'add 2001:db8::53@hc-drain', 'remove 192.0.2.53@lo', 'remove 2001:db8::53@lo'],
    ['remove 192.0.2.53@hc-drain', 'remove 2001:db8::53@hc-drain'],
  ]);
  await agent.shutdown();
});

test('drain 0 withdraws at once; a kernel route has nothing to keep', async () => {
  const probe = switchProbe();
  const { agent, backend, on, batches } = harness(
    agentConfig([
      serviceConfig('dns', ['192.0.2.53'], probe.definition, { drainMs: 0 }),
      serviceConfig('web', ['192.0.2.80'], probe.definition, { drainMs: 500, announce: 'route' }),
    ]),
  );
  await agent.start();
  await waitFor('announce', () => on('192.0.2.53', 'lo') && backend.has({ kind: 'route', address: '192.0.2.80', interface: 'lo' }));
  const started = Date.now();
  await agent.shutdown();
  assert.ok(Date.now() - started < 400, 'no drain wait');
  assert.ok(batches().flat().every((op) => !op.includes('hc-drain')));
});

test('a health failure withdraws at once unless drain_on_failure', async () => {
  for (const drainOnFailure of [false, true]) {
    const probe = switchProbe();
    const { agent, on, batches } = harness(agentConfig([serviceConfig('dns', ['192.0.2.53'], probe.definition, { drainMs: 100, drainOnFailure })]));
    await agent.start();
    await waitFor('announce', () => on('192.0.2.53', 'lo'));
    probe.healthy.set('dns', false);
    await waitFor('withdrawn from lo', () => !on('192.0.2.53', 'lo'));
    const drained = batches().flat().includes('add 192.0.2.53@hc-drain');
    assert.equal(drained, drainOnFailure, `drain_on_failure ${drainOnFailure}`);
    await waitFor('gone everywhere', () => !on('192.0.2.53', 'hc-drain'));
    await agent.shutdown();
  }
});

test('maintenance drain (healthcast drain) is graceful too and resolves after the drain', async () => {
  const probe = switchProbe();
  const { agent, on, batches } = harness(agentConfig([serviceConfig('dns', ['192.0.2.53'], probe.definition, { drainMs: 100 })]));
  await agent.start();
  await waitFor('announce', () => on('192.0.2.53', 'lo'));
  const result = await agent.drainServices(['dns'], 'test');
  assert.deepEqual(result.newly, ['dns']);
  assert.equal(on('192.0.2.53', 'lo'), false);
  assert.equal(on('192.0.2.53', 'hc-drain'), false);
  assert.ok(batches().flat().includes('add 192.0.2.53@hc-drain'));
  await agent.shutdown();
});

test('a service removed by reload drains; shutdown during a drain waits for it and leaves nothing', async () => {
  const probe = switchProbe();
  const dns = serviceConfig('dns', ['192.0.2.53'], probe.definition, { drainMs: 200 });
  const { agent, on } = harness(agentConfig([dns]));
  await agent.start();
  await waitFor('announce', () => on('192.0.2.53', 'lo'));
  await agent.reload(agentConfig([]));
  assert.equal(on('192.0.2.53', 'hc-drain'), true, 'kept on the drain interface after the reload');
  await agent.shutdown();
  assert.equal(on('192.0.2.53', 'hc-drain'), false);
  assert.equal(on('192.0.2.53', 'lo'), false);
});

test('the drain period counts from the pass that parks the address, not from the decision', async () => {
  // A probe that ignores cancellation holds pause() in stopRunners until it ends: the move comes ~250 ms late.
  const slow = defineProbe({
    type: 'slow',
    summary: 'answers after 250 ms, whatever happens',
    options: z.strictObject({}),
    run: () => new Promise((resolve) => setTimeout(() => resolve({ ok: true }), 250)),
  }) as ProbeDefinition;
  const DRAIN_MS = 400;
  const config = agentConfig([serviceConfig('dns', ['192.0.2.53'], slow, { drainMs: DRAIN_MS, intervalMs: 20, timeoutMs: 1000, rise: 1, probes: [{ type: 'slow', timeoutMs: 1000, options: {}, definition: slow }] })]);
  const { agent, on } = harness(config);
  await agent.start();
  await waitFor('announce', () => on('192.0.2.53', 'lo'), { timeoutMs: 5000 });
  const pausing = agent.pause();
  let parkedAt: number | undefined;
  let leftAt: number | undefined;
  const watch = setInterval(() => {
    if (parkedAt === undefined && on('192.0.2.53', 'hc-drain')) parkedAt = Date.now();
    if (parkedAt !== undefined && leftAt === undefined && !on('192.0.2.53', 'hc-drain')) leftAt = Date.now();
  }, 2);
  await pausing;
  clearInterval(watch);
  // pause() resolves as the last pass removes it, possibly before the watch looked again.
  if (leftAt === undefined && !on('192.0.2.53', 'hc-drain')) leftAt = Date.now();
  assert.ok(parkedAt !== undefined && leftAt !== undefined, 'parked, then removed');
  assert.ok(leftAt - parkedAt >= DRAIN_MS - 10, `parked for ${leftAt - parkedAt} ms of a ${DRAIN_MS} ms drain`);
  await agent.shutdown();
});
