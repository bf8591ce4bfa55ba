// Flapping: a service that goes up and down every 300 ms for 20 s, seen at the router (real FRR, fast timers).
// Node a runs without hold_down: route changes are bounded by the health flips themselves. Node b runs with
// hold_down 3s (minimum time from a withdrawal to the next announce): a few changes, each re-announce >= 3 s later.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { requirePrerequisites } from '../support/prereq.js';
import { buildAnycastLab } from '../../lab/topology.js';
import { waitForRoute } from '../../lab/routes.js';
import type { LabNode } from '../../lab/lab.js';
import { agentConfig, startAgent } from '../../lab/healthcast.js';
import { startMonitor, type NetlinkEvent } from '../../lab/monitor.js';

const COMMANDS = ['ip', 'vtysh', '/usr/lib/frr/zebra', '/usr/lib/frr/ospfd', '/usr/lib/frr/ospf6d'];
const FLAP_MS = 300;
const DURATION_MS = 20_000;
const HOLD_DOWN_MS = 3000;
const INTERVAL_MS = 100;
// FRR's propagation jitter between two changes seen at the router (lab-notes: 26-38 ms per change).
const JITTER_MS = 100;
const A = '192.0.2.61';
const B = '192.0.2.62';

function service(address: string, flag: string, holdDown: string): Record<string, unknown> {
  return {
    name: 'flappy',
    addresses: [address],
    interval: `${INTERVAL_MS}ms`,
    timeout: '90ms',
    rise: 1,
    fall: 1,
    hold_down: holdDown,
    probes: [{ type: 'exec', command: ['/usr/bin/test', '-e', flag] }],
  };
}

// Each announce's delay after the withdrawal before it.
function reannounceDelays(events: readonly NetlinkEvent[]): number[] {
  const delays: number[] = [];
  let withdrawnAt: number | undefined;
  for (const event of events) {
    if (event.deleted) withdrawnAt = event.time;
    else if (withdrawnAt !== undefined) {
      delays.push(event.time - withdrawnAt);
      withdrawnAt = undefined;
    }
  }
  return delays;
}

test('flapping every 300 ms for 20 s: bounded route changes at the router, and hold_down damps them', { timeout: 90_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, commands: COMMANDS })) return;
  const topology = await buildAnycastLab({ nodes: 2, name: 'flap' });
  const { lab, router } = topology;
  const [a, b] = topology.nodes as [LabNode, LabNode];
  let flapper: NodeJS.Timeout | undefined;
  try {
    const flag = path.join(lab.dir, 'healthy');
    fs.writeFileSync(flag, '');
    await startAgent(lab, a, { config: (stateDir) => agentConfig(stateDir, [service(A, flag, '0ms')]) });
    await startAgent(lab, b, { config: (stateDir) => agentConfig(stateDir, [service(B, flag, `${HOLD_DOWN_MS}ms`)]) });
    await Promise.all([waitForRoute(router, `${A}/32`, true, 15_000), waitForRoute(router, `${B}/32`, true, 15_000)]);
    const monitor = await startMonitor(router.netns, 'route');

    let toggles = 0;
    const started = Date.now();
    flapper = setInterval(() => {
      if (fs.existsSync(flag)) fs.rmSync(flag);
      else fs.writeFileSync(flag, '');
      toggles += 1;
    }, FLAP_MS);
    await new Promise((resolve) => setTimeout(resolve, DURATION_MS));
    clearInterval(flapper);
    flapper = undefined;
    fs.writeFileSync(flag, '');
    const ended = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 500));
    const window = (address: string) => monitor.about(address).filter((e) => !e.text.includes('table local') && e.time >= started && e.time <= ended + 500);
    const changesA = window(A);
    const changesB = window(B);
    t.diagnostic(
      `${toggles} health flips; route changes at the router: ${changesA.length} without hold_down, ${changesB.length} with hold_down ${HOLD_DOWN_MS} ms`,
    );

    // Without hold_down: every flip may move the route, never more than that (one change per flip at most).
    assert.ok(changesA.length <= toggles + 1, `without hold_down: ${changesA.length} route changes for ${toggles} flips`);
    assert.ok(changesA.length >= toggles / 2, `the service really flapped at the router (${changesA.length} changes for ${toggles} flips)`);

    // With hold_down: at most one announce per hold_down period (plus the one at the end), each after the full hold-down.
    const announces = changesB.filter((e) => !e.deleted).length;
    const maxAnnounces = Math.floor(DURATION_MS / HOLD_DOWN_MS) + 1;
    assert.ok(announces <= maxAnnounces, `with hold_down: ${announces} announces in ${DURATION_MS} ms (at most ${maxAnnounces})`);
    assert.ok(changesB.length <= 2 * maxAnnounces, `with hold_down: ${changesB.length} route changes (at most ${2 * maxAnnounces})`);
    const delays = reannounceDelays(changesB);
    t.diagnostic(`with hold_down, withdrawal -> next announce at the router: ${delays.map(Math.round).join(', ')} ms`);
    for (const delay of delays)
      assert.ok(delay >= HOLD_DOWN_MS - JITTER_MS, `a re-announce came ${Math.round(delay)} ms after its withdrawal (hold_down ${HOLD_DOWN_MS} ms)`);
    assert.ok(changesB.length < changesA.length / 3, `hold_down cut route changes from ${changesA.length} to ${changesB.length}`);

    // Healthy again at the end: both announced.
    await Promise.all([waitForRoute(router, `${A}/32`, true, 5000), waitForRoute(router, `${B}/32`, true, HOLD_DOWN_MS + 5000)]);
    await monitor.stop();
  } finally {
    if (flapper) clearInterval(flapper);
    await lab.destroy();
  }
});
