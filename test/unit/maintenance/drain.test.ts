import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildAgent, type AgentListener, type StateChange } from '../../../src/core/agent.js';
import { Reconciler } from '../../../src/routing/reconciler.js';
import { MemoryBackend } from '../../../src/routing/memory-backend.js';
import { MemoryOwnershipStore } from '../../../src/routing/ownership.js';
import { FileDrainStore, MemoryDrainStore, type DrainStore } from '../../../src/maintenance/drain-store.js';
import { silentLogger } from '../../../src/log.js';
import { sleep } from '../../../src/clock.js';
import { ManualClock } from '../../support/manual-clock.js';
import { agentConfig, serviceConfig, switchProbe } from '../../support/agent-fixtures.js';
import type { AgentConfig } from '../../../src/config/types.js';

// The agent and its reconciler on a ManualClock: the tests wait on conditions while manual time moves, never on the
// machine's clock.
function harness(
  config: AgentConfig,
  drainStore: DrainStore,
  backend = new MemoryBackend(),
  ownership = new MemoryOwnershipStore(),
  clock = new ManualClock(),
) {
  const changes: StateChange[] = [];
  const listener: AgentListener = { onStateApplied: (change) => changes.push(change) };
  const agent = buildAgent({
    config,
    clock,
    log: silentLogger(),
    splay: false,
    drainStore,
    listeners: [listener],
    routing: ({ desired, onReport }) => new Reconciler({ backend, ownership, desired, onReport, log: silentLogger(), driftIntervalMs: 60_000, clock }),
  });
  const present = (address: string) => backend.has({ kind: 'address', address, interface: 'lo' });
  const waitFor = async (what: string, condition: () => unknown) =>
    assert.ok(await clock.until(() => Boolean(condition())), `${what}: not within a minute of manual time`);
  return { agent, backend, ownership, present, changes, clock, waitFor };
}

test('the drain record survives a round trip, is atomic, and a corrupt one is moved aside with a code', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hc-drain-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const store = new FileDrainStore(path.join(dir, 'state'));
  assert.deepEqual(await store.load(), [], 'missing: nothing drained');
  await store.save([
    { name: 'web', since: 'x', by: 'cli' },
    { name: 'dns', since: 'y', by: 'schedule:nightly' },
  ]);
  assert.deepEqual(
    (await store.load()).map((entry) => entry.name),
    ['dns', 'web'],
  );
  assert.equal(fs.statSync(store.file).mode & 0o777, 0o600);
  assert.deepEqual(fs.readdirSync(path.join(dir, 'state')), ['drained.json'], 'no temp files left');
  fs.writeFileSync(store.file, '{"version":1,"services":"oops"');
  await assert.rejects(store.load(), (error: Error & { code?: string }) => error.code === 'HC_ERR_DRAIN_CORRUPT');
  assert.ok(fs.readdirSync(path.join(dir, 'state')).some((name) => name.startsWith('drained.json.corrupt-')));
  assert.deepEqual(await store.load(), []);
});

test('drain withdraws at once and keeps probing; resume announces again; hooks see drained then up', async (t) => {
  const probe = switchProbe();
  const store = new MemoryDrainStore();
  const { agent, present, changes, waitFor } = harness(
    agentConfig([serviceConfig('dns', ['192.0.2.53'], probe.definition), serviceConfig('web', ['192.0.2.80'], probe.definition)]),
    store,
  );
  t.after(() => agent.shutdown());
  await agent.start();
  await waitFor('both announced', () => present('192.0.2.53') && present('192.0.2.80'));

  const result = await agent.drainServices(['dns'], 'cli');
  assert.deepEqual(result, { services: ['dns'], newly: ['dns'], errors: [], alone: [] });
  assert.equal(present('192.0.2.53'), false, 'withdrawn when drainServices resolves');
  assert.equal(present('192.0.2.80'), true, 'the other service is untouched');
  assert.deepEqual(
    store.entries.map((entry) => [entry.name, entry.by]),
    [['dns', 'cli']],
  );
  const dns = agent.status().find((service) => service.name === 'dns')!;
  assert.equal(dns.state, 'drained');
  assert.equal(dns.drained?.by, 'cli');
  const calls = probe.calls.get('dns') ?? 0;
  await waitFor('still probing while drained', () => (probe.calls.get('dns') ?? 0) > calls + 2);
  assert.equal(present('192.0.2.53'), false, 'healthy but drained: stays withdrawn');

  assert.deepEqual(await agent.drainServices(['dns'], 'cli'), { services: ['dns'], newly: [], errors: [], alone: [] }, 'draining again changes nothing');
  assert.deepEqual(await agent.resumeServices(['dns', 'web'], 'cli'), { services: ['dns'], notDrained: ['web'] });
  await waitFor('dns back', () => present('192.0.2.53'));
  assert.deepEqual(store.entries, []);
  await waitFor('hooks heard', () => changes.some((c) => c.service === 'dns' && c.from === 'drained' && c.to === 'up'));
  assert.ok(changes.some((c) => c.service === 'dns' && c.from === 'up' && c.to === 'drained' && c.reason === 'drained by cli'));
});

