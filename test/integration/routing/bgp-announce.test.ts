// announce: bgp against real zebra+bgpd: the reconciler (ip + bgp composite) announces 192.0.2.53/32 and
// 2001:db8:53::53/128 with network statements, the router learns them over eBGP, they are withdrawn, and a network
// statement configured by hand is never removed (nor claimed when a service wants the same prefix).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { withLab } from '../../../lab/lab.js';
import { waitFor } from '../../../lab/process.js';
import { frrRoute, waitForRoute } from '../../../lab/routes.js';
import { requirePrerequisites } from '../../support/prereq.js';
import { BGP_INTERFACE, entryKey, type DesiredEntry, type RoutingEntry } from '../../../src/routing/types.js';
import { BGP_LAB_COMMANDS, buildBgpLab, learnedAtRouter, networkLines, nodeReconciler, NODE_AS } from './bgp-lab.js';

const V4 = '192.0.2.53';
const V6 = '2001:db8:53::53';
const FOREIGN = '192.0.2.99';
const addr = (address: string): RoutingEntry => ({ kind: 'address', address, interface: 'lo' });
const bgp = (address: string): RoutingEntry => ({ kind: 'bgp', address, interface: BGP_INTERFACE });
const announced = (address: string, service: string): DesiredEntry[] => [
  { ...addr(address), service },
  { ...bgp(address), service },
];

test('announce: bgp: the router learns both prefixes, loses them on withdrawal; a hand-made statement stays', { timeout: 90_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, commands: BGP_LAB_COMMANDS })) return;
  await withLab({ name: 'bgp-announce' }, async (lab) => {
    const bgpLab = await buildBgpLab(lab);
    t.diagnostic(`lab: BGP sessions Established ${bgpLab.readyMs} ms after the daemons started`);
    // FRR's default (the lab config turns it off): a statement is advertised only while zebra has the route, i.e.
    // while the address is on lo. The foreign statement gets its address by hand, as an admin would.
    await bgpLab.vtysh.configure([
      `router bgp ${NODE_AS}`,
      'bgp network import-check',
      'address-family ipv4 unicast',
      `network ${FOREIGN}/32`,
      'exit-address-family',
    ]);
    await bgpLab.node.addAddress(`${FOREIGN}/32`);
    await waitForRoute(bgpLab.router, `${FOREIGN}/32`, true);

    const stateDir = path.join(bgpLab.node.dir, 'state');
    let desired = [...announced(V4, 'dns'), ...announced(V6, 'dns6'), ...announced(FOREIGN, 'admin-owned')];
    const reconciler = nodeReconciler(bgpLab, stateDir, () => desired);
    t.after(() => reconciler.stop());

    const started = Date.now();
    const report = await reconciler.start();
    const passMs = Date.now() - started;
    for (const entry of [addr(V4), bgp(V4), addr(V6), bgp(V6)])
      assert.equal(report.desired.get(entryKey(entry))?.state, 'present', `${entry.kind} ${entry.address}`);
    assert.equal(report.desired.get(entryKey(bgp(FOREIGN)))?.state, 'conflict', 'a statement healthcast did not add is not claimed');
    assert.equal(report.desired.get(entryKey(addr(FOREIGN)))?.state, 'conflict', 'nor is the address the admin put on lo');
    const v4Ms = await waitForRoute(bgpLab.router, `${V4}/32`, true);
    const v6Ms = await waitForRoute(bgpLab.router, `${V6}/128`, true);
    t.diagnostic(
      `first pass (list, 1 ip batch, 1 vtysh batch, re-list) ${passMs} ms; router kernel+RIB has ${V4}/32 ${v4Ms} ms later, ${V6}/128 ${v6Ms} ms after that`,
    );
    assert.equal((await frrRoute(bgpLab.router, `${V4}/32`))?.protocol, 'bgp');
    assert.equal((await frrRoute(bgpLab.router, `${V6}/128`))?.protocol, 'bgp');
    assert.deepEqual(await learnedAtRouter(bgpLab, 4), [`${V4}/32`, `${FOREIGN}/32`].sort());
    assert.deepEqual(await learnedAtRouter(bgpLab, 6), [`${V6}/128`]);
    assert.deepEqual(await networkLines(bgpLab), [`${V4}/32`, `${FOREIGN}/32`, `${V6}/128`].sort());
    const record = JSON.parse(await fs.readFile(path.join(stateDir, 'owned.json'), 'utf8')) as { entries: RoutingEntry[] };
    assert.deepEqual(record.entries.map(entryKey).sort(), [addr(V4), bgp(V4), addr(V6), bgp(V6)].map(entryKey).sort());

    desired = [];
    const withdrawStarted = Date.now();
    const withdrawn = await reconciler.kick();
    const kickMs = Date.now() - withdrawStarted;
    assert.deepEqual(withdrawn.errors, []);
    assert.deepEqual(withdrawn.removed.map(entryKey).sort(), [addr(V4), bgp(V4), addr(V6), bgp(V6)].map(entryKey).sort());
    const gone4 = await waitForRoute(bgpLab.router, `${V4}/32`, false);
    const gone6 = await waitForRoute(bgpLab.router, `${V6}/128`, false);
    t.diagnostic(`withdrawal: pass ${kickMs} ms; then gone from the router's kernel+RIB after ${gone4} ms (v4) / ${gone4 + gone6} ms (v6)`);
    assert.deepEqual(await networkLines(bgpLab), [`${FOREIGN}/32`], 'only the hand-made statement is left');
    assert.deepEqual(await learnedAtRouter(bgpLab, 4), [`${FOREIGN}/32`], 'and the router still learns it');
    assert.ok(
      (await bgpLab.node.addresses()).some((cidr) => cidr.startsWith(`${FOREIGN}/`)),
      'the admin address stays on lo',
    );
    assert.ok(!(await bgpLab.node.addresses()).some((cidr) => cidr.startsWith(`${V4}/`) || cidr.startsWith(`${V6}/`)));
    const after = JSON.parse(await fs.readFile(path.join(stateDir, 'owned.json'), 'utf8')) as { entries: RoutingEntry[] };
    assert.deepEqual(after.entries, []);
  });
});

