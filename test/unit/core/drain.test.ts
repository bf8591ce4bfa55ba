import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildAgent } from '../../../src/core/agent.js';
import { Reconciler } from '../../../src/routing/reconciler.js';
import { MemoryBackend } from '../../../src/routing/memory-backend.js';
import { MemoryOwnershipStore } from '../../../src/routing/ownership.js';
import { silentLogger } from '../../../src/log.js';
import { z } from 'zod';
import { defineProbe, type ProbeDefinition } from '../../../probes/kit/index.js';
import { ManualClock } from '../../support/manual-clock.js';
import { agentConfig, serviceConfig, switchProbe } from '../../support/agent-fixtures.js';
import type { AgentConfig } from '../../../src/config/types.js';
import type { RoutingOp } from '../../../src/routing/types.js';

function harness(config: AgentConfig, clock = new ManualClock()) {
  const backend = new MemoryBackend();
  backend.parkingInterfaces = [config.drainInterface];
  const agent = buildAgent({
    config,
    clock,
    log: silentLogger(),
    splay: false,
    routing: ({ desired, onReport }) =>
      new Reconciler({ backend, ownership: new MemoryOwnershipStore(), desired, onReport, log: silentLogger(), driftIntervalMs: 60_000 }),
  });
  const on = (address: string, iface: string) => backend.has({ kind: 'address', address, interface: iface });
  const batches = () => backend.appliedBatches.map((ops: RoutingOp[]) => ops.map((op) => `${op.action} ${op.entry.address}@${op.entry.interface}`));
  const until = async (what: string, condition: () => unknown) =>
    assert.ok(await clock.until(() => Boolean(condition())), `${what}: not within a minute of manual time`);
  return { agent, backend, on, batches, clock, until };
}

test('a planned withdrawal parks the address on the drain interface before it leaves lo (one batch), keeps it for `drain`, then removes it', async () => {
  const probe = switchProbe();
  const { agent, on, batches, clock, until } = harness(agentConfig([serviceConfig('dns', ['192.0.2.53', '2001:db8::53'], probe.definition, { drainMs: 150 })]));
  await agent.start();
  await until('announce', () => on('192.0.2.53', 'lo') && on('2001:db8::53', 'lo'));
  const before = batches().length;
  const started = clock.now();
  let paused = false;
  const pausing = agent.pause().then(() => (paused = true));
  await until('moved to the drain interface', () => on('192.0.2.53', 'hc-drain') && !on('192.0.2.53', 'lo'));
  assert.equal(on('2001:db8::53', 'hc-drain'), true);
  const [during] = agent.status();
  assert.deepEqual([during?.state, during?.announced, during?.draining], ['draining', false, true], 'status says draining, not announced, while parked');
  await clock.advance(started + 149 - clock.now());
  assert.equal(paused, false, 'pause waits for the drain');
  assert.equal(on('192.0.2.53', 'hc-drain'), true, 'parked for the whole drain');
  await clock.drive(pausing);
  assert.ok(clock.now() - started >= 150 && clock.now() - started <= 160, `paused after ${clock.now() - started} ms of a 150 ms drain`);
  assert.equal(agent.status()[0]?.state, 'paused');
  assert.equal(on('192.0.2.53', 'hc-drain'), false, 'gone after the drain');
  assert.deepEqual(batches().slice(before), [
    ['add 192.0.2.53@hc-drain', 'add 2001:db8::53@hc-drain', 'remove 192.0.2.53@lo', 'remove 2001:db8::53@lo'],
    ['remove 192.0.2.53@hc-drain', 'remove 2001:db8::53@hc-drain'],
  ]);
  await agent.shutdown();
});

test('drain 0 withdraws at once; a kernel route has nothing to keep', async () => {
  const probe = switchProbe();
  const { agent, backend, on, batches, clock, until } = harness(
    agentConfig([
      serviceConfig('dns', ['192.0.2.53'], probe.definition, { drainMs: 0 }),
      serviceConfig('web', ['192.0.2.80'], probe.definition, { drainMs: 500, announce: 'route' }),
    ]),
  );
  await agent.start();
  await until('announce', () => on('192.0.2.53', 'lo') && backend.has({ kind: 'route', address: '192.0.2.80', interface: 'lo' }));
  const started = clock.now();
  await agent.shutdown();
  assert.equal(clock.now(), started, 'no drain wait: shutdown needed no time to pass');
  assert.ok(
    batches()
      .flat()
      .every((op) => !op.includes('hc-drain')),
  );
});

test('a health failure withdraws at once unless drain_on_failure', async () => {
  for (const drainOnFailure of [false, true]) {
    const probe = switchProbe();
    const { agent, on, batches, clock, until } = harness(
      agentConfig([serviceConfig('dns', ['192.0.2.53'], probe.definition, { drainMs: 100, drainOnFailure })]),
    );
    await agent.start();
    await until('announce', () => on('192.0.2.53', 'lo'));
    probe.healthy.set('dns', false);
    await until('withdrawn from lo', () => !on('192.0.2.53', 'lo'));
    const drained = batches().flat().includes('add 192.0.2.53@hc-drain');
    assert.equal(drained, drainOnFailure, `drain_on_failure ${drainOnFailure}`);
    await until('gone everywhere', () => !on('192.0.2.53', 'hc-drain'));
    await clock.drive(agent.shutdown());
  }
});

