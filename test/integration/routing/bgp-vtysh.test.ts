// The bgp backend against one real zebra+bgpd (no peers): what FRR 8.4 really answers when bgpd is down, when there is
// no BGP instance, when frr.asn names another AS, and when a batch line is rejected mid-way (vtysh stops there).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withLab } from '../../../lab/lab.js';
import { requirePrerequisites } from '../../support/prereq.js';
import { ErrorCodes, isHealthcastError } from '../../../src/errors.js';
import { createVtysh, VtyshError } from '../../../src/frr/vtysh.js';
import { RoutingBatchError } from '../../../src/routing/batch-error.js';
import { BgpBackend } from '../../../src/routing/bgp-backend.js';
import { BGP_INTERFACE, type RoutingOp } from '../../../src/routing/types.js';
import { BGP_LAB_COMMANDS, NODE_AS } from './bgp-lab.js';

const op = (action: 'add' | 'remove', address: string): RoutingOp => ({ action, entry: { kind: 'bgp', address, interface: BGP_INTERFACE } });
const statements = (entries: { address: string }[]) => entries.map((e) => e.address).sort();

test('real bgpd: rejected line mid-batch, no instance, another AS, bgpd down', { timeout: 60_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, commands: BGP_LAB_COMMANDS })) return;
  await withLab({ name: 'bgp-vtysh' }, async (lab) => {
    const node = await lab.node('a');
    const frr = await lab.startFrr(node, { bgp: { asn: NODE_AS, neighbors: [] } });
    const vtysh = createVtysh({ vtySocket: frr.dir, timeoutMs: 5000 });
    const first = new BgpBackend({ vtysh, asn: NODE_AS });

    // 1. `no network` for a statement that is not there is rejected by bgpd and stops vtysh: the backend retries
    // op by op, so the adds after it still happen and the missing statement counts as removed.
    assert.deepEqual(await first.list(), []);
    await first.apply([op('remove', '192.0.2.61'), op('add', '192.0.2.62'), op('add', '2001:db8::62')]);
    await first.verified();
    assert.deepEqual(statements(await first.list()), ['192.0.2.62', '2001:db8::62'], 'bgpd confirms what was written');
    await assert.rejects(
      vtysh.configure([`router bgp ${NODE_AS}`, 'address-family ipv4 unicast', 'no network 192.0.2.61/32', 'network 192.0.2.63/32']),
      (error: unknown) => {
        assert.ok(error instanceof VtyshError && error.code === ErrorCodes.VTYSH_REJECTED);
        assert.match(error.frrMessage, /Can't find static route specified/);
        return true;
      },
    );
    // A new backend lists bgpd for real (the first one would answer from what it believes).
    const listed = await new BgpBackend({ vtysh, asn: NODE_AS }).list();
    assert.deepEqual(statements(listed), ['192.0.2.62', '2001:db8::62'], 'vtysh really stopped at the rejected line');

    // 2. frr.asn naming another AS: refused before anything is written.
    const otherAs = new BgpBackend({ vtysh, asn: NODE_AS + 1 });
    await otherAs.list();
    await assert.rejects(otherAs.apply([op('add', '192.0.2.64')]), (error: unknown) => {
      assert.ok(error instanceof RoutingBatchError);
      assert.match(error.failures[0]?.reason ?? '', new RegExp(`frr\\.asn is ${NODE_AS + 1} but bgpd runs \`router bgp ${NODE_AS}\``));
      return true;
    });

    // 3. No instance: refused, and `router bgp` is never sent (it would create one).
    await vtysh.configure([`no router bgp ${NODE_AS}`]);
    const noAsn = new BgpBackend({ vtysh });
    assert.deepEqual(await noAsn.list(), []);
    await assert.rejects(noAsn.apply([op('add', '192.0.2.65')]), (error: unknown) => {
      assert.ok(error instanceof RoutingBatchError && isHealthcastError(error.cause, ErrorCodes.BGP_INSTANCE));
      assert.match(error.failures[0]?.reason ?? '', /no `router bgp` instance/);
      return true;
    });
    assert.doesNotMatch(await vtysh.run(['show running-config bgpd']), /^router bgp/m, 'no instance was created');

    // 4. bgpd stopped: the verification after the next pass finds it, and the listing then fails with FRR's words
    // (the running config alone would have looked empty). A fresh instance and backend, whose belief bgpd has confirmed:
    // the first backend's own verification may already have seen step 3 remove the instance.
    first.close();
    await vtysh.configure([`router bgp ${NODE_AS}`]);
    const backend = new BgpBackend({ vtysh, asn: NODE_AS });
    assert.deepEqual(await backend.list(), []);
    await backend.apply([op('add', '192.0.2.62'), op('add', '2001:db8::62')]);
    await backend.verified();
    const bgpd = frr.daemons.find((daemon) => daemon.name.endsWith('/bgpd'));
    assert.ok(bgpd);
    await bgpd.stop('SIGTERM', 5000);
    assert.deepEqual(statements(await backend.list()), ['192.0.2.62', '2001:db8::62'], 'a pass answers from the belief');
    await backend.verified();
    await assert.rejects(backend.list(), (error: unknown) => {
      assert.ok(error instanceof VtyshError && error.code === ErrorCodes.VTYSH_DAEMON_DOWN, String(error));
      assert.match(error.message, /bgpd is not running/);
      return true;
    });
    await assert.rejects(backend.apply([op('add', '192.0.2.66')]), (error: unknown) => {
      assert.ok(error instanceof RoutingBatchError);
      assert.equal(error.failures[0]?.reason, 'bgpd is not running');
      return true;
    });
  });
});
