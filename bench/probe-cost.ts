// Probe cost: SERVICES services, each with a DNS probe every 1 s against one local unbound, for SECONDS, REPS times
// with a fresh agent each time. Measures the agent's CPU seconds and peak RSS from /proc and how late rounds start
// (actual minus scheduled, as the agent measures it: its healthcast_probe_round_lateness_seconds histogram at the
// default log level; BENCH_LOG_LEVEL=debug also reads every round's late_ms from the log lines, at the cost of writing
// 1,000 lines a second). In the same run, the same checks done fork-per-check (`dig` once per check): a sample of
// FORK_SERVICES services for FORK_SECONDS, because 1,000 forks a second would saturate this machine; its CPU per
// check is scaled to SERVICES checks a second. And, after each agent run, the floor: the same queries at the same rate
// from a bare Node dgram client (bench/lib/dgram-floor.ts), what any Node prober pays before doing anything itself.
// Usage: node dist/bench/probe-cost.js [SERVICES=1000] [SECONDS=60] [FORK_SERVICES=100] [FORK_SECONDS=20] [REPS=3]   (root)
import path from 'node:path';
import fs from 'node:fs';
import { Lab, type LabNode } from '../lab/lab.js';
import { freePort } from '../lab/unbound.js';
import { waitFor } from '../lab/process.js';
import { agentConfig, startAgent } from '../lab/healthcast.js';
import { repoRoot } from '../test/support/paths.js';
import { cpuByThread, cpuTimes, memory } from './lib/procstat.js';
import { LatenessTracker } from './lib/lateness.js';
import { fmt, summarize } from './lib/stats.js';
import { keyValueTable, row, table, writeResult } from './lib/report.js';
import { dnsServices, SERVICE_PREFIX } from './lib/services.js';
import { bucketDelta, bucketQuantileMs, scrapeMetrics, type Scrape } from './lib/metrics-scrape.js';

const [SERVICES = 1000, SECONDS = 60, FORK_SERVICES = 100, FORK_SECONDS = 20, REPS = 3] = process.argv.slice(2).map(Number);
const INTERVAL_MS = 1000;
const LOG_LEVEL = process.env.BENCH_LOG_LEVEL ?? 'info';
const LEASE = process.env.BENCH_LEASE ?? '0s';
// The bare dgram floor's window; a long agent run (the lease's) need not be followed by as long a floor.
const FLOOR_SECONDS = Number(process.env.BENCH_FLOOR_SECONDS ?? SECONDS);
// Node flags for the agent alone (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" or "--perf-basic-prof"), to profile it.
const AGENT_NODE_OPTIONS = process.env.BENCH_AGENT_NODE_OPTIONS;
const LATENESS = 'healthcast_probe_round_lateness_seconds';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface ForkResult {
  services: number;
  seconds: number;
  wallSeconds: number;
  checks: number;
  failures: number;
  childCpuSeconds: number;
  driverCpuSeconds: number;
  latenessMs: number[];
}

interface AgentRun {
  elapsedSeconds: number;
  rounds: number;
  failed: number;
  cpuSeconds: number;
  userSeconds: number;
  systemSeconds: number;
  byThread: Record<string, number>;
  corePercent: number;
  perCheckMs: number;
  peakRssMb: number;
  startupPeakRssMb: number;
  windowPeakRssMb: number;
  peakAfterScrapeMb: number;
  rssMinMb: number;
  rssMaxMb: number;
  // Upper bounds from the agent's histogram over the window (bucket edges), and exact figures from debug lines.
  latenessP50UpToMs: number;
  latenessP99UpToMs: number;
  loggedLateness: ReturnType<typeof summarize> | undefined;
  allUpMs: number;
  exitCode: number | null;
  // With BENCH_LEASE on: addresses expired while the agent ran (healthcast_lease_expired_total at the end), late
  // renewals and freezes the agent logged, over the whole run.
  leaseExpired: number;
  lateRenewals: number;
  freezes: number;
}

// The agent inherits the environment when spawned (synchronously, inside startAgent), so NODE_OPTIONS set just around
// that call reaches the agent and not the fork driver started later.
async function withNodeOptions<T>(options: string | undefined, start: () => Promise<T>): Promise<T> {
  if (!options) return start();
  const saved = process.env.NODE_OPTIONS;
  process.env.NODE_OPTIONS = options;
  const started = start();
  if (saved === undefined) delete process.env.NODE_OPTIONS;
  else process.env.NODE_OPTIONS = saved;
  return started;
}

