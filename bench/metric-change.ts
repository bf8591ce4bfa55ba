// A metric change at the router, beside an announce: router + nodes a (metric 100) and b (metric 200) both holding
// the service addresses on lo, with the policy lines `healthcast frr-config` renders. The agent's own writer
// (DegradedLists, as src/core/routing-factory.ts builds it) moves a's address into the degraded list and back; the
// time is from the writer's kick to the router's kernel route moving to b (or back to a), from `ip monitor route`.
// Writers compared: the daemons' vty sockets (what the agent uses) and vtysh (the fallback, and what it used before).
// The announce figure: an address only a holds, added to / deleted from a's lo -> the router's route appears / goes.
// Plus IPv6 as an `announce: route` service (a kernel route of proto 201 on each node, redistributed): the agent then
// re-sends the route after the list change (src/frr/degraded-resend.ts), so ospf6d applies it without its 5 s timer.
// Usage: node dist/bench/metric-change.js [RUNS_V4=15] [RUNS_V6=4] [RUNS_ROUTE6=6]   (root; writes bench/results/metric-change.json)
import os from 'node:os';
import { buildAnycastLab } from '../lab/topology.js';
import { applyRenderedPolicy, labDegradedLists } from '../lab/policy.js';
import { startMonitor, type Monitor } from '../lab/monitor.js';
import { kernelRoute, nextHops } from '../lab/routes.js';
import { waitFor } from '../lab/process.js';
import type { DegradedAddress } from '../src/frr/degraded-plan.js';
import type { LabNode } from '../lab/lab.js';
import { row, table, writeResult, type Row } from './lib/report.js';

const RUNS_V4 = Number(process.argv[2] ?? 15);
const RUNS_V6 = Number(process.argv[3] ?? 4);
const RUNS_ROUTE6 = Number(process.argv[4] ?? 6);
// The IPv6 service announced as a kernel route, and the route protocol the agent gives its routes.
const ROUTED6 = '2001:db8:83::83';
const ROUTE_PROTOCOL = 201;
const ADDRESS = { 4: '192.0.2.81', 6: '2001:db8:81::81' } as const;
const ANNOUNCED = { 4: '192.0.2.89', 6: '2001:db8:89::89' } as const;
const METRIC = { a: 100, b: 200 } as const;
const DEGRADED_METRIC = 65000;
// ospf6d applies a changed route-map after a fixed 5 s (see docs/frr.md); give it room on a busy machine.
const TIMEOUT_MS = 15_000;

type Family = 4 | 6;
const cidr = (address: string) => `${address}/${address.includes(':') ? 128 : 32}`;
const load = () => os.loadavg()[0]!.toFixed(2);

async function addressCommand(node: LabNode, verb: 'add' | 'del', address: string): Promise<void> {
  const args = [
    ...(address.includes(':') ? ['-6'] : []),
    'address',
    verb,
    cidr(address),
    'dev',
    'lo',
    ...(verb === 'add' && address.includes(':') ? ['nodad'] : []),
  ];
  await node.exec('ip', args); // rejects with ip's stderr
}

// The router's route to `address` replaced by one via `dev` (or deleted / added, for the announce figure).
function routeEvent(monitor: Monitor, address: string, since: number, match: { via?: string; deleted?: boolean }) {
  return monitor.waitFor(
    `${address} ${match.via ? `via ${match.via}` : match.deleted ? 'deleted' : 'added'}`,
    (event) =>
      event.target === address &&
      event.deleted === (match.deleted ?? false) &&
      (match.via === undefined || new RegExp(` dev ${match.via}(\\s|$)`).test(event.text)),
    { since, timeoutMs: TIMEOUT_MS },
  );
}

