// announce: bgp draining against real zebra+bgpd with frr-config's hold lists: the statement is held back (kept in
// bgpd, denied to the neighbour), the router loses the route, the advertisement check says "no"; announced again, the
// deny entry goes and the router learns it back; the end of the drain removes the statement. Without the lists on a
// family, the same drain is a plain `no network` and nothing is reported wrong.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { withLab } from '../../../lab/lab.js';
import { waitForRoute } from '../../../lab/routes.js';
import { requirePrerequisites } from '../../support/prereq.js';
import { checkAdvertised } from '../../../src/frr/advertised.js';
import { createVtyReader } from '../../../src/frr/vty-reader.js';
import { BGP_INTERFACE, entryKey, HELD_INTERFACE, type DesiredEntry, type RoutingEntry } from '../../../src/routing/types.js';
import { addHoldLists, BGP_LAB_COMMANDS, buildBgpLab, learnedAtRouter, networkLines, nodeReconciler } from './bgp-lab.js';

const V4 = '192.0.2.53';
const V6 = '2001:db8:53::53';
const addr = (address: string): RoutingEntry => ({ kind: 'address', address, interface: 'lo' });
const statement = (address: string, held = false): RoutingEntry => ({ kind: 'bgp', address, interface: held ? HELD_INTERFACE : BGP_INTERFACE });
const announced = (address: string): DesiredEntry[] => [addr(address), statement(address)].map((entry) => ({ ...entry, service: 'dns' }));
const draining = (address: string): DesiredEntry[] => [addr(address), statement(address, true)].map((entry) => ({ ...entry, service: 'dns' }));

test(
  'a drain holds the bgp statement back: the router loses it, bgpd keeps it, FRR says not advertised; back with the deny entry gone',
  { timeout: 90_000 },
  async (t) => {
    if (!requirePrerequisites(t, { root: true, commands: BGP_LAB_COMMANDS })) return;
    await withLab({ name: 'bgp-hold' }, async (lab) => {
      const bgpLab = await buildBgpLab(lab);
      await addHoldLists(bgpLab);
      const reader = createVtyReader({ vtySocket: bgpLab.node.frr!.dir, timeoutMs: 5000, fallback: bgpLab.vtysh });
      t.after(() => reader.close());
      const advertised = async () => [...(await checkAdvertised(reader, [V4, V6], 'bgp')).values()].map((answer) => answer.advertised);
      const holdEntries = async () =>
        [...(await bgpLab.vtysh.run(['show running-config bgpd'])).matchAll(/prefix-list HC-BGP-HOLD-V\d seq \d+ deny (\S+)/g)].map((m) => m[1]);

      let desired = [...announced(V4), ...announced(V6)];
      const reconciler = nodeReconciler(bgpLab, path.join(bgpLab.node.dir, 'state'), () => desired);
      t.after(() => reconciler.stop());
      await reconciler.start();
      await waitForRoute(bgpLab.router, `${V4}/32`, true);
      await waitForRoute(bgpLab.router, `${V6}/128`, true);
      assert.deepEqual(await advertised(), ['yes', 'yes']);

      desired = [...draining(V4), ...draining(V6)];
      let started = Date.now();
      let report = await reconciler.kick();
      assert.deepEqual(report.errors, []);
      for (const entry of [addr(V4), statement(V4, true), addr(V6), statement(V6, true)])
        assert.equal(report.desired.get(entryKey(entry))?.state, 'present', entryKey(entry));
      await waitForRoute(bgpLab.router, `${V4}/32`, false);
      await waitForRoute(bgpLab.router, `${V6}/128`, false);
      t.diagnostic(`held back: both routes gone from the router ${Date.now() - started} ms after the pass began`);
      assert.deepEqual(await networkLines(bgpLab), [`${V4}/32`, `${V6}/128`].sort(), 'the statements stay in bgpd');
      assert.deepEqual((await holdEntries()).sort(), [`${V4}/32`, `${V6}/128`].sort());
      assert.deepEqual(await learnedAtRouter(bgpLab, 4), []);
      assert.deepEqual(await advertised(), ['no', 'no'], 'FRR does not advertise a held statement');
      assert.ok(
        (await bgpLab.node.addresses()).some((cidr) => cidr.startsWith(`${V4}/`)),
        'the address stays on the host',
      );

      desired = [...announced(V4), ...announced(V6)];
      started = Date.now();
      report = await reconciler.kick();
      assert.deepEqual(report.errors, []);
      await waitForRoute(bgpLab.router, `${V4}/32`, true);
      await waitForRoute(bgpLab.router, `${V6}/128`, true);
      t.diagnostic(`released: both routes back at the router ${Date.now() - started} ms after the pass began`);
      assert.deepEqual(await holdEntries(), []);
      assert.deepEqual(await advertised(), ['yes', 'yes']);

      desired = [...draining(V4), ...draining(V6)];
      await reconciler.kick();
      desired = [];
      report = await reconciler.kick();
      assert.deepEqual(report.errors, []);
      assert.deepEqual(await networkLines(bgpLab), [], 'the end of the drain removes the statements');
      assert.ok(!(await bgpLab.node.addresses()).some((cidr) => cidr.startsWith(`${V4}/`) || cidr.startsWith(`${V6}/`)));
      await waitForRoute(bgpLab.router, `${V4}/32`, false);
    });
  },
);

test(
  'a drain with no hold lists: a plain `no network`, the held entries count as present, the router loses and relearns the routes',
  { timeout: 90_000 },
  async (t) => {
    if (!requirePrerequisites(t, { root: true, commands: BGP_LAB_COMMANDS })) return;
    await withLab({ name: 'bgp-nohold' }, async (lab) => {
      const bgpLab = await buildBgpLab(lab);
      let desired = announced(V4);
      const reconciler = nodeReconciler(bgpLab, path.join(bgpLab.node.dir, 'state'), () => desired);
      t.after(() => reconciler.stop());
      await reconciler.start();
      await waitForRoute(bgpLab.router, `${V4}/32`, true);
      desired = draining(V4);
      let report = await reconciler.kick();
      assert.deepEqual(report.errors, []);
      assert.equal(report.desired.get(entryKey(statement(V4, true)))?.state, 'present');
      assert.deepEqual(await networkLines(bgpLab), []);
      await waitForRoute(bgpLab.router, `${V4}/32`, false);
      desired = announced(V4);
      report = await reconciler.kick();
      assert.deepEqual(report.errors, []);
      await waitForRoute(bgpLab.router, `${V4}/32`, true);
    });
  },
);
