// Crash: kill -9 while 50 addresses and routes are announced, restart with the services down: every stale entry
// healthcast added is removed, and the addresses and routes it did not add (on lo and elsewhere, one even with
// healthcast's own route proto) are exactly as they were.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { requirePrerequisites } from '../support/prereq.js';
import { Lab } from '../../lab/lab.js';
import { ip } from '../../lab/netns.js';
import { waitFor } from '../../lab/process.js';
import { freePort } from '../../lab/unbound.js';
import { agentConfig, ownershipRecord, startAgent } from '../../lab/healthcast.js';
import { hostEntries, snapshot } from './support/kernel.js';

const range = (count: number, make: (i: number) => string) => Array.from({ length: count }, (_, i) => make(i));
const OURS = {
  v4: range(20, (i) => `192.0.2.${i + 1}`),
  v6: range(10, (i) => `2001:db8:50::${(i + 1).toString(16)}`),
  r4: range(15, (i) => `192.0.2.${i + 101}`),
  r6: range(5, (i) => `2001:db8:51::${i + 1}`),
};
const ADDRESSES = [...OURS.v4, ...OURS.v6].sort();
const ROUTES = [...OURS.r4, ...OURS.r6].sort();

function services(port: number): Record<string, unknown>[] {
  const probe = { type: 'dns', server: '127.0.0.1', port, query: 'probe.test', qtype: 'A', expect_answer: '192.0.2.1' };
  const common = { interval: '100ms', timeout: '80ms', rise: 1, fall: 1, hold_down: '0ms', probes: [probe] };
  return [
    { name: 'v4', addresses: OURS.v4, announce: 'address', ...common },
    { name: 'v6', addresses: OURS.v6, announce: 'address', ...common },
    { name: 'r4', addresses: OURS.r4, announce: 'route', ...common },
    { name: 'r6', addresses: OURS.r6, announce: 'route', ...common },
  ];
}

test('crash: kill -9 with 50 entries announced; a restart removes every stale one and touches nothing else', { timeout: 90_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, commands: ['ip', 'unbound'] })) return;
  const lab = await Lab.create({ name: 'crash' });
  try {
    const node = await lab.node('crash');
    const ns = ['-n', node.netns];
    // Entries healthcast did not add: on lo (plain, labelled, IPv6), on another interface, and routes of other protos
    // plus one with healthcast's proto 201 that is not in its ownership record. (A veth pair: no dummy module here.)
    await ip([...ns, 'link', 'add', 'hcdummy', 'type', 'veth', 'peer', 'name', 'hcdummy1']);
    await ip([...ns, 'link', 'set', 'hcdummy', 'up']);
    await node.addAddress('192.0.2.200/32');
    await node.addAddress('192.0.2.201/32', { label: 'lo:manual' });
    await node.addAddress('2001:db8:ff::1/128');
    await node.addAddress('192.0.2.202/32', { dev: 'hcdummy' });
    await node.addAddress('2001:db8:ff::2/128', { dev: 'hcdummy' });
    await ip([...ns, 'route', 'add', '192.0.2.210/32', 'dev', 'lo', 'proto', 'static']);
    await ip([...ns, 'route', 'add', '192.0.2.211/32', 'dev', 'lo', 'proto', '201']);
    await ip([...ns, '-6', 'route', 'add', '2001:db8:ff::3/128', 'dev', 'hcdummy', 'proto', '99']);
    await ip([...ns, 'route', 'add', '198.51.100.0/24', 'dev', 'hcdummy']);
    const before = await snapshot(node.netns);

    const port = await freePort();
    const unbound = await lab.startUnbound(node, { port, addresses: ['127.0.0.1'], records: [{ name: 'probe.test', type: 'A', value: '192.0.2.1' }] });
    const config = (stateDir: string) => agentConfig(stateDir, services(port), { reconcile_interval: '1s' });
    const first = await startAgent(lab, node, { name: 'agent', config });
    const ours = async () => {
      const entries = await hostEntries(node.netns);
      return { addresses: entries.addresses.filter((a) => ADDRESSES.includes(a)), routes: entries.routes.filter((r) => ROUTES.includes(r)) };
    };
    await waitFor(
      'all 50 entries announced and recorded',
      async () => {
        const now = await ours();
        return now.addresses.length === ADDRESSES.length && now.routes.length === ROUTES.length && ownershipRecord(first.stateDir)?.length === 50;
      },
      { timeoutMs: 15_000 },
    );

    await first.daemon.stop('SIGKILL');
    assert.deepEqual(await ours(), { addresses: ADDRESSES, routes: ROUTES }, 'kill -9 leaves all 50 entries behind (the case crash recovery exists for)');
    await unbound.stop();

    const started = Date.now();
    const second = await startAgent(lab, node, { name: 'agent', config });
    await waitFor(
      'every stale entry removed',
      async () => {
        const now = await ours();
        return now.addresses.length === 0 && now.routes.length === 0;
      },
      { timeoutMs: 10_000 },
    );
    t.diagnostic(`restart -> 50 stale entries removed in ${Date.now() - started} ms`);
    assert.ok(
      second.lines().some((line) => /crash recovery: removing 50 entries/.test(line.msg)),
      'the restart says it removed 50 stale entries',
    );
    assert.deepEqual(await snapshot(node.netns), before, 'addresses and routes healthcast did not add are exactly as before');
    await waitFor('the ownership record to be empty', () => ownershipRecord(second.stateDir)?.length === 0, { timeoutMs: 5000 });
    assert.ok(second.alive(), 'the restarted agent keeps running');
  } finally {
    await lab.destroy();
  }
});