test('crash recovery through the record: statements left by a killed agent are removed, the hand-made one kept', { timeout: 90_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, commands: BGP_LAB_COMMANDS })) return;
  await withLab({ name: 'bgp-recover' }, async (lab) => {
    const bgpLab = await buildBgpLab(lab);
    const stateDir = path.join(bgpLab.node.dir, 'state');
    await bgpLab.vtysh.configure([`router bgp ${NODE_AS}`, 'address-family ipv4 unicast', `network ${FOREIGN}/32`, 'exit-address-family']);
    const first = nodeReconciler(bgpLab, stateDir, () => announced(V4, 'dns'));
    await first.start();
    await first.stop(); // the agent dies here without withdrawing: the statement and the record stay behind
    await waitForRoute(bgpLab.router, `${V4}/32`, true);

    // `healthcast cleanup` and the next agent's first pass: the same reconciler with nothing desired.
    const cleanup = nodeReconciler(bgpLab, stateDir, () => []);
    const report = await cleanup.start();
    await cleanup.stop();
    assert.deepEqual(report.errors, []);
    assert.deepEqual(report.removed.map(entryKey).sort(), [addr(V4), bgp(V4)].map(entryKey).sort());
    assert.deepEqual(await networkLines(bgpLab), [`${FOREIGN}/32`]);
    await waitForRoute(bgpLab.router, `${V4}/32`, false);
    await waitFor('the hand-made prefix at the router', async () => (await learnedAtRouter(bgpLab, 4)).includes(`${FOREIGN}/32`), { timeoutMs: 10_000 });
  });
});
