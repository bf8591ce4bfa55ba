// The agent's routing policy on a manual clock: fast_interval shortens a withdrawal, a degrade probe asks the policy
// writer to list the addresses (without withdrawing them), damping keeps a flapping service withdrawn.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildAgent, type PolicyWriter } from '../../../src/core/agent.js';
import { Reconciler } from '../../../src/routing/reconciler.js';
import { MemoryBackend } from '../../../src/routing/memory-backend.js';
import { MemoryOwnershipStore } from '../../../src/routing/ownership.js';
import { silentLogger } from '../../../src/log.js';
import { ManualClock } from '../../support/manual-clock.js';
import { agentConfig, serviceConfig, switchProbe } from '../../support/agent-fixtures.js';
import type { DegradedAddress } from '../../../src/frr/degraded-plan.js';
import type { ServiceConfig } from '../../../src/config/types.js';

function harness(services: ServiceConfig[]) {
  const backend = new MemoryBackend();
  const clock = new ManualClock();
  const listed: DegradedAddress[][] = [];
  let degraded: () => DegradedAddress[] = () => [];
  const policy: PolicyWriter = {
    start: () => (listed.push(degraded()), Promise.resolve()),
    kick: () => (listed.push(degraded()), Promise.resolve()),
    stop: () => undefined,
  };
  const agent = buildAgent({
    config: agentConfig(services),
    clock,
    log: silentLogger(),
    splay: false,
    routing: ({ desired, onReport }) =>
      new Reconciler({ backend, ownership: new MemoryOwnershipStore(), desired, onReport, log: silentLogger(), driftIntervalMs: 60_000 }),
    policy: (options) => ((degraded = options.degraded), policy),
  });
  const present = () => backend.has({ kind: 'address', address: '192.0.2.53', interface: 'lo' });
  const until = async (what: string, condition: () => unknown) => assert.ok(await clock.until(() => Boolean(condition())), `${what}: not within a minute`);
  return { agent, clock, present, until, listed };
}

async function withdrawalMs(fastIntervalMs: number | undefined): Promise<number> {
  const probe = switchProbe();
  const config = serviceConfig('dns', ['192.0.2.53'], probe.definition, {
    intervalMs: 1000,
    timeoutMs: 100,
    rise: 1,
    fall: 3,
    ...(fastIntervalMs !== undefined ? { fastIntervalMs } : {}),
  });
  const { agent, clock, present, until } = harness([config]);
  try {
    await agent.start();
    await until('announced', present);
    await clock.advance(500); // halfway between two slots
    probe.healthy.set('dns', false);
    const died = clock.now();
    await until('withdrawn', () => !present());
    return clock.now() - died;
  } finally {
    await agent.shutdown();
  }
}

test('fast_interval: interval 1s, fall 3: withdrawn ~0.7 s after dying with fast_interval 100ms, ~2.5 s without', async () => {
  const fast = await withdrawalMs(100);
  const slow = await withdrawalMs(undefined);
  // The first failure comes at the next slot (500 ms); then 2 more rounds: 2 x 100 ms, or 2 x 1 s.
  assert.ok(fast >= 690 && fast <= 760, `with fast_interval: ${fast} ms`);
  assert.ok(slow >= 2490 && slow <= 2560, `without: ${slow} ms`);
});

test('degraded: a failing degrade probe lists the addresses with degraded_metric and never withdraws them', async () => {
  const probe = switchProbe();
  const slow = switchProbe();
  const slowProbe = { ...slow.definition, type: 'slow' };
  const config = serviceConfig('dns', ['192.0.2.53'], probe.definition, {
    degradedMetric: 65000,
    probes: [
      { type: 'switch', timeoutMs: 15, options: {}, definition: probe.definition },
      { type: 'slow', timeoutMs: 15, options: {}, definition: slowProbe, effect: 'degrade' },
    ],
  });
  const { agent, clock, present, until, listed } = harness([config]);
  try {
    await agent.start();
    assert.deepEqual(listed[0], [{ address: '192.0.2.53', metric: 65000 }], 'listed degraded before anything is announced (fail closed)');
    await until('announced and no longer degraded', () => present() && agent.status()[0]!.state === 'up');
    assert.deepEqual(listed.at(-1), []);
    slow.healthy.set('dns', false);
    await until('degraded', () => agent.status()[0]!.state === 'degraded');
    assert.deepEqual(listed.at(-1), [{ address: '192.0.2.53', metric: 65000 }]);
    assert.equal(present(), true, 'still announced while degraded');
    assert.equal(agent.status()[0]!.metric, 65000);
    assert.match(agent.status()[0]!.degradedReason ?? '', /switched off by test/);
    await clock.advance(1000);
    assert.equal(present(), true, 'a service with a failing degrade probe stays announced');
    slow.healthy.set('dns', true);
    await until('up again', () => agent.status()[0]!.state === 'up');
    assert.deepEqual(listed.at(-1), []);
  } finally {
    await agent.shutdown();
  }
});

test('damping: a service flapping every 300 ms is suppressed and stops being re-announced until the penalty decays', async () => {
  const probe = switchProbe();
  const config = serviceConfig('dns', ['192.0.2.53'], probe.definition, {
    intervalMs: 100,
    timeoutMs: 50,
    rise: 1,
    fall: 1,
    damping: { halfLifeMs: 10_000, suppress: 2000, reuse: 750, maxSuppressMs: 60_000 },
  });
  const { agent, clock, present, until } = harness([config]);
  try {
    await agent.start();
    await until('announced', present);
    let announcements = 0;
    let was = present();
    for (let step = 0; step < 100; step += 1) {
      if (step % 3 === 0) probe.healthy.set('dns', !(probe.healthy.get('dns') ?? true));
      await clock.advance(100);
      if (present() && !was) announcements += 1;
      was = present();
    }
    // Without damping it would be re-announced every 600 ms (~16 times in 10 s); the third flap suppresses it.
    assert.ok(announcements <= 3, `re-announced ${announcements} times`);
    const status = agent.status()[0]!;
    assert.equal(status.damping?.suppressed, true);
    assert.ok(status.damping!.reuseAt !== undefined);
    probe.healthy.set('dns', true);
    await until('reused and announced', present);
    assert.equal(agent.status()[0]!.damping?.suppressed, false);
  } finally {
    await agent.shutdown();
  }
});
