// Side by side with a peer: ExaBGP 4.2 with its healthcheck program (one process per service, as its documentation
// configures it) and healthcast (`announce: bgp`, and `announce: address` through FRR's bgpd), each announcing to the
// same BIRD 2 router over eBGP, probing the same local unbound with the same interval, fall, rise and timeout. The
// systems run one after the other, never together. Per system and service count: failover (unbound killed -> the
// first service's route gone from the router's kernel) and recovery (unbound restarted -> route back), the part from
// the system's own decision (its log) to the router, CPU per check over the whole process tree (children included;
// healthcast also with FRR's zebra+bgpd, which do its BGP), and peak PSS.
// ExaBGP runs twice: with --withdraw-on-down (timed), and with its default, which re-announces a failing service
// with MED 1000 instead of withdrawing it (checked: the route stays at the router).
// Usage: node dist/bench/peers.js [REPS=10] [WINDOW_S=30] [COUNTS=10,50] [HC_LARGE=1000]   (root)
//        node dist/bench/peers.js --short   (one run, 10 s window, 10 services; test/e2e/peers-bench.test.ts)
// BENCH_AGENT_NODE_OPTIONS: node flags for healthcast's agent (a CPU profile: bench/lib/cpu-profile-preload.ts).
// BENCH_PEERS_SYSTEMS=exabgp,exabgp-med,hc-bgp,hc-address picks systems (also hc-bgp-nohold: announce: bgp without
// frr-config's outbound hold list, so every withdrawal waits for bgpd's route work queue; and hc-bgp-drain: announce:
// bgp with drain_on_failure and a drain longer than the outage, so the statement is held back, not removed, and the
// recovery only deletes its deny entry).
import { Lab, type LabLink, type LabNode } from '../lab/lab.js';
import { startFrr, vtysh, type FrrInstance } from '../lab/frr.js';
import { holdListLines } from '../lab/frr-config.js';
import { startBird, type BirdRouter } from '../lab/bird.js';
import { startExabgp, processTree, type Exabgp } from '../lab/exabgp.js';
import { startMonitor, type Monitor } from '../lab/monitor.js';
import { freePort, type Unbound } from '../lab/unbound.js';
import { kernelRoutes } from '../lab/netns.js';
import { waitFor } from '../lab/process.js';
import { agentConfig, startAgent, type AgentProcess } from '../lab/healthcast.js';
import { row, table, writeResult, type Row } from './lib/report.js';
import { treeCpuSeconds, treePssKb } from './lib/proctree.js';
import { scrapeMetrics } from './lib/metrics-scrape.js';

const SHORT = process.argv.includes('--short');
const args = process.argv.slice(2).filter((arg) => !arg.startsWith('--'));
const REPS = SHORT ? 1 : Number(args[0] ?? 10);
const WINDOW_S = SHORT ? 10 : Number(args[1] ?? 30);
const COUNTS = SHORT ? [10] : (args[2] ?? '10,50').split(',').map(Number);
const HC_LARGE = SHORT ? 0 : Number(args[3] ?? 1000);
const SYSTEMS = (
  process.env.BENCH_PEERS_SYSTEMS ?? (SHORT ? 'exabgp,hc-bgp,hc-bgp-drain,hc-address' : 'exabgp,exabgp-med,hc-bgp,hc-bgp-drain,hc-address')
).split(',') as System[];
// Whole seconds (ExaBGP's healthcheck takes no less). On a busy 2-core machine a 1 s timeout made 10 ExaBGP checks time
// out (Python + dig starting under load): the short mode uses 2 s for both systems (and interval 2 s: healthcast takes
// no timeout longer than the interval); BENCH_PEERS_INTERVAL_S and BENCH_PEERS_TIMEOUT_S set them.
const INTERVAL_S = Number(process.env.BENCH_PEERS_INTERVAL_S ?? (SHORT ? 2 : 1));
const TIMEOUT_S = Number(process.env.BENCH_PEERS_TIMEOUT_S ?? (SHORT ? 2 : 1));
const RISE = 2;
const FALL = 2;
const NODE_AS = 65001;
const ROUTER_AS = 65000;
const RECORD = { name: 'probe.test', type: 'A', value: '192.0.2.1' };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type System = 'exabgp' | 'exabgp-med' | 'hc-bgp' | 'hc-bgp-nohold' | 'hc-bgp-drain' | 'hc-address';
type HcSystem = 'hc-bgp' | 'hc-bgp-nohold' | 'hc-bgp-drain' | 'hc-address';

