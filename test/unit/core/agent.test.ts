import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildAgent, type Agent } from '../../../src/core/agent.js';
import { Reconciler } from '../../../src/routing/reconciler.js';
import { MemoryBackend } from '../../../src/routing/memory-backend.js';
import { MemoryOwnershipStore } from '../../../src/routing/ownership.js';
import { silentLogger } from '../../../src/log.js';
import { ManualClock } from '../../support/manual-clock.js';
import { agentConfig, serviceConfig, switchProbe } from '../../support/agent-fixtures.js';
import type { AgentConfig } from '../../../src/config/types.js';

function harness(config: AgentConfig) {
  const backend = new MemoryBackend();
  const ownership = new MemoryOwnershipStore();
  const clock = new ManualClock();
  const agent = buildAgent({
    config,
    clock,
    log: silentLogger(),
    splay: false,
    routing: ({ desired, onReport }) => new Reconciler({ backend, ownership, desired, onReport, log: silentLogger(), driftIntervalMs: 60_000 }),
  });
  const present = (address: string) => backend.has({ kind: 'address', address, interface: 'lo' });
  const until = async (what: string, condition: () => unknown) =>
    assert.ok(await clock.until(() => Boolean(condition())), `${what}: not within a minute of manual time`);
  return { agent, backend, ownership, present, clock, until };
}

const stopAfter = (agent: Agent) => () => agent.shutdown();

test('a healthy service is announced only after rise successes, withdrawn after fall failures', async (t) => {
  const probe = switchProbe();
  const { agent, present, until } = harness(agentConfig([serviceConfig('dns', ['192.0.2.53', '2001:db8::53'], probe.definition, { rise: 3, fall: 2 })]));
  t.after(stopAfter(agent));
  await agent.start();
  assert.equal(present('192.0.2.53'), false, 'fail closed: nothing before the first probes');
  await until('announce', () => present('192.0.2.53') && present('2001:db8::53'));
  assert.ok((probe.calls.get('dns') ?? 0) >= 3, 'announced only after rise=3 probes');
  assert.deepEqual(
    agent.status().map((s) => [s.name, s.phase, s.announced]),
    [['dns', 'up', true]],
  );

  probe.healthy.set('dns', false);
  await until('withdraw', () => !present('192.0.2.53') && !present('2001:db8::53'));
  const status = agent.status()[0]!;
  assert.equal(status.phase, 'down');
  assert.equal(status.last?.reason, 'switch: switched off by test');
});

test('pause withdraws everything and stops probing; resume starts afresh and needs rise again', async (t) => {
  const probe = switchProbe();
  const { agent, present, clock, until } = harness(agentConfig([serviceConfig('dns', ['192.0.2.53'], probe.definition, { rise: 2 })]));
  t.after(stopAfter(agent));
  await agent.start();
  await until('announce', () => present('192.0.2.53'));
  await agent.pause();
  assert.equal(present('192.0.2.53'), false);
  assert.equal(agent.mode, 'paused');
  const callsWhilePaused = probe.calls.get('dns');
  await clock.advance(100);
  assert.equal(probe.calls.get('dns'), callsWhilePaused, 'no probes while paused (5 intervals)');

  await agent.resume();
  assert.equal(agent.status()[0]?.phase, 'init');
  await until('re-announce', () => present('192.0.2.53'));
});

test('shutdown removes everything healthcast owns but never a foreign address', async () => {
  const probe = switchProbe();
  const { agent, backend, present, until } = harness(agentConfig([serviceConfig('dns', ['192.0.2.53'], probe.definition)]));
  backend.addForeign({ kind: 'address', address: '192.0.2.99', interface: 'lo' });
  await agent.start();
  await until('announce', () => present('192.0.2.53'));
  await agent.shutdown();
  assert.equal(present('192.0.2.53'), false);
  assert.equal(present('192.0.2.99'), true);
  await agent.shutdown(); // safe to repeat
});

test('an address already on the system and not ours is a per-service error, never touched', async (t) => {
  const probe = switchProbe();
  const { agent, backend, present, until } = harness(
    agentConfig([serviceConfig('dns', ['192.0.2.53'], probe.definition), serviceConfig('ntp', ['192.0.2.123'], probe.definition)]),
  );
  t.after(stopAfter(agent));
  backend.addForeign({ kind: 'address', address: '192.0.2.53', interface: 'lo' });
  await agent.start();
  await until('ntp announced', () => present('192.0.2.123'));
  await until('dns error', () => agent.status().find((s) => s.name === 'dns' && s.routingError));
  const dns = agent.status().find((s) => s.name === 'dns')!;
  assert.equal(dns.announced, false);
  assert.match(dns.routingError ?? '', /192\.0\.2\.53 is already on lo and was not added by healthcast/);
  await agent.shutdown();
  assert.equal(present('192.0.2.53'), true, 'foreign address survives shutdown');
});

test('reload keeps unchanged services announced, restarts changed ones, withdraws removed ones', async (t) => {
  const probe = switchProbe();
  const dns = serviceConfig('dns', ['192.0.2.53'], probe.definition);
  const ntp = serviceConfig('ntp', ['192.0.2.123'], probe.definition);
  const web = serviceConfig('web', ['192.0.2.80'], probe.definition);
  const { agent, backend, present, until } = harness(agentConfig([dns, ntp, web]));
  t.after(stopAfter(agent));
  await agent.start();
  await until('all announced', () => present('192.0.2.53') && present('192.0.2.123') && present('192.0.2.80'));

  const removals: string[] = [];
  backend.beforeApply = (ops) => {
    for (const op of ops) if (op.action === 'remove') removals.push(op.entry.address);
  };
  const result = await agent.reload(agentConfig([dns, { ...ntp, rise: 4 }, serviceConfig('smtp', ['192.0.2.25'], probe.definition)]));
  assert.deepEqual(result, { kept: ['dns'], restarted: ['ntp'], added: ['smtp'], removed: ['web'] });
  assert.equal(present('192.0.2.80'), false, 'removed service withdrawn');
  assert.equal(present('192.0.2.53'), true, 'unchanged service stays announced');
  assert.ok(!removals.includes('192.0.2.53'), 'unchanged service never withdrawn');
  assert.equal(agent.status().find((s) => s.name === 'ntp')?.phase !== 'up' || present('192.0.2.123'), true);
  await until('smtp announced', () => present('192.0.2.25'));
  await until('ntp back after rise 4', () => present('192.0.2.123'));
});

test('reload refuses to change state_dir and keeps the running config', async (t) => {
  const probe = switchProbe();
  const config = agentConfig([serviceConfig('dns', ['192.0.2.53'], probe.definition)]);
  const { agent } = harness(config);
  t.after(stopAfter(agent));
  await agent.start();
  await assert.rejects(agent.reload({ ...config, stateDir: '/elsewhere' }), /cannot change stateDir on reload/);
  assert.equal(agent.currentConfig, config);
});

test('start removes what a previous run left behind (crash recovery)', async () => {
  const probe = switchProbe();
  probe.healthy.set('dns', false);
  const { agent, backend, ownership, present } = harness(agentConfig([serviceConfig('dns', ['192.0.2.53'], probe.definition)]));
  await ownership.save([{ kind: 'address', address: '192.0.2.77', interface: 'lo' }]);
  backend.addForeign({ kind: 'address', address: '192.0.2.77', interface: 'lo', label: 'lo:healthcast' });
  await agent.start();
  assert.equal(present('192.0.2.77'), false);
  await agent.shutdown();
});
