// checkAdvertised against real FRR in the anycast lab: yes while the address is on lo, no once it is withdrawn
// (even while the flushed LSA still sits in the database at MaxAge), unknown when the daemon or FRR is gone. Every
// answer is asked twice, through vtysh and over the daemons' vty sockets (the agent's reader), and must agree.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { requirePrerequisites } from '../../support/prereq.js';
import { buildAnycastLab } from '../../../lab/topology.js';
import { waitFor } from '../../../lab/process.js';
import { waitForRoute } from '../../../lab/routes.js';
import { ADVERTISEMENT_COMMANDS, checkAdvertised, OSPF_MAX_AGE } from '../../../src/frr/advertised.js';
import { createVtysh } from '../../../src/frr/vtysh.js';
import { createVtyReader } from '../../../src/frr/vty-reader.js';

const COMMANDS = ['ip', 'vtysh', '/usr/lib/frr/zebra', '/usr/lib/frr/ospfd', '/usr/lib/frr/ospf6d'];
const V4 = '192.0.2.53/32';
const V6 = '2001:db8:53::53/128';
const FOREIGN = '203.0.113.7/32';

test('checkAdvertised over OSPF in the lab: yes, no (MaxAge ignored), unknown', { timeout: 90_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, commands: COMMANDS })) return;
  const topology = await buildAnycastLab({ nodes: 1, name: 'advertised' });
  try {
    const { router } = topology;
    const node = topology.nodes[0]!;
    const vtysh = createVtysh({ vtySocket: node.frr!.dir, timeoutMs: 3000 });
    const reader = createVtyReader({ vtySocket: node.frr!.dir, timeoutMs: 3000, fallback: vtysh });
    t.after(() => reader.close());
    const check = async (prefixes: string[]) => {
      const [viaVtysh, viaSockets] = await Promise.all([checkAdvertised(vtysh, prefixes, 'ospf'), checkAdvertised(reader, prefixes, 'ospf')]);
      const summary = (result: typeof viaVtysh) => prefixes.map((prefix) => [result.get(prefix)?.advertised, result.get(prefix)?.reason !== undefined]);
      assert.deepEqual(summary(viaSockets), summary(viaVtysh), 'the sockets and vtysh tell the same');
      return viaSockets;
    };
    const states = async (prefixes: string[]) => {
      const result = await check(prefixes);
      return prefixes.map((prefix) => result.get(prefix)?.advertised);
    };

    assert.deepEqual(await states([V4, V6]), ['no', 'no'], 'nothing on lo yet');
    await node.addAddress(V4);
    await node.addAddress(V6);
    await node.addAddress(FOREIGN);
    await waitForRoute(router, V4, true);
    await waitForRoute(router, V6, true);
    assert.deepEqual(await states([V4, V6, FOREIGN]), ['yes', 'yes', 'no']);

    await node.deleteAddress(V4);
    await waitFor(`${V4} to be reported withdrawn`, async () => (await states([V4]))[0] === 'no', { timeoutMs: 10_000 });
    // The flushed LSA is still listed (FRR keeps it until the maxage remover runs): only its age says it is gone.
    const raw = await vtysh.show<{ 'AS External Link States': Record<string, { lsaAge: number }> }>(ADVERTISEMENT_COMMANDS.ospf[4]);
    const lingering = raw['AS External Link States']['192.0.2.53'];
    t.diagnostic(`withdrawn LSA in the database: ${lingering ? `lsaAge ${lingering.lsaAge}` : 'already removed'}`);
    if (lingering) assert.equal(lingering.lsaAge, OSPF_MAX_AGE);
    assert.deepEqual(await states([V4, V6]), ['no', 'yes']);

    // ospf6d stops: IPv6 becomes unknown, IPv4 is still answered by ospfd.
    await node.frr!.daemons.find((daemon) => daemon.name.endsWith('/ospf6d'))!.stop('SIGTERM', 5000);
    await node.addAddress(V4);
    await waitFor(`${V4} to be reported again`, async () => (await states([V4]))[0] === 'yes', { timeoutMs: 10_000 });
    const partial = await check([V4, V6]);
    assert.equal(partial.get(V4)?.advertised, 'yes');
    assert.equal(partial.get(V6)?.advertised, 'unknown');
    assert.match(partial.get(V6)?.reason ?? '', /HC_ERR_VTYSH_DAEMON_DOWN: .*ospf6d is not running/);

    // All of FRR gone: unknown everywhere, never a confident "no".
    await node.frr!.stop();
    const none = await checkAdvertised(vtysh, [V4, V6], 'ospf');
    assert.deepEqual(
      [...none.values()].map((entry) => entry.advertised),
      ['unknown', 'unknown'],
    );
    assert.match(none.get(V4)?.reason ?? '', /HC_ERR_VTYSH_NOT_RUNNING: .*failed to connect to any daemons/);
    // The sockets say which daemon is down, without a vtysh process.
    const noneViaSockets = await checkAdvertised(reader, [V4, V6], 'ospf');
    assert.match(noneViaSockets.get(V4)?.reason ?? '', /HC_ERR_VTYSH_DAEMON_DOWN: ospfd vty: ospfd is not running/);
    assert.match(noneViaSockets.get(V6)?.reason ?? '', /HC_ERR_VTYSH_DAEMON_DOWN: ospf6d vty: ospf6d is not running/);
  } finally {
    await topology.lab.destroy();
  }
});
