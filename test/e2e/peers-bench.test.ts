// bench/peers.ts in its short mode (one run, a 10 s window, 10 services, each system once), so the benchmark cannot
// rot: BIRD 2, ExaBGP with its healthcheck, healthcast in both BGP modes (and bgp with a drain that holds the
// statement back), all started and stopped, the table printed and the JSON written. Afterwards no bird or exabgp
// process of ours is left.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { requirePrerequisites } from '../support/prereq.js';
import { repoRoot } from '../support/paths.js';
import { BGP_LAB_COMMANDS } from '../integration/routing/bgp-lab.js';

interface ShortResult {
  results: {
    system: string;
    services: number;
    reps: { failoverMs?: number; failDecisionToRouterMs?: number; recoverDecisionToRouterMs?: number }[];
    cpu: { perCheckMs: number; checks: number };
    mismatchWarnings?: number;
  }[];
}

// Processes whose command line names this file's lab (hc-lab-peerss-...): ours, whatever their name.
function leftovers(): string[] {
  const found: string[] = [];
  for (const pid of fs.readdirSync('/proc').filter((entry) => /^\d+$/.test(entry))) {
    try {
      const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (/hc-lab-peerss-/.test(cmdline) && /(bird|exabgp)/.test(cmdline)) found.push(`${pid}: ${cmdline}`);
    } catch {
      // gone
    }
  }
  return found;
}

test('bench/peers --short: every system measured, healthcast bgp timed end to end, nothing left running', { timeout: 600_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, commands: [...BGP_LAB_COMMANDS, 'unbound', 'dig', '/usr/sbin/bird', '/usr/sbin/birdc', '/usr/sbin/exabgp'] }))
    return;
  const result = spawnSync(process.execPath, [path.join(repoRoot, 'dist/bench/peers.js'), '--short'], { encoding: 'utf8', timeout: 540_000 });
  t.diagnostic(result.stdout.split('\n').slice(-30).join('\n'));
  assert.equal(result.status, 0, `${result.stdout.slice(-3000)}\n${result.stderr.slice(-3000)}`);
  assert.match(result.stdout, /^Peers: ExaBGP healthcheck vs healthcast/m);
  const json = JSON.parse(fs.readFileSync(path.join(repoRoot, 'bench/results/peers-short.json'), 'utf8')) as ShortResult;
  assert.deepEqual(json.results.map((r) => r.system).sort(), ['exabgp', 'hc-address', 'hc-bgp', 'hc-bgp-drain']);
  for (const run of json.results) {
    assert.equal(run.services, 10);
    assert.ok(run.cpu.checks > 0 && Number.isFinite(run.cpu.perCheckMs), `${run.system}: CPU per check measured`);
    // Nothing else announces the service addresses here: an "advertisement mismatch" warning would be false.
    if (run.system.startsWith('hc-')) assert.equal(run.mismatchWarnings, 0, `${run.system}: no false advertisement mismatch`);
  }
  const bgp = json.results.find((r) => r.system === 'hc-bgp');
  assert.ok(bgp?.reps[0]?.failoverMs !== undefined, 'healthcast bgp: the route left the router after the kill');
  assert.ok(bgp?.reps[0]?.failDecisionToRouterMs !== undefined, 'healthcast bgp: decision -> router measured');
  // The statement held back through the drain (frr-config's hold list) and released: both ways at the router.
  const held = json.results.find((r) => r.system === 'hc-bgp-drain');
  assert.ok(held?.reps[0]?.failDecisionToRouterMs !== undefined, 'healthcast bgp, draining: the route left the router');
  assert.ok(held?.reps[0]?.recoverDecisionToRouterMs !== undefined, 'healthcast bgp, draining: the route came back');
  assert.deepEqual(leftovers(), [], 'no bird or exabgp left running');
});