// hc-bgp-drain: longer than kill -> withdrawn -> restarted -> risen again (the bench waits 1-2 s before the restart).
const DRAIN_S = (FALL + RISE + 2) * INTERVAL_S;

// Service i's address: 192.0.2.0/24 (the lab's redistribution filter) up to 254, then the benchmarking range.
const peerAddress = (i: number) => (i < 254 ? `192.0.2.${i + 1}` : `198.18.${Math.floor(i / 256)}.${i % 256}`);
const serviceName = (i: number) => `svc${String(i).padStart(4, '0')}`;

interface Rep {
  failoverMs?: number;
  allGoneMs?: number;
  failDecisionToRouterMs?: number;
  recoveryMs?: number;
  recoverDecisionToRouterMs?: number;
  // healthcast's own figure: decision -> its pass applied (the write done and the listing after it), and that pass.
  failAppliedMs?: number;
  failPassMs?: number;
}

interface RunResult {
  system: System;
  services: number;
  reps: Rep[];
  cpu: {
    windowS: number;
    checks: number;
    treeCpuS: number;
    frrCpuS?: number;
    perCheckMs: number;
    withFrrPerCheckMs?: number;
    corePercent: number;
    checksPerS: number;
  };
  peakPssMb: number;
  stop?: { cleanExit: boolean; killed: number; ms: number };
  med1000KeptRoute?: boolean;
  mismatchWarnings?: number;
  notes: string[];
}

// What one system looks like to the bench while it runs.
interface Running {
  pids(): number[];
  frrPids?: () => number[];
  // Time of the system's decision for service 0 after `since` (down: withdraw; up: announce), from its own log.
  decision(up: boolean, since: number): number | undefined;
  // healthcast: its `withdraw applied` line for service 0 (decision_to_kernel_ms, reconcile_ms).
  applied?(since: number): { decisionToKernelMs: number; passMs: number } | undefined;
  dump?(since: number): void;
  // healthcast: how many "advertisement mismatch" warnings it logged (nothing else announces here: each is false).
  mismatches?(): number;
  // Checks done so far (healthcast: its metrics; ExaBGP: one re-announce per check of an up service).
  checks(): Promise<number>;
  stop(): Promise<RunResult['stop']>;
}

interface Bench {
  lab: Lab;
  router: LabNode;
  node: LabNode;
  link: LabLink;
  bird: BirdRouter;
  routes: Monitor;
  port: number;
  unbound: Unbound;
  unbounds: number;
  frrRuns: number;
}

async function routesPresent(bench: Bench, addresses: readonly string[]): Promise<number> {
  const present = new Set((await kernelRoutes(bench.router.netns, 4)).map((route) => route.dst));
  return addresses.filter((address) => present.has(`${address}/32`)).length;
}

async function waitRoutes(bench: Bench, addresses: readonly string[], all: boolean, timeoutMs: number): Promise<void> {
  await waitFor(
    `${all ? 'all' : 'none'} of ${addresses.length} routes at the router`,
    async () => (await routesPresent(bench, addresses)) === (all ? addresses.length : 0),
    { timeoutMs, intervalMs: 100 },
  );
}

function eventAfter(bench: Bench, address: string, deleted: boolean, since: number): number | undefined {
  return bench.routes.events.find((event) => event.target === address && event.deleted === deleted && event.time >= since)?.time;
}

// A restart can still meet "address already in use" for a moment (the killed unbound's socket not yet released):
// try again, a few times.
async function restartUnbound(bench: Bench): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    bench.unbounds += 1;
    try {
      bench.unbound = await bench.lab.startUnbound(bench.node, {
        port: bench.port,
        addresses: ['127.0.0.1'],
        records: [RECORD],
        name: `unbound${bench.unbounds}`,
      });
      return;
    } catch (error) {
      if (attempt >= 5 || !/address already in use/.test((error as Error).message)) throw error;
      process.stdout.write(`unbound: port ${bench.port} in use, attempt ${attempt + 1} in 1 s\n`);
      await sleep(1000);
    }
  }
}

