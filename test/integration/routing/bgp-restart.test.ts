// bgpd stopped and restarted under the reconciler (real zebra+bgpd): while bgpd is down, addresses still go on and
// off and bgp entries are errors in FRR's words, kept in the record; the restarted bgpd has lost the statements
// configured at runtime, and the next pass puts them back, so the router learns the prefixes again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { withLab } from '../../../lab/lab.js';
import { waitForRoute } from '../../../lab/routes.js';
import { waitFor } from '../../../lab/process.js';
import { requirePrerequisites } from '../../support/prereq.js';
import { BGP_INTERFACE, entryKey, type DesiredEntry, type ReconcileReport, type RoutingEntry } from '../../../src/routing/types.js';
import { BGP_LAB_COMMANDS, buildBgpLab, networkLines, nodeBgpd, nodeReconciler, startNodeBgpd } from './bgp-lab.js';

const V4 = '192.0.2.53';
const V6 = '2001:db8:53::53';
const LATE = '192.0.2.54';
const addr = (address: string): RoutingEntry => ({ kind: 'address', address, interface: 'lo' });
const bgp = (address: string): RoutingEntry => ({ kind: 'bgp', address, interface: BGP_INTERFACE });
const announced = (address: string, service: string): DesiredEntry[] => [
  { ...addr(address), service },
  { ...bgp(address), service },
];
const statusOf = (report: ReconcileReport, entry: RoutingEntry) => report.desired.get(entryKey(entry));
const reasonOf = (report: ReconcileReport, entry: RoutingEntry) => {
  const status = statusOf(report, entry);
  return status?.state === 'error' || status?.state === 'conflict' ? status.reason : '';
};
// The route is back at the router within this after the pass that re-adds the statement (session re-establishment
// after a restart takes ~1-3 s with the lab's 1 s connect timer).
const BACK_WITHIN_MS = 15_000;

