// An agent someone else froze (SIGSTOP, a debugger, a cgroup freeze) or whose loop was blocked: on the ManualClock a
// freeze is a jump of time with no timer firing. The agent notices the gap, logs it once and starts every service
// afresh: nothing it announced before comes back on the strength of health from before the freeze.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { buildAgent } from '../../../src/core/agent.js';
import { Reconciler } from '../../../src/routing/reconciler.js';
import { MemoryBackend } from '../../../src/routing/memory-backend.js';
import { MemoryOwnershipStore } from '../../../src/routing/ownership.js';
import type { ReconcileReport } from '../../../src/routing/types.js';
import { ManualClock } from '../../support/manual-clock.js';
import { agentConfig, serviceConfig, switchProbe } from '../../support/agent-fixtures.js';

const LEASE_MS = 3000;
const DNS = { kind: 'address' as const, address: '192.0.2.53', interface: 'lo' };

interface LogLine {
  level: number;
  msg: string;
  gap_ms?: number;
}

function harness(rise = 3) {
  const probe = switchProbe();
  const backend = new MemoryBackend();
  const clock = new ManualClock();
  const logs: LogLine[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) });
  const reports: ReconcileReport[] = [];
  const agent = buildAgent({
    config: agentConfig([serviceConfig('dns', [DNS.address], probe.definition, { rise, intervalMs: 100, timeoutMs: 50 })], { leaseMs: LEASE_MS }),
    clock,
    log,
    splay: false,
    routing: ({ desired, onReport }) =>
      new Reconciler({
        backend,
        ownership: new MemoryOwnershipStore(),
        desired,
        onReport: (report) => {
          reports.push(report);
          onReport(report);
        },
        log,
        driftIntervalMs: 1000,
        clock,
        leaseMs: LEASE_MS,
      }),
  });
  const present = () => backend.has(DNS);
  const freezeLines = () => logs.filter((line) => /did not run for/.test(line.msg));
  return { probe, backend, clock, agent, present, logs, reports, freezeLines };
}

// SIGSTOP beyond the lease: no timer fires, the kernel expires the address.
function freezeBeyondTheLease(h: ReturnType<typeof harness>): void {
  h.clock.jump(LEASE_MS + 2000);
  h.backend.removeExternally(DNS);
}

test('a service that died during the freeze never comes back: the first pass after it already asks about the freeze', async (t) => {
  const h = harness();
  t.after(() => h.agent.shutdown());
  await h.agent.start();
  assert.ok(await h.clock.until(h.present), 'announced');
  freezeBeyondTheLease(h);
  h.probe.healthy.set('dns', false);
  // A pass before any timer: with the old behaviour it re-added the address as drift (health still said up).
  await h.agent.repair();
  assert.equal(h.present(), false, 'not re-added');
  assert.equal(h.agent.status()[0]?.phase, 'init', 'health starts afresh');
  await h.clock.advance(5000);
  assert.equal(h.present(), false, 'never re-added');
  assert.equal(h.agent.status()[0]?.phase, 'down');
  assert.deepEqual(
    h.freezeLines().map((line) => [line.level, line.gap_ms]),
    [[40, LEASE_MS + 2000]],
    'logged once, with the gap',
  );
  assert.equal(h.reports.flatMap((report) => report.expired ?? []).length, 1, 'the expiry is still counted');
  assert.ok(h.logs.some((line) => /^the lease of 192\.0\.2\.53 ran out before it was renewed .*not re-added$/.test(line.msg)));
});

test('a healthy service comes back only after rise fresh successes, whichever timer fires first after the freeze', async (t) => {
  const h = harness(3);
  t.after(() => h.agent.shutdown());
  await h.agent.start();
  assert.ok(await h.clock.until(h.present), 'announced');
  freezeBeyondTheLease(h);
  const callsBefore = h.probe.calls.get('dns') ?? 0;
  await h.clock.advance(0); // every timer that fell due fires late: renewal, drift pass, probe slots, the watchdog
  assert.equal(h.present(), false, 'not re-added on the old health');
  assert.ok(await h.clock.until(h.present), 're-announced');
  assert.ok((h.probe.calls.get('dns') ?? 0) - callsBefore >= 3, 'after rise=3 probes since the freeze');
  assert.equal(h.freezeLines().length, 1);
  assert.equal(h.agent.status()[0]?.phase, 'up');
});

test('a loop that runs late but on the whole on time, or a pause of its own (SIGTSTP), is no freeze', async (t) => {
  const h = harness(2);
  t.after(() => h.agent.shutdown());
  await h.agent.start();
  assert.ok(await h.clock.until(h.present), 'announced');
  for (let i = 0; i < 20; i += 1) {
    h.clock.jump(300); // a busy machine: every timer runs 300 ms late
    await h.clock.advance(200);
  }
  assert.equal(h.present(), true);
  assert.equal(h.agent.status()[0]?.phase, 'up');
  await h.agent.pause();
  h.clock.jump(60_000); // stopped by itself after withdrawing everything
  await h.agent.resume();
  await h.clock.advance(0);
  assert.ok(await h.clock.until(h.present), 're-announced after the resume');
  assert.deepEqual(h.freezeLines(), []);
});