async function startHealthcast(bench: Bench, system: HcSystem, count: number): Promise<Running> {
  bench.frrRuns += 1;
  const frr: FrrInstance = await startFrr({
    netns: bench.node.netns,
    dir: `${bench.node.dir}/frr-${bench.frrRuns}`,
    hostname: 'a',
    routerId: '0.0.0.2',
    interfaces: bench.node.interfaces,
    announce: system === 'hc-address',
    bgp: { asn: NODE_AS, neighbors: [{ address: bench.link.aV4, asn: ROUTER_AS }] },
  });
  if (system === 'hc-bgp' || system === 'hc-bgp-drain')
    await vtysh(frr.dir, ['configure terminal', ...holdListLines(NODE_AS, [bench.link.aV4])]).catch(async (error: unknown) => {
      await frr.stop();
      throw error;
    });
  const metricsPort = await freePort();
  const services = Array.from({ length: count }, (_, i) => ({
    name: serviceName(i),
    addresses: [peerAddress(i)],
    announce: system === 'hc-address' ? 'address' : 'bgp',
    interval: `${INTERVAL_S}s`,
    timeout: `${TIMEOUT_S}s`,
    rise: RISE,
    fall: FALL,
    hold_down: '0s',
    ...(system === 'hc-bgp-drain' ? { drain: `${DRAIN_S}s`, drain_on_failure: true } : {}),
    probes: [{ type: 'dns', server: '127.0.0.1', port: bench.port, query: RECORD.name, qtype: 'A', expect_answer: RECORD.value }],
  }));
  let agent: AgentProcess;
  try {
    agent = await startAgent(bench.lab, bench.node, {
      name: `healthcast-${bench.frrRuns}`,
      config: (stateDir) =>
        agentConfig(stateDir, services, {
          reconcile_interval: '10s',
          lease: '0s',
          log_level: process.env.BENCH_PEERS_LOG_LEVEL ?? 'info',
          frr: { vty_socket: frr.dir, asn: NODE_AS, protocol: 'bgp' },
          metrics: { listen: `127.0.0.1:${metricsPort}` },
        }),
      keepDebug: process.env.BENCH_PEERS_LOG_LEVEL === 'debug',
      timeoutMs: 60_000,
      // Node flags for the agent alone, to profile it (e.g. "--import=.../cpu-profile-preload.js" with CPU_PROFILE_FILE).
      ...(process.env.BENCH_AGENT_NODE_OPTIONS ? { env: { NODE_OPTIONS: process.env.BENCH_AGENT_NODE_OPTIONS } } : {}),
    });
  } catch (error) {
    await frr.stop();
    throw error;
  }
  const first = serviceName(0);
  return {
    pids: () => processTree(agent.pid),
    frrPids: () => frr.daemons.map((daemon) => daemon.pid),
    decision: (up, since) => agent.lines().find((line) => line.service === first && line.to === (up ? 'up' : 'down') && line.time >= since)?.time,
    dump: (since) => {
      for (const line of agent.lines().filter((entry) => entry.time >= since - 100 && entry.time <= since + 6000))
        process.stdout.write(`${line.time - since} ${JSON.stringify(line).slice(0, 300)}\n`);
    },
    mismatches: () => agent.lines().filter((entry) => typeof entry.msg === 'string' && entry.msg.startsWith('advertisement mismatch')).length,
    applied: (since) => {
      const line = agent.lines().find((entry) => entry.service === first && entry.msg === 'withdraw applied' && entry.time >= since);
      return line ? { decisionToKernelMs: Number(line.decision_to_kernel_ms), passMs: Number(line.reconcile_ms) } : undefined;
    },
    checks: async () => {
      const scrape = await scrapeMetrics(bench.node, metricsPort);
      return scrape.results.ok + scrape.results.fail;
    },
    stop: async () => {
      const began = Date.now();
      agent.signal('SIGTERM');
      // SIGTERM drains first (hc-bgp-drain: DRAIN_S).
      const timer = setTimeout(() => agent.daemon.child.kill('SIGKILL'), 10_000 + (system === 'hc-bgp-drain' ? DRAIN_S * 1000 : 0));
      const code = await agent.exited;
      clearTimeout(timer);
      await frr.stop();
      return { cleanExit: code === 0, killed: code === 0 ? 0 : 1, ms: Date.now() - began };
    },
  };
}