test('unknown services are refused without changing anything; --all drains every service', async (t) => {
  const probe = switchProbe();
  const store = new MemoryDrainStore();
  const { agent, present, waitFor } = harness(
    agentConfig([serviceConfig('dns', ['192.0.2.53'], probe.definition), serviceConfig('web', ['192.0.2.80'], probe.definition)]),
    store,
  );
  t.after(() => agent.shutdown());
  await agent.start();
  await waitFor('announced', () => present('192.0.2.53') && present('192.0.2.80'));
  await assert.rejects(agent.drainServices(['dns', 'nosuch'], 'cli'), (error: Error & { code?: string }) => error.code === 'HC_ERR_SERVICE_UNKNOWN');
  assert.equal(present('192.0.2.53'), true);
  assert.deepEqual(store.entries, []);
  const all = await agent.drainServices('all', 'cli');
  assert.deepEqual(all.newly.sort(), ['dns', 'web']);
  assert.equal(present('192.0.2.53') || present('192.0.2.80'), false);
});

test('a drain that cannot be persisted is refused and nothing is withdrawn', async (t) => {
  const probe = switchProbe();
  const store = new MemoryDrainStore();
  const { agent, present, waitFor } = harness(agentConfig([serviceConfig('dns', ['192.0.2.53'], probe.definition)]), store);
  t.after(() => agent.shutdown());
  await agent.start();
  await waitFor('announced', () => present('192.0.2.53'));
  store.failSave = 'disk full';
  await assert.rejects(agent.drainServices(['dns'], 'cli'), (error: Error & { code?: string }) => error.code === 'HC_ERR_DRAIN_WRITE');
  assert.equal(present('192.0.2.53'), true);
  assert.equal(agent.status()[0]?.state, 'up');
});

test('drained services stay drained across a restart (same state_dir) and a reload, until resumed', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hc-drain-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const probe = switchProbe();
  const config = agentConfig([serviceConfig('dns', ['192.0.2.53'], probe.definition), serviceConfig('web', ['192.0.2.80'], probe.definition)]);
  const backend = new MemoryBackend();
  const ownership = new MemoryOwnershipStore();
  const first = harness(config, new FileDrainStore(dir), backend, ownership);
  await first.agent.start();
  await first.waitFor('announced', () => first.present('192.0.2.53'));
  await first.agent.drainServices(['dns'], 'cli');
  await first.agent.shutdown();

  const second = harness(config, new FileDrainStore(dir), backend, ownership);
  t.after(() => second.agent.shutdown());
  await second.agent.start();
  await second.waitFor('web announced after restart', () => second.present('192.0.2.80'));
  await second.clock.advance(150); // several rise periods
  assert.equal(second.present('192.0.2.53'), false, 'dns still drained after the restart');
  assert.equal(second.agent.status().find((s) => s.name === 'dns')?.state, 'drained');
  assert.ok(!second.changes.some((c) => c.service === 'dns' && c.to === 'drained'), 'a drain carried over from the last run fires no on_drain');

  await second.agent.reload(
    agentConfig([serviceConfig('dns', ['192.0.2.53'], probe.definition, { rise: 3 }), serviceConfig('web', ['192.0.2.80'], probe.definition)]),
  );
  await second.clock.advance(150);
  assert.equal(second.present('192.0.2.53'), false, 'still drained after a reload that restarted the service');
  await second.agent.resumeServices('all', 'cli');
  await second.waitFor('dns back after resume', () => second.present('192.0.2.53'));
});

test('state changes reach listeners only once the routing change is applied', async (t) => {
  const probe = switchProbe();
  const backend = new MemoryBackend();
  const seen: [string, string, boolean][] = [];
  const { agent, clock, waitFor } = harness(agentConfig([serviceConfig('dns', ['192.0.2.53'], probe.definition)]), new MemoryDrainStore(), backend);
  agent.addListener({
    onStateApplied: (change) => seen.push([change.from, change.to, backend.has({ kind: 'address', address: '192.0.2.53', interface: 'lo' })]),
  });
  t.after(() => agent.shutdown());
  // Hold every batch a little, so a listener called before the batch would see the old kernel state.
  backend.beforeApply = () => sleep(clock, 30);
  await agent.start();
  await waitFor('up', () => seen.some(([, to]) => to === 'up'));
  probe.healthy.set('dns', false);
  await waitFor('down', () => seen.some(([from, to]) => from === 'up' && to === 'down'));
  await clock.drive(agent.drainServices(['dns'], 'cli'));
  await waitFor('drained', () => seen.some(([, to]) => to === 'drained'));
  // unknown -> down is the first probe (rising: not announced yet).
  assert.deepEqual(seen, [
    ['unknown', 'down', false],
    ['down', 'up', true],
    ['up', 'down', false],
    ['down', 'drained', false],
  ]);
});

