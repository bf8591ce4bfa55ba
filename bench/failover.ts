// Failover in the namespace lab with real FRR and unbound: kill unbound on node a and time (a) kill to healthcast's
// decision, (b) decision to the address gone from node a's kernel, (c) address gone to the router's route changed,
// (d) the total; then the same for recovery. Node b serves the same anycast address throughout, so the router's
// route goes from ECMP (a + b) to b alone and back. One repetition also records a timeline SVG with client queries.
// Usage: node dist/bench/failover.js [repetitions]   (root; writes bench/results/failover.json, docs/failover-timeline.svg)
import fs from 'node:fs';
import path from 'node:path';
import { buildDnsAnycastLab, DNS_SERVICE } from '../lab/dns-anycast.js';
import type { Unbound } from '../lab/unbound.js';
import { waitFor } from '../lab/process.js';
import { repoRoot } from '../test/support/paths.js';
import { row, table, writeResult } from './lib/report.js';
import { failoverSvg, type ClientQuery } from './lib/failover-timeline.js';
import { reconcileSteps } from './lib/reconcile-cost.js';

const REPS = Number(process.argv[2] ?? process.env.BENCH_REPS ?? 20);
const INTERVAL_MS = 200;
const FALL = 2;
const RISE = 2;
const ANYCAST = '192.0.2.53';
const SERVICE = DNS_SERVICE;
// fast_interval side by side (issue 14): interval 1s, fall 3, with and without fast_interval 100ms.
const FAST_REPS = Number(process.env.BENCH_FAST_REPS ?? 5);
const FAST_VARIANTS = [
  { label: 'kill -> router without a: interval 1s, fall 3', service: { interval: '1s', timeout: '500ms', fall: 3, rise: 2 } },
  { label: 'kill -> router without a: same + fast_interval 100ms', service: { interval: '1s', timeout: '90ms', fall: 3, rise: 2, fast_interval: '100ms' } },
];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Sample {
  kill: number;
  decision: number;
  kernel: number;
  router: number;
  agentDecisionToKernelMs: number | undefined;
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the failover benchmark needs root (network namespaces)');
  const dns = await buildDnsAnycastLab({
    name: 'benchfo',
    addresses: [ANYCAST],
    serviceFor: () => ({ interval: `${INTERVAL_MS}ms`, rise: RISE, fall: FALL }),
    configExtra: { log_level: 'debug', reconcile_interval: '10s' },
  });
  const { lab, router, a, ifA, ifB, port, addressMonitor: nodeMon, routeMonitor: routerMon } = dns;
  const { a: agentA, b: agentB } = dns.agents;
  try {
    let unboundA: Unbound = dns.unbound.a;

    const failures: Sample[] = [];
    const recoveries: (Sample & { ready: number })[] = [];
    let svgFile: string | undefined;
    for (let rep = 0; rep < REPS; rep += 1) {
      const timeline = rep === 0;
      const client = timeline
        ? lab.startDaemon(router, 'client', process.execPath, [path.join(repoRoot, 'dist/bench/lib/dns-client.js'), ANYCAST, String(port), '10', '4500'])
        : undefined;
      await sleep(timeline ? 500 : 300 + Math.random() * 2 * INTERVAL_MS);
      const mark = { agent: agentA.lines().length, node: nodeMon.events.length, router: routerMon.events.length };
      const kill = Date.now();
      await unboundA.daemon.stop('SIGKILL');
      const down = await agentA.waitForPhase(SERVICE, 'down', { since: mark.agent, timeoutMs: 5000 });
      const gone = await nodeMon.waitFor('anycast address deleted', (e) => e.target === ANYCAST && e.deleted, { since: mark.node });
      const changed = await routerMon.waitFor(
        'route without node a',
        (e) => e.target === ANYCAST && !e.text.includes('table local') && !e.text.includes(`dev ${ifA}`),
        { since: mark.router },
      );
      const applied = await agentA.waitForLine('withdraw applied', (line) => line.msg === 'withdraw applied', { since: mark.agent });
      failures.push({
        kill,
        decision: down.time,
        kernel: gone.time,
        router: changed.time,
        agentDecisionToKernelMs: applied.decision_to_kernel_ms as number | undefined,
      });

      await sleep(timeline ? 800 : 300 + Math.random() * 2 * INTERVAL_MS);
      const mark2 = { agent: agentA.lines().length, node: nodeMon.events.length, router: routerMon.events.length };
      const start = Date.now();
      unboundA = await dns.startUnbound(a, `unbound-a${rep + 1}`);
      const ready = Date.now();
      const up = await agentA.waitForPhase(SERVICE, 'up', { since: mark2.agent, timeoutMs: 5000 });
      const added = await nodeMon.waitFor('anycast address added', (e) => e.target === ANYCAST && !e.deleted, { since: mark2.node });
      const back = await routerMon.waitFor('route via node a again', (e) => e.target === ANYCAST && !e.deleted && e.text.includes(`dev ${ifA}`), {
        since: mark2.router,
      });
      const appliedUp = await agentA.waitForLine('announce applied', (line) => line.msg === 'announce applied', { since: mark2.agent });
      recoveries.push({
        kill: start,
        ready,
        decision: up.time,
        kernel: added.time,
        router: back.time,
        agentDecisionToKernelMs: appliedUp.decision_to_kernel_ms as number | undefined,
      });

      if (client) {
        await sleep(400);
        await waitFor('client to finish', () => client.child.exitCode !== null, { timeoutMs: 10_000 });
        const clients = client
          .output()
          .split('\n')
          .filter((line) => line.startsWith('{'))
          .map((line) => JSON.parse(line) as ClientQuery);
        const svg = failoverSvg({
          start: kill - 400,
          end: back.time + 300,
          zero: kill,
          service: SERVICE,
          address: ANYCAST,
          agents: [
            { label: 'node a', lines: agentA.lines() },
            { label: 'node b', lines: agentB.lines() },
          ],
          nodeAddressEvents: nodeMon.events,
          routerRouteEvents: routerMon.events,
          routerIfA: ifA,
          routerIfB: ifB,
          clients,
          markers: [
            { time: kill, label: 'unbound on a killed' },
            { time: down.time, label: 'healthcast decides: down' },
            { time: gone.time, label: 'address gone from a' },
            { time: changed.time, label: 'router: route via b only' },
            { time: start, label: 'unbound on a restarted' },
            { time: up.time, label: 'healthcast decides: up' },
            { time: added.time, label: 'address back on a' },
            { time: back.time, label: 'router: route via a + b' },
          ],
        });
        svgFile = path.join(repoRoot, 'docs', 'failover-timeline.svg');
        fs.mkdirSync(path.dirname(svgFile), { recursive: true });
        fs.writeFileSync(svgFile, svg);
        const failed = clients.filter((query) => !query.ok && query.t >= kill && query.t <= back.time);
        process.stdout.write(`timeline: ${clients.length} client queries, ${failed.length} failed between the kill and the route coming back (${svgFile})\n`);
      }
      process.stdout.write(`rep ${rep + 1}/${REPS}: down total ${Math.round(changed.time - kill)} ms, up total ${Math.round(back.time - start)} ms\n`);
    }

    const split = (samples: readonly Sample[], label: string, targets: { b?: string; bc?: string; d?: string } = {}) => [
      row(
        `${label} (a) ${label === 'failure' ? 'kill' : 'restart'} -> decision`,
        'ms',
        samples.map((s) => s.decision - s.kill),
      ),
      row(
        `${label} (b) decision -> kernel`,
        'ms',
        samples.map((s) => s.kernel - s.decision),
        targets.b,
      ),
      row(
        `${label} (c) kernel -> router route`,
        'ms',
        samples.map((s) => s.router - s.kernel),
      ),
      row(
        `${label} (b)+(c)`,
        'ms',
        samples.map((s) => s.router - s.decision),
        targets.bc,
      ),
      row(
        `${label} (d) total`,
        'ms',
        samples.map((s) => s.router - s.kill),
        targets.d,
      ),
      row(
        `${label} agent's decision_to_kernel_ms`,
        'ms',
        samples.flatMap((s) => (s.agentDecisionToKernelMs === undefined ? [] : [s.agentDecisionToKernelMs])),
      ),
    ];
    const rows = [
      ...split(failures, 'failure', { b: 'median <= 5', bc: 'median <= 50', d: `median <= ${INTERVAL_MS * FALL + 60}` }),
      ...split(recoveries, 'recovery'),
      row(
        'recovery: unbound start -> ready',
        'ms',
        recoveries.map((s) => s.ready - s.kill),
      ),
    ];
    // Where (b) goes: the reconciler's steps one by one, with the same backend and store, in node a's namespace.
    const steps = await reconcileSteps(a.netns, path.join(a.dir, 'steps-state'), '198.51.100.250', REPS);
    rows.push(
      row('step: ip list (long-lived ip)', 'ms', steps.listMs),
      row('step: ip apply 1 op (long-lived ip)', 'ms', steps.applyMs),
      row('step: ownership save (atomic, no fsync)', 'ms', steps.saveMs),
    );
    // fast_interval: node a's agent replaced by one per variant; unbound killed FAST_REPS times at a random moment.
    const fastRows: ReturnType<typeof row>[] = [];
    agentA.signal('SIGTERM');
    await agentA.exited;
    for (const variant of FAST_VARIANTS) {
      const agent = await dns.startAgent(a, variant.service);
      await dns.waitForBothNodes();
      const samples: number[] = [];
      for (let rep = 0; rep < FAST_REPS; rep += 1) {
        await sleep(500 + Math.random() * 1000);
        const since = routerMon.events.length;
        const kill = Date.now();
        await unboundA.daemon.stop('SIGKILL');
        const changed = await routerMon.waitFor(
          'route without node a',
          (e) => e.target === ANYCAST && !e.text.includes('table local') && !e.text.includes(`dev ${ifA}`),
          {
            since,
          },
        );
        samples.push(changed.time - kill);
        unboundA = await dns.startUnbound(a, `unbound-fast-${fastRows.length}-${rep}`);
        await dns.waitForBothNodes();
      }
      fastRows.push(row(variant.label, 'ms', samples));
      agent.signal('SIGTERM');
      await agent.exited;
    }
    rows.push(...fastRows);
    process.stdout.write(
      `\n${table(`Failover, ${REPS} repetitions (interval ${INTERVAL_MS}ms, fall ${FALL}, rise ${RISE}, hold_down 0; FRR OSPF fast timers)`, rows)}\n`,
    );
    const file = writeResult('failover', {
      settings: {
        repetitions: REPS,
        intervalMs: INTERVAL_MS,
        fall: FALL,
        rise: RISE,
        holdDownMs: 0,
        anycast: ANYCAST,
        nodes: 2,
        timeline: svgFile ? path.relative(repoRoot, svgFile) : undefined,
      },
      rows,
      failures,
      recoveries,
      steps,
    });
    process.stdout.write(`\nwrote ${file}\n`);
  } finally {
    await lab.destroy();
  }
}

await main();
