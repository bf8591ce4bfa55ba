// FRR killed (SIGKILL, all daemons) and restarted on the node while healthcast keeps running: the router loses the
// routes, and once FRR is back they return from what healthcast keeps on the kernel (addresses and proto-201 routes),
// without healthcast restarting; a service that failed during the outage stays withdrawn.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { requirePrerequisites } from '../support/prereq.js';
import { buildAnycastLab } from '../../lab/topology.js';
import { startFrr, waitForAdjacencies, type FrrInstance } from '../../lab/frr.js';
import { waitFor } from '../../lab/process.js';
import { waitForRoute } from '../../lab/routes.js';
import { freePort } from '../../lab/unbound.js';
import type { LabNode } from '../../lab/lab.js';
import { agentConfig, startAgent } from '../../lab/healthcast.js';
import { hostEntries } from './support/kernel.js';
import { startMonitor } from '../../lab/monitor.js';

const COMMANDS = ['ip', 'vtysh', 'unbound', '/usr/lib/frr/zebra', '/usr/lib/frr/ospfd', '/usr/lib/frr/ospf6d'];
const STAYS = ['192.0.2.91/32', '2001:db8:91::1/128', '192.0.2.92/32'];
const GOES = '192.0.2.93/32';

function dnsService(name: string, addresses: string[], port: number, announce: 'address' | 'route' = 'address'): Record<string, unknown> {
  return {
    name,
    addresses,
    announce,
    interval: '200ms',
    timeout: '150ms',
    rise: 2,
    fall: 2,
    hold_down: '0ms',
    probes: [{ type: 'dns', server: '127.0.0.1', port, query: 'probe.test', qtype: 'A', expect_answer: '192.0.2.1' }],
  };
}

async function routesAre(router: LabNode, prefixes: readonly string[], present: boolean, timeoutMs: number): Promise<void> {
  await Promise.all(prefixes.map((prefix) => waitForRoute(router, prefix, present, timeoutMs)));
}

test('FRR killed and restarted under a running healthcast: advertisements come back without restarting it', { timeout: 90_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, commands: COMMANDS })) return;
  const topology = await buildAnycastLab({ nodes: 1, name: 'frrkill' });
  const { lab, router } = topology;
  const node = topology.nodes[0]!;
  let fresh: FrrInstance | undefined;
  try {
    const records = [{ name: 'probe.test', type: 'A', value: '192.0.2.1' }];
    const [port1, port2] = [await freePort(), await freePort()];
    await lab.startUnbound(node, { port: port1, addresses: ['127.0.0.1'], records, name: 'unbound-stays' });
    const doomed = await lab.startUnbound(node, { port: port2, addresses: ['127.0.0.1'], records, name: 'unbound-goes' });
    const services = [
      dnsService('stays', ['192.0.2.91', '2001:db8:91::1'], port1),
      dnsService('route', ['192.0.2.92'], port1, 'route'),
      dnsService('goes', ['192.0.2.93'], port2),
    ];
    const agent = await startAgent(lab, node, { config: (stateDir) => agentConfig(stateDir, services) });
    await routesAre(router, [...STAYS, GOES], true, 15_000);
    const monitor = await startMonitor(node.netns, 'address');

    // Kill every FRR daemon on the node at once, like an OOM kill or a crash.
    const old = node.frr!;
    let started = Date.now();
    for (const daemon of old.daemons) daemon.child.kill('SIGKILL');
    await Promise.all(old.daemons.map((daemon) => daemon.exited));
    await routesAre(router, [...STAYS, GOES], false, 15_000);
    t.diagnostic(`FRR killed -> router lost the routes in ${Date.now() - started} ms (OSPF dead interval 3 s)`);

    // During the outage one service fails: healthcast withdraws it from the kernel as usual.
    await doomed.daemon.stop('SIGKILL');
    await waitFor('the failed service withdrawn from lo', async () => !(await hostEntries(node.netns)).addresses.includes('192.0.2.93'), { timeoutMs: 5000 });

    started = Date.now();
    fresh = await startFrr({ ...old.options, netns: old.netns, dir: old.dir });
    await waitForAdjacencies(fresh, 1);
    await routesAre(router, STAYS, true, 20_000);
    t.diagnostic(`FRR restarted -> routes back on the router in ${Date.now() - started} ms`);
    await routesAre(router, [GOES], false, 1000);

    assert.ok(agent.alive(), 'healthcast kept running');
    assert.equal(agent.lines().filter((line) => line.msg === 'agent started').length, 1, 'healthcast was not restarted');
    assert.deepEqual(monitor.about('192.0.2.91').concat(monitor.about('2001:db8:91::1')), [], "the healthy service's addresses stayed on lo throughout");
    await monitor.stop();
  } finally {
    await fresh?.stop().catch(() => undefined);
    await lab.destroy();
  }
});
