// Signal storms against the real agent: 100 SIGTSTP/SIGCONT alternations end running with every entry back exactly
// once; SIGHUP storms alternating valid and invalid configs never withdraw an unchanged healthy service and end on
// the last valid config.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { requirePrerequisites } from '../support/prereq.js';
import { Lab } from '../../lab/lab.js';
import { waitFor } from '../../lab/process.js';
import { freePort } from '../../lab/unbound.js';
import { agentConfig, ownershipRecord, startAgent, writeConfig, type AgentProcess } from '../../lab/healthcast.js';
import { hostEntries } from './support/kernel.js';
import { startMonitor } from '../../lab/monitor.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function dnsService(name: string, addresses: string[], port: number, announce: 'address' | 'route' = 'address'): Record<string, unknown> {
  return {
    name,
    addresses,
    announce,
    interval: '100ms',
    timeout: '80ms',
    rise: 2,
    fall: 2,
    hold_down: '0ms',
    probes: [{ type: 'dns', server: '127.0.0.1', port, query: 'probe.test', qtype: 'A', expect_answer: '192.0.2.1' }],
  };
}

async function waitStable(agent: AgentProcess, check: () => Promise<boolean>, what: string): Promise<void> {
  await waitFor(what, async () => agent.state() !== 'T' && (await check()), { timeoutMs: 15_000, intervalMs: 50 });
}

test('signal storm: 100 SIGTSTP/SIGCONT alternations end running, every entry present exactly once', { timeout: 90_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, commands: ['ip', 'unbound'] })) return;
  const lab = await Lab.create({ name: 'tstp' });
  try {
    const node = await lab.node('tstp');
    const port = await freePort();
    const unbound = await lab.startUnbound(node, { port, addresses: ['127.0.0.1'], records: [{ name: 'probe.test', type: 'A', value: '192.0.2.1' }] });
    const services = [
      dnsService('dns4', ['192.0.2.71', '192.0.2.72'], port),
      dnsService('dns6', ['2001:db8:71::1'], port),
      dnsService('rt', ['192.0.2.73'], port, 'route'),
    ];
    const agent = await startAgent(lab, node, { config: (stateDir) => agentConfig(stateDir, services) });
    const expected = { addresses: ['192.0.2.71', '192.0.2.72', '2001:db8:71::1'].sort(), routes: ['192.0.2.73'] };
    const expectedRecord = ['address 192.0.2.71 lo', 'address 192.0.2.72 lo', 'address 2001:db8:71::1 lo', 'route 192.0.2.73 lo'].sort();
    const allThere = async () => JSON.stringify(await hostEntries(node.netns)) === JSON.stringify(expected);
    await waitStable(agent, allThere, 'every entry announced');

    const since = agent.lines().length;
    const started = Date.now();
    for (let i = 0; i < 100; i += 1) {
      agent.signal('SIGTSTP');
      await sleep(10);
      agent.signal('SIGCONT');
      await sleep(10);
    }
    t.diagnostic(`100 alternations sent in ${Date.now() - started} ms`);
    await waitStable(agent, allThere, 'the agent running with every entry back');
    await sleep(500);
    assert.notEqual(agent.state(), 'T', 'the process is not left stopped');
    assert.ok(agent.alive(), 'the process is alive');
    assert.deepEqual(await hostEntries(node.netns), expected, 'every address and route present, nothing extra');
    assert.deepEqual(ownershipRecord(agent.stateDir), expectedRecord, 'the ownership record lists each entry exactly once');
    const storm = agent.lines().slice(since);
    const paused = storm.filter((line) => line.msg.startsWith('paused')).length;
    const resumed = storm.filter((line) => line.msg.startsWith('resumed')).length;
    t.diagnostic(`${paused} pauses, ${resumed} resumes logged during the storm`);
    assert.ok(paused >= 1, 'the storm did pause the agent');
    assert.equal(resumed, paused, 'every pause was followed by a resume');

    // Still probing after the storm: a dead target is withdrawn.
    await unbound.daemon.stop('SIGKILL');
    await waitFor(
      'everything withdrawn after unbound died',
      async () => {
        const now = await hostEntries(node.netns);
        return now.addresses.length === 0 && now.routes.length === 0;
      },
      { timeoutMs: 5000 },
    );
  } finally {
    await lab.destroy();
  }
});