async function startPeer(bench: Bench, system: 'exabgp' | 'exabgp-med', count: number): Promise<Running> {
  const command = `dig +time=${TIMEOUT_S} +tries=1 -p ${bench.port} @127.0.0.1 ${RECORD.name} ${RECORD.type}`;
  const exabgp: Exabgp = await startExabgp(bench.lab, bench.node, {
    name: `${system}-${count}`,
    routerId: '0.0.0.2',
    localAddress: bench.link.bV4,
    localAs: NODE_AS,
    neighbor: { address: bench.link.aV4, as: ROUTER_AS },
    services: Array.from({ length: count }, (_, i) => ({ name: serviceName(i), prefix: `${peerAddress(i)}/32`, command })),
    intervalS: INTERVAL_S,
    timeoutS: TIMEOUT_S,
    rise: RISE,
    fall: FALL,
    withdrawOnDown: system === 'exabgp',
  });
  // ExaBGP logs each command it gets from a check: "route added to neighbor ... : 192.0.2.1/32 next-hop self".
  const about = new RegExp(`route (added to|removed from) neighbor .* : ${peerAddress(0).replaceAll('.', '\\.')}/32 `);
  return {
    pids: exabgp.tree,
    decision: (up, since) => exabgp.lines.find((line) => line.time >= since && about.exec(line.text)?.[1] === (up ? 'added to' : 'removed from'))?.time,
    checks: async () => exabgp.lines.filter((line) => /route (added to|removed from) neighbor/.test(line.text)).length,
    stop: async () => {
      const began = Date.now();
      const result = await exabgp.stop(3000);
      return { ...result, ms: Date.now() - began };
    },
  };
}

