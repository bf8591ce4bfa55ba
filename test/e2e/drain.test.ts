// Graceful drain in the two-node lab: a client on the router queries the anycast address (IPv4 and IPv6) at 100 a
// second each while node a is put into maintenance; with `drain: 2s` no query may fail. The nodes forward and reject
// the service routes the other node originates, so a node that lost the address drops what still reaches it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { requirePrerequisites } from '../support/prereq.js';
import { frrRoutes } from '../../lab/routes.js';
import { buildDrainLab, COMMANDS, DRAIN_INTERFACE, V4, V6, type RoundResult, type Trigger } from './support/drain-lab.js';

const DRAIN_MS = 2000;
const RATE = 100;
const TIMEOUT_MS = 300;
const TRIGGERS: Trigger[] = ['SIGTSTP', 'SIGTSTP', 'healthcast drain'];

function describe(result: RoundResult): string {
  const { timeline: t } = result;
  return (
    `${result.trigger}: failed v4 ${result.v4.failed}/${result.v4.sent}, v6 ${result.v6.failed}/${result.v6.sent}; ` +
    `ms after the trigger: on ${DRAIN_INTERFACE} ${t.drainInterfaceAdded.v4}/${t.drainInterfaceAdded.v6}, off lo ${t.removedFromLo.v4}/${t.removedFromLo.v6}, ` +
    `router without a ${t.routerWithoutA.v4}/${t.routerWithoutA.v6}, off ${DRAIN_INTERFACE} ${t.removedFromDrainInterface.v4}/${t.removedFromDrainInterface.v6}`
  );
}

// In one ip batch the address is parked on hc-drain (as a /31 or /127, so zebra sees another connected prefix) and then
// leaves lo: the host owns it throughout, and answers while the router moves to node b.

test('graceful drain: no query fails while node a is drained by SIGTSTP and by healthcast drain', { timeout: 240_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, commands: COMMANDS })) return;
  const drainLab = await buildDrainLab({ name: 'e2edrain', drainMs: DRAIN_MS });
  try {
    const results: RoundResult[] = [];
    for (const [index, trigger] of TRIGGERS.entries()) {
      const result = await drainLab.round({ trigger, rate: RATE, timeoutMs: TIMEOUT_MS, label: `round${index}` });
      t.diagnostic(describe(result));
      results.push(result);
    }

    // The filter: node a has the OSPF routes node b originates in its RIB, but not in its kernel.
    const rib4 = (await frrRoutes(drainLab.a, 4))[`${V4}/32`] ?? [];
    const rib6 = (await frrRoutes(drainLab.a, 6))[`${V6}/128`] ?? [];
    assert.ok(
      rib4.some((entry) => entry.protocol === 'ospf' && !entry.installed),
      "node a knows b's IPv4 route from OSPF, not installed",
    );
    assert.ok(
      rib6.some((entry) => entry.protocol === 'ospf6' && !entry.installed),
      "node a knows b's IPv6 route from OSPFv3, not installed",
    );

    for (const result of results) {
      const what = describe(result);
      for (const family of ['v4', 'v6'] as const) {
        // Both nodes served before the drain (the router spreads queries), b alone took over.
        assert.ok(
          (result.beforeTrigger[family].by.a ?? 0) > 0 && (result.beforeTrigger[family].by.b ?? 0) > 0,
          `${family}: a and b answered before the trigger (${what})`,
        );
        assert.ok(result[family].sent >= (RATE * (1000 + DRAIN_MS + 1500)) / 1000 - 2, `${family}: the client sent its queries (${what})`);
        assert.equal(result.nodeARoutes[family], false, `${family}: node a has no kernel route to the address b announces (${what})`);
        const times = result.timeline;
        // The drain interface held the address, and the router stopped routing to a before it was removed from there.
        assert.ok(
          times.drainInterfaceAdded[family] !== undefined && times.removedFromLo[family] !== undefined,
          `${family}: the address moved from lo to ${DRAIN_INTERFACE} (${what})`,
        );
        // The address is parked before it leaves lo. An IPv6 address becomes usable (and is announced) only when the
        // kernel's DAD worker runs, after ip returns, so the backend waits for it before the removal (ip-backend.ts).
        assert.ok(
          (times.drainInterfaceAdded[family] ?? Infinity) <= (times.removedFromLo[family] ?? -Infinity),
          `${family}: parked on ${DRAIN_INTERFACE} before it left lo (${what})`,
        );
        assert.ok(
          (times.removedFromDrainInterface[family] ?? 0) - (times.drainInterfaceAdded[family] ?? 0) >= DRAIN_MS - 100,
          `${family}: kept on ${DRAIN_INTERFACE} for the drain period (${what})`,
        );
        assert.ok(
          times.routerWithoutA[family] !== undefined && times.routerWithoutA[family] < (times.removedFromDrainInterface[family] ?? 0),
          `${family}: the router stopped routing to a while a still held the address (${what})`,
        );
      }
      const mid = result.midDrain;
      assert.ok(mid, `a snapshot half-way through the drain (${what})`);
      assert.deepEqual(mid.drainInterface, [`${V4}/31`, `${V6}/127`], `half-way through the drain both addresses are on ${DRAIN_INTERFACE} (${what})`);
      assert.deepEqual(mid.lo, [], `and not on lo (${what})`);
      assert.ok(
        mid.routerV4.length > 0 && !mid.routerV4.some((hop) => hop.endsWith(`@${drainLab.ifA}`)),
        `half-way through the drain the router's IPv4 route avoids a: ${mid.routerV4.join(', ')} (${what})`,
      );
      assert.ok(
        mid.routerV6.length > 0 && !mid.routerV6.some((hop) => hop.endsWith(`@${drainLab.ifA}`)),
        `and its IPv6 route too: ${mid.routerV6.join(', ')} (${what})`,
      );
      assert.deepEqual(result.leftOnLo, [], `nothing left on lo (${what})`);
      assert.deepEqual(result.leftOnDrainInterface, [], `nothing left on ${DRAIN_INTERFACE} (${what})`);
    }
    // Each failure with its round and its send time from the trigger, to place it on the round's timeline.
    const failures = results.flatMap((result, index) =>
      result.failures.map(
        (query) =>
          `round ${index} (${result.trigger}): ${query.target} #${query.id} sent ${query.t - result.triggeredAt} ms after the trigger: ${query.err ?? 'failed'}`,
      ),
    );
    assert.deepEqual(failures, [], `no query failed in ${results.length} drains; ${results.map(describe).join('; ')}`);
    t.diagnostic(`0 of ${results.reduce((sum, r) => sum + r.v4.sent + r.v6.sent, 0)} queries failed in ${results.length} drains`);
  } finally {
    await drainLab.destroy();
  }
});
