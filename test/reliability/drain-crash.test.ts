// kill -9 in the middle of a drain: the addresses parked on hc-drain (a /31 and a /127) are in the ownership record,
// so the restarted agent removes them, whether or not the service is healthy again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { requirePrerequisites } from '../support/prereq.js';
import { Lab } from '../../lab/lab.js';
import { ip } from '../../lab/netns.js';
import { waitFor } from '../../lab/process.js';
import { freePort } from '../../lab/unbound.js';
import { agentConfig, ownershipRecord, startAgent } from '../../lab/healthcast.js';

const V4 = '192.0.2.53';
const V6 = '2001:db8:53::53';

// "ADDRESS/LEN" of the service addresses on one interface.
async function serviceAddresses(netns: string, dev: string): Promise<string[]> {
  const out = await ip(['-n', netns, '-j', 'address', 'show', 'dev', dev]).catch(() => '[]');
  const links = JSON.parse(out) as { addr_info?: { local: string; prefixlen: number }[] }[];
  return links
    .flatMap((link) => link.addr_info ?? [])
    .filter((a) => a.local === V4 || a.local === V6)
    .map((a) => `${a.local}/${a.prefixlen}`)
    .sort();
}

test('crash mid-drain: kill -9 while the addresses are parked on hc-drain; the restart removes them', { timeout: 60_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, commands: ['ip', 'unbound'] })) return;
  const lab = await Lab.create({ name: 'draincrash' });
  try {
    const node = await lab.node('a');
    const port = await freePort();
    const unbound = await lab.startUnbound(node, { port, addresses: ['127.0.0.1'], records: [{ name: 'probe.test', type: 'A', value: '192.0.2.1' }] });
    const probe = { type: 'dns', server: '127.0.0.1', port, query: 'probe.test', qtype: 'A', expect_answer: '192.0.2.1' };
    const service = {
      name: 'dns',
      addresses: [V4, V6],
      announce: 'address',
      interval: '100ms',
      timeout: '80ms',
      rise: 1,
      fall: 1,
      hold_down: '0ms',
      drain: '30s',
      probes: [probe],
    };
    const config = (stateDir: string) => agentConfig(stateDir, [service]);
    const first = await startAgent(lab, node, { name: 'agent', config });
    await waitFor('announced on lo', async () => (await serviceAddresses(node.netns, 'lo')).length === 2, { timeoutMs: 10_000 });

    first.signal('SIGTSTP');
    await waitFor(
      'parked on hc-drain and gone from lo',
      async () => (await serviceAddresses(node.netns, 'hc-drain')).length === 2 && (await serviceAddresses(node.netns, 'lo')).length === 0,
      { timeoutMs: 5000 },
    );
    assert.deepEqual(await serviceAddresses(node.netns, 'hc-drain'), [`${V6}/127`, `${V4}/31`].sort());
    assert.deepEqual(ownershipRecord(first.stateDir), [`address ${V4} hc-drain`, `address ${V6} hc-drain`].sort(), 'the parked addresses are recorded');
    await first.daemon.stop('SIGKILL');
    assert.equal((await serviceAddresses(node.netns, 'hc-drain')).length, 2, 'kill -9 leaves them parked (the case this test is about)');

    // Restarted with the service healthy: it is announced on lo again, and nothing stays parked.
    const second = await startAgent(lab, node, { name: 'agent', config });
    await waitFor(
      'announced on lo, nothing parked',
      async () => (await serviceAddresses(node.netns, 'lo')).length === 2 && (await serviceAddresses(node.netns, 'hc-drain')).length === 0,
      { timeoutMs: 10_000 },
    );
    assert.ok(
      second.lines().some((line) => /crash recovery: removing 2 entries/.test(line.msg)),
      'the restart says it removed the 2 parked entries',
    );
    await waitFor('the record names only lo', () => ownershipRecord(second.stateDir)?.join(',') === [`address ${V4} lo`, `address ${V6} lo`].sort().join(','), {
      timeoutMs: 5000,
    });

    // Once more, with the service down at the restart: nothing at all is left.
    second.signal('SIGTSTP');
    await waitFor('parked again', async () => (await serviceAddresses(node.netns, 'hc-drain')).length === 2, { timeoutMs: 5000 });
    await second.daemon.stop('SIGKILL');
    await unbound.stop();
    await startAgent(lab, node, { name: 'agent', config });
    await waitFor(
      'nothing left anywhere',
      async () => (await serviceAddresses(node.netns, 'lo')).length === 0 && (await serviceAddresses(node.netns, 'hc-drain')).length === 0,
      { timeoutMs: 10_000 },
    );
  } finally {
    await lab.destroy();
  }
});