async function measure(bench: Bench, system: System, count: number): Promise<RunResult> {
  const addresses = Array.from({ length: count }, (_, i) => peerAddress(i));
  const notes: string[] = [];
  const running = system.startsWith('hc-') ? await startHealthcast(bench, system as HcSystem, count) : await startPeer(bench, system as 'exabgp', count);
  const result: RunResult = {
    system,
    services: count,
    reps: [],
    cpu: { windowS: 0, checks: 0, treeCpuS: 0, perCheckMs: NaN, corePercent: NaN, checksPerS: NaN },
    peakPssMb: NaN,
    notes,
  };
  try {
    await bench.bird.waitEstablished(60_000);
    // A system that cannot bring every route up (ExaBGP's checks timing out under load) is measured as it is.
    const allUp = await waitRoutes(bench, addresses, true, 60_000 + count * 30).then(
      () => true,
      async (error: Error) => {
        notes.push(`${error.message}; the router has ${await routesPresent(bench, addresses)}: failover not timed`);
        return false;
      },
    );
    await sleep(2000);

    // Steady state: every service up, nothing changes.
    const checks0 = await running.checks();
    const t0 = Date.now();
    const cpu0 = treeCpuSeconds(running.pids());
    const frr0 = running.frrPids ? treeCpuSeconds(running.frrPids()) : 0;
    let peakPss = treePssKb(running.pids());
    while (Date.now() - t0 < WINDOW_S * 1000) {
      await sleep(1000);
      peakPss = Math.max(peakPss, treePssKb(running.pids()));
    }
    const cpu1 = treeCpuSeconds(running.pids());
    const frr1 = running.frrPids ? treeCpuSeconds(running.frrPids()) : 0;
    const windowS = (Date.now() - t0) / 1000;
    const checks = (await running.checks()) - checks0;
    const treeCpuS = cpu1 - cpu0;
    result.cpu = {
      windowS,
      checks,
      treeCpuS,
      perCheckMs: (treeCpuS * 1000) / checks,
      corePercent: (treeCpuS / windowS) * 100,
      checksPerS: checks / windowS,
      ...(running.frrPids ? { frrCpuS: frr1 - frr0, withFrrPerCheckMs: ((treeCpuS + frr1 - frr0) * 1000) / checks } : {}),
    };
    result.peakPssMb = peakPss / 1024;

    // A withdrawal is ExaBGP's choice only with --withdraw-on-down; by default the route stays, with MED 1000.
    if (!allUp) {
      // nothing to time
    } else if (system === 'exabgp-med') {
      await bench.unbound.daemon.stop('SIGKILL');
      await sleep((FALL + 1) * (INTERVAL_S + TIMEOUT_S) * 1000 + 1000);
      const shown = await bench.bird.birdc('show', 'route', 'all', `${peerAddress(0)}/32`);
      result.med1000KeptRoute = /BGP\.med: 1000/.test(shown) && (await routesPresent(bench, [peerAddress(0)])) === 1;
      notes.push(`unbound killed: the router still routes to ${peerAddress(0)}: ${String(result.med1000KeptRoute)} (MED 1000)`);
      await restartUnbound(bench);
      await sleep(5000);
    } else {
      for (let rep = 0; rep < REPS; rep += 1) {
        const r: Rep = {};
        await sleep(1000 + Math.random() * 1000);
        const kill = Date.now();
        await bench.unbound.daemon.stop('SIGKILL');
        try {
          await waitRoutes(bench, addresses, false, 30_000);
        } catch (error) {
          notes.push(`rep ${rep + 1}: ${(error as Error).message}`);
        }
        const gone = eventAfter(bench, addresses[0]!, true, kill);
        const lastGone = addresses.map((address) => eventAfter(bench, address, true, kill));
        const decided = running.decision(false, kill);
        r.failoverMs = gone !== undefined ? gone - kill : undefined;
        r.allGoneMs = lastGone.every((t) => t !== undefined) ? Math.max(...(lastGone as number[])) - kill : undefined;
        r.failDecisionToRouterMs = gone !== undefined && decided !== undefined ? gone - decided : undefined;
        const applied = running.applied?.(kill);
        if (process.env.BENCH_PEERS_DUMP) running.dump?.(kill);
        if (applied) {
          r.failAppliedMs = applied.decisionToKernelMs;
          r.failPassMs = applied.passMs;
        }

        await sleep(1000 + Math.random() * 1000);
        const start = Date.now();
        await restartUnbound(bench);
        try {
          await waitRoutes(bench, addresses, true, 30_000 + count * 30);
        } catch (error) {
          notes.push(`rep ${rep + 1}: ${(error as Error).message}`);
        }
        const back = eventAfter(bench, addresses[0]!, false, start);
        const upDecided = running.decision(true, start);
        r.recoveryMs = back !== undefined ? back - start : undefined;
        r.recoverDecisionToRouterMs = back !== undefined && upDecided !== undefined ? back - upDecided : undefined;
        result.reps.push(r);
        process.stdout.write(
          `${system} n=${count} rep ${rep + 1}/${REPS}: failover ${r.failoverMs ?? '-'} ms (decision->router ${r.failDecisionToRouterMs ?? '-'}), recovery ${r.recoveryMs ?? '-'} ms (decision->router ${r.recoverDecisionToRouterMs ?? '-'})\n`,
        );
      }
    }
  } finally {
    const mismatches = running.mismatches?.();
    if (mismatches !== undefined) {
      result.mismatchWarnings = mismatches;
      if (mismatches > 0) notes.push(`${mismatches} "advertisement mismatch" warning(s), although nothing else announces these addresses`);
    }
    result.stop = await running.stop();
    await waitFor('the router to drop the session', async () => !/Established/.test(await bench.bird.birdc('show', 'protocols', 'node')), {
      timeoutMs: 15_000,
      intervalMs: 100,
    }).catch(() => notes.push('the router still showed the session Established 15 s after the stop'));
  }
  return result;
}