test('maintenance drain (healthcast drain) is graceful too and resolves after the drain', async () => {
  const probe = switchProbe();
  const { agent, on, batches, clock, until } = harness(agentConfig([serviceConfig('dns', ['192.0.2.53'], probe.definition, { drainMs: 100 })]));
  await agent.start();
  await until('announce', () => on('192.0.2.53', 'lo'));
  const result = await clock.drive(agent.drainServices(['dns'], 'test'));
  assert.deepEqual(result.newly, ['dns']);
  assert.equal(on('192.0.2.53', 'lo'), false);
  assert.equal(on('192.0.2.53', 'hc-drain'), false);
  assert.ok(batches().flat().includes('add 192.0.2.53@hc-drain'));
  await agent.shutdown();
});

test('a service removed by reload drains; shutdown during a drain waits for it and leaves nothing', async () => {
  const probe = switchProbe();
  const dns = serviceConfig('dns', ['192.0.2.53'], probe.definition, { drainMs: 200 });
  const { agent, on, clock, until } = harness(agentConfig([dns]));
  await agent.start();
  await until('announce', () => on('192.0.2.53', 'lo'));
  await agent.reload(agentConfig([]));
  assert.equal(on('192.0.2.53', 'hc-drain'), true, 'kept on the drain interface after the reload');
  await clock.advance(100);
  assert.equal(on('192.0.2.53', 'hc-drain'), true, 'still kept half-way through');
  await clock.drive(agent.shutdown());
  assert.equal(on('192.0.2.53', 'hc-drain'), false);
  assert.equal(on('192.0.2.53', 'lo'), false);
});

test('the drain period counts from the pass that parks the address, not from the decision', async () => {
  // A probe that ignores cancellation holds pause() in stopRunners until it ends: the move comes ~250 ms late.
  const clock = new ManualClock();
  const slow = defineProbe({
    type: 'slow',
    summary: 'answers after 250 ms, whatever happens',
    options: z.strictObject({}),
    run: () => new Promise((resolve) => clock.setTimeout(() => resolve({ ok: true }), 250)),
  }) as ProbeDefinition;
  const DRAIN_MS = 400;
  const config = agentConfig([
    serviceConfig('dns', ['192.0.2.53'], slow, {
      drainMs: DRAIN_MS,
      intervalMs: 20,
      timeoutMs: 1000,
      rise: 1,
      probes: [{ type: 'slow', timeoutMs: 1000, options: {}, definition: slow }],
    }),
  ]);
  const { agent, on, until } = harness(config, clock);
  await agent.start();
  await until('announce', () => on('192.0.2.53', 'lo'));
  // Pause in the middle of a round: the round holds the move back until the probe ends.
  await until('a round in flight', () => clock.pending > 0 && clock.nextDue !== undefined && clock.nextDue - clock.now() > 100);
  const decidedAt = clock.now();
  let done = false;
  const pausing = agent.pause().then(() => (done = true));
  await until('parked', () => on('192.0.2.53', 'hc-drain'));
  const parkedAt = clock.now();
  assert.ok(parkedAt - decidedAt >= 100, `the move came ${parkedAt - decidedAt} ms after the decision`);
  await until('removed', () => !on('192.0.2.53', 'hc-drain'));
  assert.ok(clock.now() - parkedAt >= DRAIN_MS, `parked for ${clock.now() - parkedAt} ms of a ${DRAIN_MS} ms drain`);
  await clock.drive(pausing);
  assert.equal(done, true);
  await agent.shutdown();
});

test('announced again during its drain, then withdrawn on purpose: the new withdrawal drains for the whole `drain`', async () => {
  const probe = switchProbe();
  const { agent, on, clock, until } = harness(agentConfig([serviceConfig('dns', ['192.0.2.53'], probe.definition, { drainMs: 5000, drainOnFailure: true })]));
  await agent.start();
  await until('announce', () => on('192.0.2.53', 'lo'));
  probe.healthy.set('dns', false);
  await until('parked by the failure', () => on('192.0.2.53', 'hc-drain') && !on('192.0.2.53', 'lo'));
  probe.healthy.set('dns', true);
  await until('announced again within the drain', () => on('192.0.2.53', 'lo') && agent.status()[0]?.announced);
  const started = clock.now();
  let paused = false;
  const pausing = agent.pause().then(() => (paused = true));
  await until('parked by the pause', () => on('192.0.2.53', 'hc-drain') && !on('192.0.2.53', 'lo'));
  await clock.advance(started + 4900 - clock.now());
  assert.equal(paused, false, 'the pause waits for a whole drain, not what was left of the failure one');
  assert.equal(on('192.0.2.53', 'hc-drain'), true);
  await clock.drive(pausing);
  assert.ok(clock.now() - started >= 5000, `paused after ${clock.now() - started} ms of a 5000 ms drain`);
  assert.equal(on('192.0.2.53', 'hc-drain'), false, 'gone after the drain');
  await agent.shutdown();
});
