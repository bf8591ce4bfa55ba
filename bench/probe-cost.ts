// Probe cost: SERVICES services, each with a DNS probe every 1 s against one local unbound, for SECONDS. Measures the
// agent's CPU seconds and peak RSS from /proc and how late rounds start (from its debug log lines; BENCH_LOG_LEVEL=info
// measures without them, counting rounds from the agent's /metrics instead, and has no lateness). In the same run,
// the same checks done fork-per-check (`dig` once per check): a sample of FORK_SERVICES services for FORK_SECONDS,
// because 1,000 forks a second would saturate this machine; its CPU per check is scaled to SERVICES checks a second.
// Usage: node dist/bench/probe-cost.js [SERVICES=1000] [SECONDS=60] [FORK_SERVICES=100] [FORK_SECONDS=20]   (root)
import fs from 'node:fs';
import path from 'node:path';
import { Lab, type LabNode } from '../lab/lab.js';
import { freePort } from '../lab/unbound.js';
import { waitFor } from '../lab/process.js';
import { agentConfig, startAgent } from '../test/reliability/support/agent.js';
import { repoRoot } from '../test/support/paths.js';
import { cpuByThread, cpuTimes, memory } from './lib/procstat.js';
import { LatenessTracker } from './lib/lateness.js';
import { fmt, summarize } from './lib/stats.js';
import { keyValueTable, writeResult } from './lib/report.js';
import { dnsServices, SERVICE_PREFIX } from './lib/services.js';

const [SERVICES = 1000, SECONDS = 60, FORK_SERVICES = 100, FORK_SECONDS = 20] = process.argv.slice(2).map(Number);
const INTERVAL_MS = 1000;
// debug gives one line per round (needed for lateness); info measures the agent without that logging.
const LOG_LEVEL = process.env.BENCH_LOG_LEVEL ?? 'debug';
// Node flags for the agent alone (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" or "--perf-basic-prof"), to profile it.
const AGENT_NODE_OPTIONS = process.env.BENCH_AGENT_NODE_OPTIONS;
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

// Probe results so far (one per round: one probe per service), summed from the agent's healthcast_probe_results_total
// inside the namespace where the metrics endpoint listens, with when the scrape was asked and answered: rounds are
// counted this way at any log level. The agent collects somewhere between the two; a scrape takes ~0.1-0.3 s.
const SUM_RESULTS = `fetch(process.argv[1]).then((r) => r.text()).then((text) => { const sum = { ok: 0, fail: 0 }; for (const line of text.split('\\n')) { const m = /^healthcast_probe_results_total\\{.*result="(ok|fail)"\\} (\\S+)$/.exec(line); if (m) sum[m[1]] += Number(m[2]); } console.log(JSON.stringify(sum)); })`;

interface Scrape {
  ok: number;
  fail: number;
  at: number; // epoch ms, midway between request and answer
}