test('signal storm: SIGHUP with alternating valid and invalid configs never withdraws an unchanged healthy service', { timeout: 90_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, commands: ['ip', 'unbound'] })) return;
  const lab = await Lab.create({ name: 'hup' });
  try {
    const node = await lab.node('hup');
    const port = await freePort();
    await lab.startUnbound(node, { port, addresses: ['127.0.0.1'], records: [{ name: 'probe.test', type: 'A', value: '192.0.2.1' }] });
    const KEEP = '192.0.2.81';
    const varAddress = (i: number) => `192.0.2.${100 + i}`;
    let stateDir = '';
    const valid = (i: number) => agentConfig(stateDir, [dnsService('keep', [KEEP], port), dnsService('var', [varAddress(i)], port)]);
    const invalid = [
      'interface: lo\nservices: [\n',
      (i: number) => ({ ...valid(i), bogus_key: true }),
      (_i: number) => agentConfig(stateDir, [dnsService('keep', [KEEP], port), dnsService('var', ['192.0.2.0/24'], port)]),
      (i: number) =>
        agentConfig(stateDir, [
          dnsService('keep', [KEEP], port),
          dnsService('var', [KEEP], port),
          { ...dnsService('other', [varAddress(i)], port), probes: [] },
        ]),
    ];
    const agent = await startAgent(lab, node, {
      config: (dir) => {
        stateDir = dir;
        return valid(0);
      },
    });
    await waitFor('keep and var announced', async () => (await hostEntries(node.netns)).addresses.join() === [KEEP, varAddress(0)].sort().join(), {
      timeoutMs: 10_000,
    });
    const monitor = await startMonitor(node.netns, 'address');
    const since = agent.lines().length;

    const LAST = 41;
    for (let i = 1; i < LAST; i += 1) {
      writeConfig(agent.configFile, valid(i));
      agent.signal('SIGHUP');
      await sleep(15);
      const bad = invalid[i % invalid.length]!;
      writeConfig(agent.configFile, typeof bad === 'string' ? bad : bad(i));
      agent.signal('SIGHUP');
      await sleep(15);
    }
    writeConfig(agent.configFile, valid(LAST));
    agent.signal('SIGHUP');

    const wanted = [KEEP, varAddress(LAST)].sort().join();
    await waitFor('the last valid config in effect', async () => (await hostEntries(node.netns)).addresses.join() === wanted, { timeoutMs: 15_000 });
    await sleep(500);
    assert.equal((await hostEntries(node.netns)).addresses.join(), wanted, "only keep and the last config's var address are announced");
    assert.deepEqual(ownershipRecord(agent.stateDir), [`address ${KEEP} lo`, `address ${varAddress(LAST)} lo`].sort());
    assert.deepEqual(monitor.about(KEEP), [], `${KEEP} (unchanged, healthy) was never withdrawn or re-added`);
    const storm = agent.lines().slice(since);
    const reloaded = storm.filter((line) => line.msg === 'configuration reloaded');
    const rejected = storm.filter((line) => line.msg.startsWith('reload rejected'));
    t.diagnostic(`${reloaded.length} reloads applied, ${rejected.length} rejected (81 SIGHUPs; signals that arrive together coalesce)`);
    assert.ok(rejected.length >= 1 && reloaded.length >= 1, 'both valid and invalid configs were seen');
    for (const line of reloaded) assert.ok((line.kept as string[] | undefined)?.includes('keep'), 'every applied reload kept the unchanged service running');
    for (const line of rejected)
      assert.ok((Array.isArray(line.errors) && (line.errors as unknown[]).length > 0) || typeof line.error === 'string', 'a rejected reload says why');
    assert.ok(agent.alive());
    await monitor.stop();
  } finally {
    await lab.destroy();
  }
});