test('bgpd restart: statements lost with it are re-added by the next pass and the router learns them again', { timeout: 120_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, commands: BGP_LAB_COMMANDS })) return;
  await withLab({ name: 'bgp-restart' }, async (lab) => {
    const bgpLab = await buildBgpLab(lab);
    const stateDir = path.join(bgpLab.node.dir, 'state');
    let desired = [...announced(V4, 'dns'), ...announced(V6, 'dns6')];
    const reconciler = nodeReconciler(bgpLab, stateDir, () => desired);
    t.after(() => reconciler.stop());
    await reconciler.start();
    await waitForRoute(bgpLab.router, `${V4}/32`, true);
    await waitForRoute(bgpLab.router, `${V6}/128`, true);

    // 1. A plain restart: the runtime statements are gone with the old bgpd.
    await nodeBgpd(bgpLab).stop('SIGTERM', 5000);
    await waitForRoute(bgpLab.router, `${V4}/32`, false, BACK_WITHIN_MS);
    const bgpd = await startNodeBgpd(bgpLab);
    assert.deepEqual(await networkLines(bgpLab), [], 'a restarted bgpd has only its config file');
    const kicked = Date.now();
    // A pass answers from what bgpd was believed to hold; the verification after it finds the statements gone and
    // asks for the pass that re-adds them.
    await reconciler.kick();
    await waitFor('the statements to be re-added', async () => (await networkLines(bgpLab)).join() === [`${V4}/32`, `${V6}/128`].join(), {
      timeoutMs: 5000,
      intervalMs: 10,
    });
    const passMs = Date.now() - kicked;
    const report = await reconciler.kick();
    assert.equal(statusOf(report, bgp(V4))?.state, 'present');
    assert.equal(statusOf(report, bgp(V6))?.state, 'present');
    const v4Ms = await waitForRoute(bgpLab.router, `${V4}/32`, true, BACK_WITHIN_MS);
    const v6Ms = await waitForRoute(bgpLab.router, `${V6}/128`, true, BACK_WITHIN_MS);
    t.diagnostic(
      `after the bgpd restart: statements back ${passMs} ms after the kick; the router had ${V4}/32 back ${passMs + v4Ms} ms and ${V6}/128 ${passMs + v4Ms + v6Ms} ms after the kick`,
    );

    // 2. bgpd down for a while: addresses keep working, bgp entries are errors with FRR's words and stay recorded.
    await bgpd.stop('SIGTERM', 5000);
    desired = [...announced(V6, 'dns6'), ...announced(LATE, 'radius')];
    const down = await reconciler.kick();
    assert.equal(statusOf(down, addr(LATE))?.state, 'present', 'a new service address goes on although bgpd is down');
    assert.equal(statusOf(down, addr(V6))?.state, 'present');
    // The pass wrote from the belief, the write failed, and the listing after it said why.
    assert.match(reasonOf(down, bgp(LATE)), /cannot list bgp entries( after applying)?: .*bgpd is not running/);
    assert.match(reasonOf(down, bgp(V6)), /bgpd is not running/);
    assert.ok(down.errors.some((e) => /bgpd is not running/.test(e)));
    assert.ok(!(await bgpLab.node.addresses()).some((cidr) => cidr.startsWith(`${V4}/`)), 'the withdrawn service address is off lo');
    const record = JSON.parse(await fs.readFile(path.join(stateDir, 'owned.json'), 'utf8')) as { entries: RoutingEntry[] };
    assert.deepEqual(
      record.entries.map(entryKey).sort(),
      [addr(V6), addr(LATE), bgp(V4), bgp(V6), bgp(LATE)].map(entryKey).sort(),
      'bgp entries that could not be seen are kept, the withdrawn one included (it is removed once bgpd answers), and the new one recorded ahead of a write bgpd never took (the pass wrote from its belief)',
    );
    await waitForRoute(bgpLab.router, `${V6}/128`, false, BACK_WITHIN_MS);

    // 3. bgpd back: the desired statements are added, nothing of the withdrawn service comes back.
    await startNodeBgpd(bgpLab);
    const back = await reconciler.kick();
    assert.deepEqual(back.errors, []);
    assert.equal(statusOf(back, bgp(V6))?.state, 'present');
    assert.equal(statusOf(back, bgp(LATE))?.state, 'present');
    assert.deepEqual(await networkLines(bgpLab), [`${LATE}/32`, `${V6}/128`]);
    await waitForRoute(bgpLab.router, `${LATE}/32`, true, BACK_WITHIN_MS);
    await waitForRoute(bgpLab.router, `${V6}/128`, true, BACK_WITHIN_MS);
    await waitForRoute(bgpLab.router, `${V4}/32`, false);
    const settled = JSON.parse(await fs.readFile(path.join(stateDir, 'owned.json'), 'utf8')) as { entries: RoutingEntry[] };
    assert.deepEqual(settled.entries.map(entryKey).sort(), [addr(V6), addr(LATE), bgp(V6), bgp(LATE)].map(entryKey).sort());
  });
});

test('the drift timer alone repairs a restarted bgpd (no kick)', { timeout: 90_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, commands: BGP_LAB_COMMANDS })) return;
  await withLab({ name: 'bgp-drift' }, async (lab) => {
    const bgpLab = await buildBgpLab(lab);
    const driftIntervalMs = 1000;
    const reconciler = nodeReconciler(bgpLab, path.join(bgpLab.node.dir, 'state'), () => announced(V4, 'dns'), { driftIntervalMs });
    t.after(() => reconciler.stop());
    await reconciler.start();
    await waitForRoute(bgpLab.router, `${V4}/32`, true);
    await nodeBgpd(bgpLab).stop('SIGTERM', 5000);
    await waitForRoute(bgpLab.router, `${V4}/32`, false, BACK_WITHIN_MS);
    await startNodeBgpd(bgpLab);
    const restarted = Date.now();
    await waitForRoute(bgpLab.router, `${V4}/32`, true, driftIntervalMs + BACK_WITHIN_MS);
    t.diagnostic(`route back at the router ${Date.now() - restarted} ms after the new bgpd answered (drift interval ${driftIntervalMs} ms)`);
    assert.deepEqual(await networkLines(bgpLab), [`${V4}/32`]);
  });
});