async function measureAgent(lab: Lab, node: LabNode, port: number, rep: number): Promise<AgentRun> {
  const metricsPort = await freePort();
  let ups = 0;
  let lateRenewals = 0;
  let freezes = 0;
  let measuring: LatenessTracker | undefined;
  const started = Date.now();
  const agent = await withNodeOptions(AGENT_NODE_OPTIONS, () =>
    startAgent(lab, node, {
      name: `healthcast-${rep}`,
      config: (stateDir) =>
        agentConfig(stateDir, dnsServices(SERVICES, port), {
          log_level: LOG_LEVEL,
          reconcile_interval: '10s',
          // The probe path alone, comparable with the figures before the lease; renewals have their own bench
          // (bench/lease.ts, performance.md section 7). BENCH_LEASE=10s measures both together.
          lease: LEASE,
          metrics: { listen: `127.0.0.1:${metricsPort}` },
        }),
      keepDebug: false,
      timeoutMs: 30_000,
    }),
  );
  agent.onLine((line) => {
    if (line.to === 'up') ups += 1;
    if (/^lease renewal is late/.test(line.msg)) lateRenewals += 1;
    if (/^the agent did not run for/.test(line.msg)) freezes += 1;
    measuring?.add(line);
  });
  await waitFor(`all ${SERVICES} services up`, () => ups >= SERVICES, { timeoutMs: 60_000, intervalMs: 50 });
  const allUpMs = Date.now() - started;
  await waitFor('every address on lo', async () => (await node.addresses()).filter((cidr) => cidr.startsWith(SERVICE_PREFIX)).length === SERVICES, {
    timeoutMs: 30_000,
    intervalMs: 200,
  });
  await sleep(2000);
  // Peak RSS without a scrape: the high-water mark from start to here, then (reset after the first scrape, by writing 5
  // to clear_refs) the one over the window; the /metrics scrape's own peak is reported apart.
  const startupPeakKb = memory(agent.pid).peakRssKb;
  const scrape0 = await scrapeMetrics(node, metricsPort);
  fs.writeFileSync(`/proc/${agent.pid}/clear_refs`, '5');
  await sleep(1000);
  const t0 = Date.now();
  measuring = new LatenessTracker(t0);
  const cpu0 = cpuTimes(agent.pid);
  const threads0 = cpuByThread(agent.pid);
  const rss: number[] = [];
  while (Date.now() - t0 < SECONDS * 1000) {
    await sleep(1000);
    rss.push(memory(agent.pid).rssKb);
  }
  const cpu1 = cpuTimes(agent.pid);
  const threads1 = cpuByThread(agent.pid);
  const t1 = Date.now();
  const window = measuring;
  measuring = undefined;
  const windowPeakKb = memory(agent.pid).peakRssKb;
  const scrape1 = await scrapeMetrics(node, metricsPort);
  const peakAfterScrapeKb = memory(agent.pid).peakRssKb;
  agent.signal('SIGTERM');
  const exitCode = await agent.exited;

  const elapsedSeconds = (t1 - t0) / 1000;
  // The scrapes bracket the window (taken ~1 s before and just after it): rounds are the metric's rate over the window.
  const perSecond = (pick: (scrape: Scrape) => number) => (pick(scrape1) - pick(scrape0)) / ((scrape1.at - scrape0.at) / 1000);
  const rounds = Math.round(perSecond((scrape) => scrape.results.ok + scrape.results.fail) * elapsedSeconds);
  const lateness = bucketDelta(scrape0.buckets(LATENESS), scrape1.buckets(LATENESS));
  const cpuSeconds = cpu1.user + cpu1.system - cpu0.user - cpu0.system;
  return {
    elapsedSeconds,
    rounds,
    failed: scrape1.results.fail - scrape0.results.fail,
    cpuSeconds,
    userSeconds: cpu1.user - cpu0.user,
    systemSeconds: cpu1.system - cpu0.system,
    byThread: Object.fromEntries(
      [...threads1].map(([name, seconds]) => [name, seconds - (threads0.get(name) ?? 0)]).filter(([, seconds]) => (seconds as number) > 0),
    ),
    corePercent: (cpuSeconds / elapsedSeconds) * 100,
    perCheckMs: (cpuSeconds * 1000) / rounds,
    peakRssMb: Math.max(startupPeakKb, windowPeakKb) / 1024,
    startupPeakRssMb: startupPeakKb / 1024,
    windowPeakRssMb: windowPeakKb / 1024,
    peakAfterScrapeMb: peakAfterScrapeKb / 1024,
    rssMinMb: Math.min(...rss) / 1024,
    rssMaxMb: Math.max(...rss) / 1024,
    latenessP50UpToMs: bucketQuantileMs(lateness, 0.5),
    latenessP99UpToMs: bucketQuantileMs(lateness, 0.99),
    loggedLateness: window.rounds() > 0 ? summarize(window.all().map((round) => round.latenessMs)) : undefined,
    allUpMs,
    exitCode,
    leaseExpired: scrape1.leaseExpired,
    lateRenewals,
    freezes,
  };
}

