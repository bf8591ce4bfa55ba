// Flap damping in the two-node lab (issue 14): node a's service flips every 300 ms (an exec probe on the clock) for
// 30 s; the router's route changes for the address are counted with and without damping. b stays up throughout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { requirePrerequisites } from '../support/prereq.js';
import { buildDnsAnycastLab } from '../../lab/dns-anycast.js';

const COMMANDS = ['ip', 'sysctl', 'vtysh', 'unbound', 'sh', 'date', '/usr/lib/frr/zebra', '/usr/lib/frr/ospfd', '/usr/lib/frr/ospf6d'];
const V4 = '192.0.2.72';
const FLAP_MS = 30_000;
// Healthy for 300 ms, failing for 300 ms, by the wall clock: no state shared with the test.
const FLIPPING = ['sh', '-c', 'test $(( $(date +%s%N) / 300000000 % 2 )) -eq 0'];

test('damping: a service flipping every 300 ms for 30 s moves the router a few times instead of ~100', { timeout: 200_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, commands: COMMANDS })) return;
  const lab = await buildDnsAnycastLab({ name: 'e2edamp', addresses: [V4] });
  try {
    const { a, ifA, routeMonitor } = lab;
    lab.agents.a.signal('SIGTERM');
    await lab.agents.a.exited;
    const changes: Record<string, number> = {};
    for (const [label, damping] of [
      ['without damping', false],
      ['with damping', { half_life: '60s' }],
    ] as const) {
      const agent = await lab.startAgent(a, {
        interval: '100ms',
        timeout: '90ms',
        rise: 1,
        fall: 1,
        hold_down: '0ms',
        damping,
        probes: [{ type: 'exec', command: FLIPPING }],
      });
      const since = routeMonitor.events.length;
      await new Promise((resolve) => setTimeout(resolve, FLAP_MS));
      // A change: the route to the address gains or loses the next hop via a.
      let viaA: boolean | undefined;
      let count = 0;
      for (const event of routeMonitor.events.slice(since)) {
        if (event.target !== V4 || event.text.includes('table local')) continue;
        const now = !event.deleted && event.text.includes(`dev ${ifA}`);
        if (viaA !== undefined && now !== viaA) count += 1;
        viaA = now;
      }
      changes[label] = count;
      agent.signal('SIGTERM');
      await agent.exited;
    }
    t.diagnostic(`route changes at the router in ${FLAP_MS / 1000} s: ${JSON.stringify(changes)}`);
    // Without damping every flip moves the router (~100 in 30 s); with it the third flap suppresses the service.
    assert.ok(changes['without damping']! >= 20, `without damping the router follows the flaps (${changes['without damping']})`);
    assert.ok(changes['with damping']! <= 8, `with damping it stops (${changes['with damping']})`);
  } finally {
    await lab.destroy();
  }
});
