// state_dir full or read-only: healthcast never adds an address it cannot record (fail closed), still withdraws,
// keeps running, says why, and catches up once the disk is usable again. The state_dir is a small tmpfs the test
// mounts (and fills or remounts read-only) under its own lab directory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { requirePrerequisites } from '../support/prereq.js';
import { Lab, type LabNode } from '../../lab/lab.js';
import { run } from '../../lab/netns.js';
import { waitFor } from '../../lab/process.js';
import { freePort } from '../../lab/unbound.js';
import { agentConfig, ownershipRecord, startAgent, type AgentProcess } from '../../lab/healthcast.js';
import { hostEntries } from './support/kernel.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const records = [{ name: 'probe.test', type: 'A', value: '192.0.2.1' }];

function dnsService(name: string, address: string, port: number): Record<string, unknown> {
  return {
    name,
    addresses: [address],
    interval: '100ms',
    timeout: '80ms',
    rise: 2,
    fall: 2,
    hold_down: '0ms',
    probes: [{ type: 'dns', server: '127.0.0.1', port, query: 'probe.test', qtype: 'A', expect_answer: '192.0.2.1' }],
  };
}

// A 64 KiB tmpfs at the agent's state_dir, unmounted when the lab is destroyed (before its files are removed).
async function mountStateDir(lab: Lab, node: LabNode, name: string): Promise<string> {
  const dir = path.join(node.dir, name, 'state');
  fs.mkdirSync(dir, { recursive: true });
  await run('mount', ['-t', 'tmpfs', '-o', 'size=64k,mode=0700', 'tmpfs', dir]);
  lab.onDestroy(`unmount ${dir}`, async () => {
    await run('umount', [dir]);
  });
  return dir;
}

function fill(dir: string): string {
  const file = path.join(dir, 'filler');
  const handle = fs.openSync(file, 'w');
  try {
    for (;;) fs.writeSync(handle, Buffer.alloc(4096));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  } finally {
    fs.closeSync(handle);
  }
  return file;
}

const onLo = async (node: LabNode, address: string) => (await hostEntries(node.netns)).addresses.includes(address);

// Over `ms`, the address never shows up on lo and the agent stays alive.
async function staysAbsent(agent: AgentProcess, node: LabNode, address: string, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    assert.equal(await onLo(node, address), false, `${address} must not be added while it cannot be recorded`);
    assert.ok(agent.alive(), 'healthcast keeps running');
    await sleep(100);
  }
}

test('state_dir full: the address is not added (fail closed), the agent says why, keeps running and catches up', { timeout: 60_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, commands: ['ip', 'unbound', 'mount', 'umount'] })) return;
  const lab = await Lab.create({ name: 'full' });
  try {
    const node = await lab.node('full');
    const port = await freePort();
    await lab.startUnbound(node, { port, addresses: ['127.0.0.1'], records });
    const stateDir = await mountStateDir(lab, node, 'agent');
    const filler = fill(stateDir);
    const agent = await startAgent(lab, node, {
      name: 'agent',
      config: (dir) => agentConfig(dir, [dnsService('dns', '192.0.2.111', port)], { reconcile_interval: '300ms' }),
    });
    await agent.waitForPhase('dns', 'up');
    const refused = await agent.waitForLine('refusal to add', (line) => /cannot record ownership; not adding/.test(line.msg));
    assert.match(String(refused.err), /ENOSPC/, 'the log names the cause');
    const warned = await agent.waitForLine('service warning', (line) => line.service === 'dns' && /cannot be announced/.test(line.msg));
    assert.match(String(warned.error), /not added/);
    await staysAbsent(agent, node, '192.0.2.111', 1500);

    fs.rmSync(filler);
    await waitFor('the address added once the record can be written', () => onLo(node, '192.0.2.111'), { timeoutMs: 5000 });
    assert.deepEqual(ownershipRecord(agent.stateDir), ['address 192.0.2.111 lo']);
  } finally {
    await lab.destroy();
  }
});

test('state_dir read-only while running: nothing new is added, a failed service is still withdrawn, then it catches up', { timeout: 60_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, commands: ['ip', 'unbound', 'mount', 'umount'] })) return;
  const lab = await Lab.create({ name: 'rofs' });
  try {
    const node = await lab.node('rofs');
    const [port1, port2] = [await freePort(), await freePort()];
    const first = await lab.startUnbound(node, { port: port1, addresses: ['127.0.0.1'], records, name: 'unbound1' });
    const stateDir = await mountStateDir(lab, node, 'agent');
    const services = [dnsService('first', '192.0.2.121', port1), dnsService('second', '192.0.2.122', port2)];
    const agent = await startAgent(lab, node, { name: 'agent', config: (dir) => agentConfig(dir, services, { reconcile_interval: '300ms' }) });
    await waitFor('first announced', () => onLo(node, '192.0.2.121'), { timeoutMs: 5000 });
    assert.deepEqual(ownershipRecord(stateDir), ['address 192.0.2.121 lo']);

    await run('mount', ['-o', 'remount,ro', stateDir]);
    const since = agent.lines().length;
    await lab.startUnbound(node, { port: port2, addresses: ['127.0.0.1'], records, name: 'unbound2' });
    await agent.waitForPhase('second', 'up', { since });
    const refused = await agent.waitForLine('refusal to add', (line) => /cannot record ownership; not adding/.test(line.msg), { since });
    assert.match(String(refused.err), /EROFS|read-only/i, 'the log names the cause');
    await staysAbsent(agent, node, '192.0.2.122', 1000);

    // Withdrawing never needs the record: a failed service goes even though the record cannot be updated.
    await first.daemon.stop('SIGKILL');
    await waitFor('first withdrawn although the record is read-only', async () => !(await onLo(node, '192.0.2.121')), { timeoutMs: 5000 });
    assert.ok(agent.alive());

    await run('mount', ['-o', 'remount,rw', stateDir]);
    await waitFor('second added once the record can be written', () => onLo(node, '192.0.2.122'), { timeoutMs: 5000 });
    await waitFor('the record to match the system', () => JSON.stringify(ownershipRecord(stateDir)) === JSON.stringify(['address 192.0.2.122 lo']), {
      timeoutMs: 5000,
    });
  } finally {
    await lab.destroy();
  }
});