async function scrapeResults(node: LabNode, metricsPort: number): Promise<Scrape> {
  const asked = Date.now();
  const { stdout } = await node.exec(process.execPath, ['-e', SUM_RESULTS, `http://127.0.0.1:${metricsPort}/metrics`], { timeoutMs: 20_000 });
  const sum = JSON.parse(stdout.trim()) as { ok: number; fail: number };
  return { ...sum, at: (asked + Date.now()) / 2 };
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

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the probe-cost benchmark needs root (a network namespace for the 1,000 addresses)');
  const lab = await Lab.create({ name: 'benchcost' });
  try {
    const node = await lab.node('cost');
    const port = await freePort();
    const metricsPort = await freePort();
    await lab.startUnbound(node, { port, addresses: ['127.0.0.1'], records: [{ name: 'probe.test', type: 'A', value: '192.0.2.1' }] });

    // Phase 1: healthcast.
    let ups = 0;
    // Rounds in the window that failed (a debug round line with ok: false, or a transition away from up), with a few reasons.
    let failedRounds = 0;
    let transitions = 0;
    const failureReasons = new Map<string, number>();
    const tracker = new LatenessTracker(INTERVAL_MS);
    let measuring: LatenessTracker | undefined;
    let t0 = Number.POSITIVE_INFINITY;
    let tEnd = Number.POSITIVE_INFINITY;
    const started = Date.now();
    const agent = await withNodeOptions(AGENT_NODE_OPTIONS, () =>
      startAgent(lab, node, { config: (stateDir) => agentConfig(stateDir, dnsServices(SERVICES, port), { log_level: LOG_LEVEL, reconcile_interval: '10s', metrics: { listen: `127.0.0.1:${metricsPort}` } }), keepDebug: false, timeoutMs: 30_000 }),
    );
    agent.onLine((line) => {
      if (line.to === 'up') ups += 1;
      const inWindow = line.time >= t0 && line.time <= tEnd;
      if (measuring && inWindow && line.service !== undefined) {
        const failed = (line.msg === 'probe round' && line.ok === false) || (line.to !== undefined && line.from === 'up');
        if (line.to !== undefined && line.latency_ms !== undefined) transitions += 1;
        if (failed) {
          failedRounds += 1;
          const reason = String(line.reason ?? '?').replace(/\d+/g, 'N');
          failureReasons.set(reason, (failureReasons.get(reason) ?? 0) + 1);
        }
      }
      if (inWindow) measuring?.add(line);
      tracker.add(line);
    });
    await waitFor(`all ${SERVICES} services up`, () => ups >= SERVICES, { timeoutMs: 60_000, intervalMs: 50 });
    const allUpMs = Date.now() - started;
    await waitFor('every address on lo', async () => (await node.addresses()).filter((cidr) => cidr.startsWith(SERVICE_PREFIX)).length === SERVICES, { timeoutMs: 30_000, intervalMs: 200 });
    await sleep(2000);
    // Rounds per second from two metrics scrapes around the window (the scrapes' own CPU falls outside it).
    // Peak RSS without a scrape: the high-water mark from start to here, then (reset after the first scrape, by
    // writing 5 to clear_refs) the one over the window; the /metrics scrape's own peak is reported apart.
    const startupPeakKb = memory(agent.pid).peakRssKb;
    const scrape0 = await scrapeResults(node, metricsPort);
    fs.writeFileSync(`/proc/${agent.pid}/clear_refs`, '5');
    await sleep(1000);
    t0 = Date.now();
    measuring = new LatenessTracker(INTERVAL_MS, t0);
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
    tEnd = t1;
    const windowPeakKb = memory(agent.pid).peakRssKb;
    const peakRssKb = Math.max(startupPeakKb, windowPeakKb);
    const scrape1 = await scrapeResults(node, metricsPort);
    const roundsPerSecond = (scrape1.ok + scrape1.fail - scrape0.ok - scrape0.fail) / ((scrape1.at - scrape0.at) / 1000);
    const failedByMetrics = scrape1.fail - scrape0.fail;
    const byThread = Object.fromEntries([...threads1].map(([name, seconds]) => [name, seconds - (threads0.get(name) ?? 0)]).filter(([, seconds]) => (seconds as number) > 0));
    const peakAfterScrapeKb = memory(agent.pid).peakRssKb;
    const window = measuring;
    measuring = undefined;
    const elapsed = (t1 - t0) / 1000;
    const cpuSeconds = cpu1.user + cpu1.system - cpu0.user - cpu0.system;
    const agentLateness = summarize(window.all().map((round) => round.latenessMs));
    const loggedRounds = window.rounds();
    // At debug every round is logged and counted exactly; at info the metrics rate gives the count.
    const rounds = LOG_LEVEL === 'debug' ? loggedRounds : Math.round(roundsPerSecond * elapsed);
    agent.signal('SIGTERM');
    const exitCode = await agent.exited;

    // Phase 2: fork-per-check against the same unbound, inside the same namespace.
    const driver = lab.startDaemon(node, 'fork-driver', process.execPath, [path.join(repoRoot, 'dist/bench/lib/fork-driver.js'), String(FORK_SERVICES), String(FORK_SECONDS), '127.0.0.1', String(port)]);
    await driver.exited;
    const forkLine = driver.output().split('\n').find((line) => line.startsWith('{'));
    if (!forkLine) throw new Error(`fork driver printed no result: ${driver.output().slice(-2000)}`);
    const fork = JSON.parse(forkLine) as ForkResult;
    const forkLateness = summarize(fork.latenessMs);

    const agentPerCheckMs = (cpuSeconds * 1000) / rounds;
    const forkPerCheckMs = (fork.childCpuSeconds * 1000) / fork.checks;
    const agentCorePct = (cpuSeconds / elapsed) * 100;
    const forkProjectedCorePct = ((forkPerCheckMs * SERVICES) / 1000) * 100;
    const entries: [string, string, string?][] = [
      ['healthcast: services / interval / window', `${SERVICES} / 1s / ${fmt(elapsed)}s`],
      ['healthcast: rounds in window (expected)', `${rounds} (${Math.round(SERVICES * elapsed)}), ${LOG_LEVEL === 'debug' ? 'logged' : 'from metrics'}`],
      ['healthcast: rounds/s from metrics, failed', `${fmt(roundsPerSecond, 1)}/s over ${fmt((scrape1.at - scrape0.at) / 1000)}s, ${failedByMetrics} failed`],
      ['healthcast: failed rounds / transitions (log)', LOG_LEVEL === 'debug' ? `${failedRounds} / ${transitions}${failureReasons.size > 0 ? ` (${[...failureReasons].slice(0, 3).map(([reason, count]) => `${count}x ${reason}`).join('; ')})` : ''}` : '- (info: no round lines)'],
      ['healthcast: CPU seconds in window', fmt(cpuSeconds, 2)],
      ['healthcast: CPU, % of one core', fmt(agentCorePct, 2), 'target < 10'],
      ['healthcast: CPU user / system', `${fmt(cpu1.user - cpu0.user, 2)} / ${fmt(cpu1.system - cpu0.system, 2)} s`],
      ['healthcast: CPU by thread (s)', Object.entries(byThread).map(([name, seconds]) => `${name} ${fmt(seconds as number, 2)}`).join(', ')],
      ['healthcast: CPU per check', `${fmt(agentPerCheckMs, 3)} ms`],
      ['healthcast: peak RSS (VmHWM), start or window', `${fmt(peakRssKb / 1024)} MB (${fmt(startupPeakKb / 1024)} / ${fmt(windowPeakKb / 1024)})`, 'target < 150'],
      ['healthcast: peak RSS with a /metrics scrape', `${fmt(peakAfterScrapeKb / 1024)} MB`],
      ['healthcast: RSS min/max in window', `${fmt(Math.min(...rss) / 1024)} / ${fmt(Math.max(...rss) / 1024)} MB`],
      ['healthcast: lateness p50 / p99 / max', `${fmt(agentLateness.p50)} / ${fmt(agentLateness.p99)} / ${fmt(agentLateness.max)} ms`, 'target p99 < 50'],
      ['healthcast: start to all services up', `${allUpMs} ms`],
      ['fork-per-check: sample', `${fork.services} services x ${fork.seconds}s = ${fork.checks} dig runs (${fork.failures} failed)`],
      ['fork-per-check: CPU per check (dig only)', `${fmt(forkPerCheckMs, 2)} ms`],
      [`fork-per-check: projected for ${SERVICES}/s`, `${fmt(forkProjectedCorePct)} % of one core`],
      ['fork-per-check: lateness p50 / p99 (sample)', `${fmt(forkLateness.p50)} / ${fmt(forkLateness.p99)} ms`],
      ['ratio: fork CPU per check / healthcast', `${fmt(forkPerCheckMs / agentPerCheckMs)}x`, 'target >= 20'],
    ];
    process.stdout.write(`\n${keyValueTable('Probe cost (DNS probes against one local unbound)', entries)}\n`);
    const file = writeResult('probe-cost', {
      settings: { services: SERVICES, seconds: SECONDS, intervalMs: INTERVAL_MS, forkServices: FORK_SERVICES, forkSeconds: FORK_SECONDS, logLevel: LOG_LEVEL },
      healthcast: { elapsedSeconds: elapsed, rounds, loggedRounds, roundsPerSecond, failedByMetrics, failedRounds, transitions, failureReasons: Object.fromEntries(failureReasons), cpuSeconds, userSeconds: cpu1.user - cpu0.user, systemSeconds: cpu1.system - cpu0.system, byThread, corePercent: agentCorePct, perCheckMs: agentPerCheckMs, peakRssKb, startupPeakKb, windowPeakKb, peakAfterScrapeKb, rssKb: rss, lateness: agentLateness, allUpMs, exitCode },
      fork: { ...fork, latenessMs: undefined, lateness: forkLateness, perCheckMs: forkPerCheckMs, projectedCorePercent: forkProjectedCorePct },
      ratio: forkPerCheckMs / agentPerCheckMs,
      table: entries,
    });
    process.stdout.write(`\nwrote ${file}\n`);
  } finally {
    await lab.destroy();
  }
}

await main();
