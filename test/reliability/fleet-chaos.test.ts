// A short fleet chaos run (bench/fleet.ts runs it for minutes): three keep_last nodes, a client on the router, random
// faults (DNS servers killed and restarted, two at once, a node's FRR restarted, an agent frozen and resumed). The
// router never lacks a route while a node is healthy, and no address is left behind once the agents stop.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { requirePrerequisites } from '../support/prereq.js';
import { buildFleetLab, FLEET_COMMANDS } from '../../lab/fleet.js';
import { runChaos } from '../e2e/support/fleet-chaos.js';

const DURATION_MS = 30_000;

test('fleet chaos (30 s): no time without a route while a node is healthy, nothing stale at the end', { timeout: 240_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, commands: [...FLEET_COMMANDS, '/usr/lib/frr/ospf6d'] })) return;
  const seed = Number(process.env.HEALTHCAST_CHAOS_SEED ?? Date.now() % 1_000_000);
  const fleet = await buildFleetLab({ name: 'relchaos' });
  try {
    // A busy CI machine gets 3 s from a node's recovery until it counts as healthy (rise is 2 x 200 ms).
    const result = await runChaos(fleet, { durationMs: DURATION_MS, seed, healthyAfterMs: 3000 });
    t.diagnostic(
      `seed ${seed} (HEALTHCAST_CHAOS_SEED to repeat): ${result.faults.length} faults; lost ${result.lost}/${result.sent}, longest gap ${result.longestGapMs} ms, ` +
        `no route ${result.zeroMs} ms (${result.zeroWhileHealthyMs} ms while a node was healthy); faults: ${result.faults.join('; ')}`,
    );
    assert.ok(result.faults.length >= 4, 'faults were injected');
    assert.ok(result.sent > 0, 'the client sent queries');
    assert.equal(result.zeroWhileHealthyMs, 0, 'no time without a route while a node was healthy');
    assert.deepEqual(result.stale, [], 'nothing left behind after the agents stopped');
  } finally {
    await fleet.destroy();
  }
});