interface Sample {
  ms: number;
  writeMs: number;
  load: string;
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the metric-change benchmark needs root (network namespaces)');
  const topology = await buildAnycastLab({ nodes: 2, name: 'metric' });
  const { router, nodes, links } = topology;
  const [a, b] = nodes as [LabNode, LabNode];
  const [ifA, ifB] = links.map((link) => link.aIf) as [string, string];
  const monitor = await startMonitor(router.netns, 'route');
  const samples = new Map<string, Sample[]>();
  const add = (name: string, sample: Sample) => samples.set(name, [...(samples.get(name) ?? []), sample]);
  let degraded: DegradedAddress[] = [];
  const writers = {
    sockets: labDegradedLists(a, () => degraded),
    vtysh: labDegradedLists(a, () => degraded, { via: 'vtysh' }),
    'sockets + route re-sent': labDegradedLists(a, () => degraded, { routeProtocol: ROUTE_PROTOCOL }),
  };
  try {
    for (const node of [a, b]) {
      await applyRenderedPolicy(node, [
        { addresses: [ADDRESS[4], ADDRESS[6], ROUTED6], metric: METRIC[node.name as 'a' | 'b'], degradedMetric: DEGRADED_METRIC },
      ]);
      for (const address of [ADDRESS[4], ADDRESS[6]]) await addressCommand(node, 'add', address);
      await node.exec('ip', ['-6', 'route', 'add', cidr(ROUTED6), 'dev', 'lo', 'proto', String(ROUTE_PROTOCOL)]);
    }
    const viaAOnly = async () => {
      for (const address of [ADDRESS[4], ADDRESS[6], ROUTED6]) {
        const route = await kernelRoute(router, cidr(address));
        if (
          !route ||
          nextHops(route).join(',') !==
            nextHops(route)
              .filter((hop) => hop.endsWith(`@${ifA}`))
              .join(',') ||
          nextHops(route).length !== 1
        )
          return false;
      }
      return true;
    };
    await waitFor('the router to route both addresses via a (metric 100) alone', viaAOnly, { timeoutMs: 30_000, intervalMs: 20 });
    for (const lists of Object.values(writers)) await lists.start();
    process.stdout.write(`sockets writer targets: ${writers.sockets.targets().join(', ')}; vtysh writer: ${writers.vtysh.targets().join(', ')}\n`);

    // One metric change: degraded (to b) or back (to a), through one writer.
    const change = async (name: keyof typeof writers, what: string, address: string, toDegraded: boolean, quietMs = 300) => {
      const lists = writers[name];
      let writeMs = Number.NaN;
      lists.onApplied = (_lines, ms) => (writeMs = ms);
      degraded = toDegraded ? [{ address, metric: DEGRADED_METRIC }] : [];
      const since = monitor.events.length;
      const started = Date.now();
      await lists.kick();
      const event = await routeEvent(monitor, address, since, { via: toDegraded ? ifB : ifA });
      const sample = { ms: event.time - started, writeMs, load: load() };
      add(`${what} metric change, ${name}`, sample);
      process.stdout.write(
        `${what} ${name} ${toDegraded ? 'degrade' : 'recover'}: ${Math.round(sample.ms)} ms (write ${writeMs.toFixed(1)} ms, load ${sample.load})\n`,
      );
      // The quiet period a real change comes after (and ospf6d's timer re-armed from scratch).
      await new Promise((resolve) => setTimeout(resolve, quietMs));
    };
    const announce = async (family: Family) => {
      for (const verb of ['add', 'del'] as const) {
        const since = monitor.events.length;
        const started = Date.now();
        await addressCommand(a, verb, ANNOUNCED[family]);
        const event = await routeEvent(monitor, ANNOUNCED[family], since, { deleted: verb === 'del' });
        add(`IPv${family} announce (${verb === 'add' ? 'address added on lo' : 'address deleted'})`, {
          ms: event.time - started,
          writeMs: Number.NaN,
          load: load(),
        });
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
    };
    for (const [family, runs] of [
      [4, RUNS_V4],
      [6, RUNS_V6],
    ] as const) {
      // ospf6d's 5 s timer, if something armed it before the first IPv6 change, must not be what moves the route.
      if (family === 6) await new Promise((resolve) => setTimeout(resolve, 5500));
      for (let run = 0; run < runs; run += 1) {
        // Interleaved, so the machine's load (shared with other workers) falls on both writers alike.
        for (const name of ['sockets', 'vtysh'] as const) {
          await change(name, `IPv${family}`, ADDRESS[family], true);
          await change(name, `IPv${family}`, ADDRESS[family], false);
        }
        await announce(family);
      }
    }
    // After ospf6d's own 5 s timer of the change before has passed, so it cannot be what moved the route.
    await new Promise((resolve) => setTimeout(resolve, 5500));
    for (let run = 0; run < RUNS_ROUTE6; run += 1) {
      for (const toDegraded of [true, false]) await change('sockets + route re-sent', 'IPv6 announce: route', ROUTED6, toDegraded, 5500);
    }
  } finally {
    for (const lists of Object.values(writers)) lists.stop();
    await monitor.stop();
    await topology.lab.destroy();
  }
  const rows: Row[] = [...samples].map(([name, list]) =>
    row(
      name,
      'ms',
      list.map((sample) => sample.ms),
      name.includes('sockets') && !name.includes('write') ? '< 100 (median)' : undefined,
    ),
  );
  const writeRows: Row[] = [...samples]
    .filter(([name]) => name.includes('metric change'))
    .map(([name, list]) =>
      row(
        `${name}: the write itself`,
        'ms',
        list.map((sample) => sample.writeMs),
      ),
    );
  const loads = [...samples.values()].flat().map((sample) => Number(sample.load));
  process.stdout.write(
    `\n${table('Router kernel route moved (metric change) or appeared/went (announce), from the start of the change', [...rows, ...writeRows])}\n`,
  );
  process.stdout.write(`load average (1 min) during the runs: ${Math.min(...loads).toFixed(2)}-${Math.max(...loads).toFixed(2)}\n`);
  const file = writeResult('metric-change', {
    settings: {
      runsV4: RUNS_V4,
      runsV6: RUNS_V6,
      runsRoute6: RUNS_ROUTE6,
      metric: METRIC,
      degradedMetric: DEGRADED_METRIC,
      topology: 'router + a + b, lab FRR fast timers, rendered policy levels',
    },
    rows: [...rows, ...writeRows],
    samples: Object.fromEntries(samples),
  });
  process.stdout.write(`wrote ${file}\n`);
}

await main();
