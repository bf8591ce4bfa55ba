// keep_last in the three-node lab (router + a, b, c with router-ids 0.0.0.2-4), every node running unbound and an
// agent with keep_last: true. All three DNS servers killed in one tick: exactly one node keeps advertising (the router
// has one next hop, never none) and says kept_last; one server back: it is announced and the kept node withdraws.
// Then staggered failures, then keep_last: false (all withdraw, as before).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { requirePrerequisites } from '../support/prereq.js';
import { buildFleetLab, FLEET_ADDRESS, FLEET_COMMANDS, GUARD_MS } from '../../lab/fleet.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('keep_last: the fleet never withdraws its last advertisement; deliberate and keep_last: false withdraw', { timeout: 240_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, commands: FLEET_COMMANDS })) return;
  let mark = Date.now();
  const phase = (what: string) => {
    t.diagnostic(`${what}: ${Date.now() - mark} ms`);
    mark = Date.now();
  };
  const fleet = await buildFleetLab({ name: 'e2efleet' });
  phase('lab and agents up');
  try {
    const all = ['a', 'b', 'c'];
    // Every node sees the whole fleet (its own LSA included) in status.
    await fleet.waitForHops(all);
    for (const name of all) {
      const seen = await waitForStatus(fleet, name, (s) => s.advertisers?.length === 3);
      assert.deepEqual(seen.advertisers, ['0.0.0.2', '0.0.0.3', '0.0.0.4'], `${name} sees the three advertisers`);
      assert.equal(seen.kept_last, false);
    }

    // All together: a and b withdraw at once (c has the higher router-id), c waits its guard and stays.
    phase('status shows three advertisers on every node');
    const since = Date.now();
    await fleet.killDns(all);
    const settled = await fleet.waitForHops(['c']);
    // The guard lasts keep_last_guard or longer (detection + 3 LSDB reads, seconds on a loaded machine).
    const kept = await waitForStatus(fleet, 'c', (s) => s.kept_last);
    await sleep(GUARD_MS);
    assert.deepEqual(await fleet.hops(), ['c'], 'exactly one advertiser remains after the guard');
    assert.equal(kept.state, 'down');
    assert.equal(kept.kept_last, true);
    assert.equal(kept.announced, true);
    assert.deepEqual(kept.advertisers, ['0.0.0.4']);
    const gone = fleet.dns.routeMonitor.about(FLEET_ADDRESS).filter((event) => event.deleted && event.time >= since);
    assert.equal(gone.length, 0, `the router never lost the route: ${gone.map((event) => event.text).join('; ')}`);
    t.diagnostic(`all three killed: the router routed via c alone after ${settled} ms, without ever losing the route`);

    // One back: a is announced; c sees it, and withdraws after its guard (it has the higher router-id).
    const back = Date.now();
    await fleet.startDns('a');
    await fleet.waitForHops(['a'], 10_000);
    t.diagnostic(`a's DNS back: the router routed via a alone after ${Date.now() - back} ms`);
    assert.equal((await fleet.status('c')).kept_last, false);

    // Staggered: b and c back, then a, b, c fail seconds apart: c, the last one standing, stays.
    await fleet.startDns('b');
    await fleet.startDns('c');
    await fleet.waitForHops(all);
    await fleet.killDns(['a']);
    await fleet.waitForHops(['b', 'c']);
    await fleet.killDns(['b']);
    await fleet.waitForHops(['c']);
    await fleet.killDns(['c']);
    assert.equal((await waitForStatus(fleet, 'c', (s) => s.kept_last)).kept_last, true, 'c says kept_last');
    assert.deepEqual(await fleet.hops(), ['c'], 'the last one to fail stays');

    phase('staggered');
    await fleet.startDns('b');
    await fleet.waitForHops(['b'], 10_000);
    for (const name of all) await fleet.startDns(name);
    await fleet.waitForHops(all);

    phase('all back');
    // keep_last: false: all withdraw, as before.
    await Promise.all(all.map((name) => fleet.restartAgent(name, { keep_last: false })));
    await fleet.waitForHops(all, 20_000);
    phase('agents restarted with keep_last: false');
    await fleet.killDns(all);
    await fleet.waitForHops([], 5000);
    t.diagnostic('keep_last: false: all three killed, the route left the router');
  } finally {
    await fleet.destroy();
  }
});

async function waitForStatus(
  fleet: Awaited<ReturnType<typeof buildFleetLab>>,
  name: string,
  match: (status: Awaited<ReturnType<typeof fleet.status>>) => boolean,
): Promise<Awaited<ReturnType<typeof fleet.status>>> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const status = await fleet.status(name);
    if (match(status) || Date.now() > deadline) return status;
    await sleep(100);
  }
}