function rowsOf(result: RunResult): Row[] {
  const label = `${result.system} n=${result.services}`;
  const pick = (key: keyof Rep) => result.reps.flatMap((rep) => (rep[key] === undefined ? [] : [rep[key]]));
  const rows: Row[] = [];
  if (result.reps.length > 0) {
    rows.push(
      row(`${label}: kill -> route gone (first service)`, 'ms', pick('failoverMs')),
      row(`${label}: kill -> all ${result.services} routes gone`, 'ms', pick('allGoneMs')),
      row(`${label}: decision -> route gone`, 'ms', pick('failDecisionToRouterMs'), result.system.startsWith('hc-bgp') ? 'median <= 30' : undefined),
      ...(result.system.startsWith('hc-')
        ? [
            row(`${label}: decision -> its pass applied (agent's log)`, 'ms', pick('failAppliedMs')),
            row(`${label}: that pass (agent's log)`, 'ms', pick('failPassMs')),
          ]
        : []),
      row(`${label}: restart -> route back`, 'ms', pick('recoveryMs')),
      row(`${label}: decision -> route back`, 'ms', pick('recoverDecisionToRouterMs'), result.system.startsWith('hc-bgp') ? 'median <= 30' : undefined),
    );
  }
  rows.push(
    row(`${label}: CPU per check (process tree)`, 'ms', [result.cpu.perCheckMs]),
    ...(result.cpu.withFrrPerCheckMs !== undefined ? [row(`${label}: CPU per check with zebra+bgpd`, 'ms', [result.cpu.withFrrPerCheckMs])] : []),
    row(`${label}: CPU (process tree)`, '% core', [result.cpu.corePercent]),
    row(`${label}: checks per second`, '1/s', [result.cpu.checksPerS]),
    row(`${label}: peak PSS (process tree)`, 'MB', [result.peakPssMb]),
    ...(result.stop ? [row(`${label}: stop: SIGTERM -> gone`, 'ms', [result.stop.ms])] : []),
  );
  return rows;
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the peers benchmark needs root (network namespaces)');
  const lab = await Lab.create({ name: SHORT ? 'peerss' : 'peers' });
  const results: RunResult[] = [];
  try {
    const router = await lab.node('router');
    const node = await lab.node('a');
    const link = await lab.link(router, node);
    const bird = await startBird(lab, router, {
      routerId: '0.0.0.1',
      localAddress: link.aV4,
      localAs: ROUTER_AS,
      neighbor: { address: link.bV4, as: NODE_AS },
    });
    const routes = await startMonitor(router.netns, 'route');
    // Below the ephemeral range (32768-60999): with 1,000 services the agent's UDP sockets, probing the dead server
    // every second, took unbound's port as their local port and kept it, so unbound could not bind it again. The
    // namespace is the lab's own, so nothing else holds a port there.
    const port = 20_000 + Math.floor(Math.random() * 10_000);
    const bench: Bench = { lab, router, node, link, bird, routes, port, unbound: undefined as unknown as Unbound, unbounds: 0, frrRuns: 0 };
    await restartUnbound(bench);
    const plan: [System, number][] = [];
    for (const count of COUNTS) for (const system of SYSTEMS) plan.push([system, count]);
    if (HC_LARGE > 0 && SYSTEMS.includes('hc-bgp')) plan.push(['hc-bgp', HC_LARGE]);
    for (const [system, count] of plan) {
      process.stdout.write(`\n--- ${system}, ${count} services ---\n`);
      // One system failing (a port in use, a daemon not starting) must not lose the others' figures.
      const result = await measure(bench, system, count).catch((error: Error) => {
        process.stdout.write(`failed: ${system}, ${count} services: ${error.message}\n`);
        return undefined;
      });
      if (!result) continue;
      for (const note of result.notes) process.stdout.write(`note: ${note}\n`);
      results.push(result);
    }
    await routes.stop();
  } finally {
    await lab.destroy();
  }
  const rows = results.flatMap(rowsOf);
  process.stdout.write(
    `\n${table(`Peers: ExaBGP healthcheck vs healthcast, BIRD 2 router, interval ${INTERVAL_S}s, timeout ${TIMEOUT_S}s, fall ${FALL}, rise ${RISE}, ${REPS} repetition(s), CPU window ${WINDOW_S}s`, rows)}\n`,
  );
  const file = writeResult(SHORT ? 'peers-short' : 'peers', {
    settings: {
      short: SHORT,
      repetitions: REPS,
      windowS: WINDOW_S,
      counts: COUNTS,
      hcLarge: HC_LARGE,
      systems: SYSTEMS,
      intervalS: INTERVAL_S,
      timeoutS: TIMEOUT_S,
      rise: RISE,
      fall: FALL,
    },
    rows,
    results,
  });
  process.stdout.write(`\nwrote ${file}\n`);
}

await main();