test('with a graceful drain period, drain resolves once the addresses are gone from the drain interface too, without errors', async (t) => {
  const probe = switchProbe();
  const { agent, backend, present, clock, waitFor } = harness(
    agentConfig([serviceConfig('dns', ['192.0.2.53'], probe.definition, { drainMs: 150 })], { drainInterface: 'hc-drain' }),
    new MemoryDrainStore(),
  );
  t.after(() => clock.drive(agent.shutdown()));
  await agent.start();
  await waitFor('announced', () => present('192.0.2.53'));
  const started = clock.now();
  const drained = agent.drainServices(['dns'], 'cli');
  await clock.advance(140);
  assert.equal(backend.has({ kind: 'address', address: '192.0.2.53', interface: 'hc-drain' }), true, 'parked on the drain interface for the period');
  const result = await clock.drive(drained, { stepMs: 1 });
  assert.deepEqual(result.errors, []);
  assert.ok(clock.now() - started >= 150, `waited for the drain period: ${clock.now() - started} ms`);
  assert.equal(present('192.0.2.53'), false);
  assert.equal(backend.has({ kind: 'address', address: '192.0.2.53', interface: 'hc-drain' }), false, 'gone from the drain interface too');
});

test('a drain carries its owner (pid, start, stay drained) into the record; records without one stay valid', async (t) => {
  const probe = switchProbe();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hc-drain-owner-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(
    path.join(dir, 'drained.json'),
    JSON.stringify({ version: 1, updated: 'x', services: [{ name: 'web', since: 'y', by: 'maintenance (pid 7)' }] }),
  );
  const store = new FileDrainStore(dir);
  assert.deepEqual(await store.load(), [{ name: 'web', since: 'y', by: 'maintenance (pid 7)' }], 'a record from before owners loads');
  const { agent } = harness(
    agentConfig([serviceConfig('dns', ['192.0.2.53'], probe.definition), serviceConfig('web', ['192.0.2.80'], probe.definition)]),
    store,
  );
  t.after(() => agent.shutdown());
  await agent.start();
  await agent.drainServices(['dns'], { by: 'maintenance (pid 4242)', pid: 4242, pidStart: 99, stayDrained: true });
  const saved = JSON.parse(fs.readFileSync(path.join(dir, 'drained.json'), 'utf8')) as { services: unknown[] };
  assert.deepEqual(saved.services[0], {
    name: 'dns',
    since: (saved.services[0] as { since: string }).since,
    by: 'maintenance (pid 4242)',
    pid: 4242,
    pidStart: 99,
    stayDrained: true,
  });
  assert.deepEqual(agent.drainedServices.find((e) => e.name === 'dns')?.pid, 4242);
  assert.deepEqual(await new FileDrainStore(dir).load().then((entries) => entries.map((e) => e.name)), ['dns', 'web'], 'and reads back');
});

test('a drain that leaves no advertiser (the LSDB shows only this router) says so; status shows the advertisers', async (t) => {
  const probe = switchProbe();
  const { agent, present, waitFor, clock } = harness(
    agentConfig([
      serviceConfig('dns', ['192.0.2.53'], probe.definition, { drainMs: 0 }),
      serviceConfig('web', ['192.0.2.80'], probe.definition, { drainMs: 0 }),
    ]),
    new MemoryDrainStore(),
  );
  t.after(() => agent.shutdown());
  await agent.start();
  await waitFor('both announced', () => present('192.0.2.53') && present('192.0.2.80'));
  const advertisers = new Map([
    ['192.0.2.53/32', new Set(['0.0.0.2'])],
    ['192.0.2.80/32', new Set(['0.0.0.2', '0.0.0.3'])],
  ]);
  agent.onFleetReading({ at: clock.now(), snapshot: { routerId: '0.0.0.2', advertisers } });
  assert.deepEqual(
    agent.status().map((s) => [s.name, s.advertisers]),
    [
      ['dns', ['0.0.0.2']],
      ['web', ['0.0.0.2', '0.0.0.3']],
    ],
  );
  const result = await clock.drive(agent.drainServices('all', 'cli'));
  assert.deepEqual(result.alone, ['dns'], 'web still has 0.0.0.3');
  assert.equal(present('192.0.2.53'), false, 'deliberate: withdrawn even though it was the last');
});