interface FloorResult {
  sent: number;
  answered: number;
  timedOut: number;
  wallSeconds: number;
  userSeconds: number;
  systemSeconds: number;
}

async function dgramFloor(lab: Lab, node: LabNode, port: number, rep: number): Promise<FloorResult & { corePercent: number }> {
  const floor = lab.startDaemon(node, `dgram-floor-${rep}`, process.execPath, [
    path.join(repoRoot, 'dist/bench/lib/dgram-floor.js'),
    '127.0.0.1',
    String(port),
    String(FLOOR_SECONDS),
    String(SERVICES),
  ]);
  await floor.exited;
  const line = floor
    .output()
    .split('\n')
    .find((text) => text.startsWith('{'));
  if (!line) throw new Error(`dgram floor printed no result: ${floor.output().slice(-2000)}`);
  const result = JSON.parse(line) as FloorResult;
  return { ...result, corePercent: ((result.userSeconds + result.systemSeconds) / result.wallSeconds) * 100 };
}

async function forkPerCheck(lab: Lab, node: LabNode, port: number): Promise<ForkResult> {
  const driver = lab.startDaemon(node, 'fork-driver', process.execPath, [
    path.join(repoRoot, 'dist/bench/lib/fork-driver.js'),
    String(FORK_SERVICES),
    String(FORK_SECONDS),
    '127.0.0.1',
    String(port),
  ]);
  await driver.exited;
  const forkLine = driver
    .output()
    .split('\n')
    .find((line) => line.startsWith('{'));
  if (!forkLine) throw new Error(`fork driver printed no result: ${driver.output().slice(-2000)}`);
  return JSON.parse(forkLine) as ForkResult;
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the probe-cost benchmark needs root (a network namespace for the 1,000 addresses)');
  const lab = await Lab.create({ name: 'benchcost' });
  try {
    const node = await lab.node('cost');
    const port = await freePort();
    await lab.startUnbound(node, { port, addresses: ['127.0.0.1'], records: [{ name: 'probe.test', type: 'A', value: '192.0.2.1' }] });
    const runs: AgentRun[] = [];
    const floors: (FloorResult & { corePercent: number })[] = [];
    // Agent and floor alternate, so a change in how busy the machine is shows in both.
    for (let rep = 1; rep <= REPS; rep += 1) {
      const run = await measureAgent(lab, node, port, rep);
      const floor = await dgramFloor(lab, node, port, rep);
      process.stdout.write(
        `run ${rep}/${REPS}: CPU ${fmt(run.corePercent, 2)} % of a core (bare dgram floor ${fmt(floor.corePercent, 2)} %), peak RSS ${fmt(run.peakRssMb)} MB, lateness p99 <= ${fmt(run.latenessP99UpToMs)} ms, ${run.rounds} rounds (${run.failed} failed)${LEASE === '0s' ? '' : `, lease ${LEASE}: ${run.leaseExpired} expired, ${run.lateRenewals} late renewals, ${run.freezes} freezes`}\n`,
      );
      runs.push(run);
      floors.push(floor);
    }
    const fork = await forkPerCheck(lab, node, port);
    const forkLateness = summarize(fork.latenessMs);
    const forkPerCheckMs = (fork.childCpuSeconds * 1000) / fork.checks;
    const forkProjectedCorePct = ((forkPerCheckMs * SERVICES) / 1000) * 100;
    const perCheck = summarize(runs.map((run) => run.perCheckMs));
    const logged = runs.map((run) => run.loggedLateness).filter((summary) => summary !== undefined);

    const rows = [
      row(
        'CPU',
        '% of one core',
        runs.map((run) => run.corePercent),
        '< 10',
      ),
      row(
        'CPU per check',
        'ms',
        runs.map((run) => run.perCheckMs),
      ),
      row(
        'bare dgram floor, same rate: CPU',
        '% of one core',
        floors.map((floor) => floor.corePercent),
      ),
      row(
        'healthcast above the floor',
        '% of one core',
        runs.map((run, index) => run.corePercent - floors[index]!.corePercent),
      ),
      row(
        'peak RSS (VmHWM, no scrape)',
        'MB',
        runs.map((run) => run.peakRssMb),
        '< 150',
      ),
      row(
        'peak RSS with a /metrics scrape',
        'MB',
        runs.map((run) => run.peakAfterScrapeMb),
      ),
      row(
        'RSS in window, max',
        'MB',
        runs.map((run) => run.rssMaxMb),
      ),
      row(
        'lateness p50 (histogram, at most)',
        'ms',
        runs.map((run) => run.latenessP50UpToMs),
      ),
      row(
        'lateness p99 (histogram, at most)',
        'ms',
        runs.map((run) => run.latenessP99UpToMs),
        '< 50',
      ),
      ...(logged.length > 0
        ? [
            row(
              'lateness p99 (debug lines, exact)',
              'ms',
              logged.map((summary) => summary.p99),
            ),
            row(
              'lateness max (debug lines)',
              'ms',
              logged.map((summary) => summary.max),
            ),
          ]
        : []),
      row(
        'rounds in window',
        'rounds',
        runs.map((run) => run.rounds),
      ),
      row(
        'failed rounds',
        'rounds',
        runs.map((run) => run.failed),
      ),
      row(
        'start to all services up',
        'ms',
        runs.map((run) => run.allUpMs),
      ),
    ];
    const entries: [string, string, string?][] = [
      ['healthcast: services / interval / window / runs', `${SERVICES} / 1s / ${SECONDS}s / ${REPS}, log_level ${LOG_LEVEL}`],
      ['fork-per-check: sample', `${fork.services} services x ${fork.seconds}s = ${fork.checks} dig runs (${fork.failures} failed)`],
      ['fork-per-check: CPU per check (dig only)', `${fmt(forkPerCheckMs, 2)} ms`],
      [`fork-per-check: projected for ${SERVICES}/s`, `${fmt(forkProjectedCorePct)} % of one core`],
      ['fork-per-check: lateness p50 / p99 (sample)', `${fmt(forkLateness.p50)} / ${fmt(forkLateness.p99)} ms`],
      [
        'ratio: fork CPU per check / healthcast (median run)',
        `${fmt(forkPerCheckMs / perCheck.p50)}x (runs ${fmt(forkPerCheckMs / perCheck.max)}-${fmt(forkPerCheckMs / perCheck.min)}x)`,
        'target >= 20',
      ],
    ];
    process.stdout.write(
      `\n${table(`Probe cost: healthcast, ${REPS} runs (DNS probes against one local unbound)`, rows)}\n\n${keyValueTable('Probe cost: fork-per-check `dig`, same unbound', entries)}\n`,
    );
    const file = writeResult('probe-cost', {
      settings: {
        services: SERVICES,
        seconds: SECONDS,
        intervalMs: INTERVAL_MS,
        forkServices: FORK_SERVICES,
        forkSeconds: FORK_SECONDS,
        reps: REPS,
        logLevel: LOG_LEVEL,
        agentNodeOptions: AGENT_NODE_OPTIONS ?? null,
      },
      runs,
      floors,
      fork: { ...fork, latenessMs: undefined, lateness: forkLateness, perCheckMs: forkPerCheckMs, projectedCorePercent: forkProjectedCorePct },
      ratio: forkPerCheckMs / perCheck.p50,
      rows,
      table: entries,
    });
    process.stdout.write(`\nwrote ${file}\n`);
  } finally {
    await lab.destroy();
  }
}

await main();
