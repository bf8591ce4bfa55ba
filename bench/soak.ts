// Soak (not in CI): SERVICES DNS-probed services, a random FAIL_PERCENT of them failing at any time (redrawn every 20 s:
// NXDOMAIN or silence), for MINUTES. Per minute: RSS, CPU, probe lateness p50/p99, rounds, state changes and addresses
// announced. Targets: RSS growth under 10 % after the first (warm-up) minute, no lateness drift.
// Usage: node dist/bench/soak.js [MINUTES=10] [SERVICES=1000] [FAIL_PERCENT=10]   (root)
import path from 'node:path';
import { Lab } from '../lab/lab.js';
import { freePort } from '../lab/unbound.js';
import { waitFor, waitForOutput } from '../lab/process.js';
import { agentConfig, startAgent } from '../lab/healthcast.js';
import { repoRoot } from '../test/support/paths.js';
import { cpuTimes, memory } from './lib/procstat.js';
import { LatenessTracker } from './lib/lateness.js';
import { fmt, summarize } from './lib/stats.js';
import { writeResult } from './lib/report.js';
import { dnsServices, SERVICE_PREFIX } from './lib/services.js';

const [MINUTES = 10, SERVICES = 1000, FAIL_PERCENT = 10] = process.argv.slice(2).map(Number);
const INTERVAL_MS = 1000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Minute {
  minute: number;
  rssMb: number; // mean of samples every 5 s (RSS swings with garbage collection)
  rssMaxMb: number;
  peakRssMb: number;
  cpuPercent: number;
  rounds: number;
  transitions: number;
  announced: number;
  latenessP50: number;
  latenessP99: number;
  latenessMax: number;
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the soak needs root (a network namespace for the addresses)');
  const lab = await Lab.create({ name: 'soak' });
  try {
    const node = await lab.node('soak');
    const port = await freePort();
    const server = lab.startDaemon(node, 'flaky-dns', process.execPath, [
      path.join(repoRoot, 'dist/bench/lib/flaky-dns.js'),
      String(port),
      String(SERVICES),
      String(FAIL_PERCENT / 100),
      '20000',
    ]);
    await waitForOutput(server, /listening/);
    const services = dnsServices(SERVICES, port, { query: (i) => `svc${i}.test` });
    const tracker = new LatenessTracker();
    let transitions = 0;
    const agent = await startAgent(lab, node, {
      config: (stateDir) => agentConfig(stateDir, services, { log_level: 'debug', reconcile_interval: '10s' }),
      keepDebug: false,
      timeoutMs: 30_000,
    });
    agent.onLine((line) => {
      tracker.add(line);
      if (line.to !== undefined) transitions += 1;
    });
    const started = Date.now();
    const minutes: Minute[] = [];
    let cpuBefore = cpuTimes(agent.pid);
    let transitionsBefore = 0;
    for (let minute = 1; minute <= MINUTES; minute += 1) {
      const samples: number[] = [];
      while (Date.now() < started + minute * 60_000) {
        await sleep(Math.min(5000, started + minute * 60_000 - Date.now()));
        if (agent.alive()) samples.push(memory(agent.pid).rssKb / 1024);
      }
      if (!agent.alive()) throw new Error(`healthcast died: ${agent.daemon.output().slice(-2000)}`);
      const cpu = cpuTimes(agent.pid);
      const mem = memory(agent.pid);
      const from = started + (minute - 1) * 60_000;
      const rounds = tracker.all().filter((round) => round.start >= from && round.start < from + 60_000);
      const lateness = summarize(rounds.map((round) => round.latenessMs));
      const announced = (await node.addresses()).filter((cidr) => cidr.startsWith(SERVICE_PREFIX)).length;
      const row: Minute = {
        minute,
        rssMb: summarize(samples).mean,
        rssMaxMb: Math.max(...samples),
        peakRssMb: mem.peakRssKb / 1024,
        cpuPercent: ((cpu.user + cpu.system - cpuBefore.user - cpuBefore.system) / 60) * 100,
        rounds: rounds.length,
        transitions: transitions - transitionsBefore,
        announced,
        latenessP50: lateness.p50,
        latenessP99: lateness.p99,
        latenessMax: lateness.max,
      };
      minutes.push(row);
      cpuBefore = cpu;
      transitionsBefore = transitions;
      process.stdout.write(
        `minute ${minute}: RSS mean ${fmt(row.rssMb)} max ${fmt(row.rssMaxMb)} MB, CPU ${fmt(row.cpuPercent)} %, ${row.rounds} rounds, ${row.transitions} state changes, ${announced} announced, lateness p50 ${fmt(row.latenessP50)} p99 ${fmt(row.latenessP99)} max ${fmt(row.latenessMax)} ms\n`,
      );
    }
    agent.signal('SIGTERM');
    const exitCode = await agent.exited;
    await waitFor('addresses withdrawn at exit', async () => (await node.addresses()).filter((cidr) => cidr.startsWith(SERVICE_PREFIX)).length === 0, {
      timeoutMs: 5000,
    });

    // The first minute is warm-up; the second is the baseline the rest is compared with.
    const steady = minutes.slice(1);
    const afterWarmUp = steady[0] ?? minutes[0]!;
    const last = minutes[minutes.length - 1]!;
    const rssGrowthPercent = ((last.rssMb - afterWarmUp.rssMb) / afterWarmUp.rssMb) * 100;
    const summary = {
      rssAfterWarmUpMb: afterWarmUp.rssMb,
      rssEndMb: last.rssMb,
      rssGrowthPercent,
      rssMaxAfterWarmUpMb: Math.max(...steady.map((m) => m.rssMb)),
      latenessP99FirstMinuteAfterWarmUp: steady[0]?.latenessP99,
      latenessP99LastMinute: last.latenessP99,
      latenessP99Range: [Math.min(...steady.map((m) => m.latenessP99)), Math.max(...steady.map((m) => m.latenessP99))],
      cpuPercentMedian: summarize(steady.map((m) => m.cpuPercent)).p50,
      exitCode,
    };
    process.stdout.write(`\nSoak: ${SERVICES} services, ${FAIL_PERCENT}% failing at random, ${MINUTES} min\n`);
    process.stdout.write(
      `RSS (mean per minute) in minute ${afterWarmUp.minute} ${fmt(afterWarmUp.rssMb)} MB, in minute ${last.minute} ${fmt(last.rssMb)} MB: growth ${fmt(rssGrowthPercent)} % (target < 10 %)\n`,
    );
    process.stdout.write(`lateness p99 per minute after warm-up: ${steady.map((m) => fmt(m.latenessP99)).join(', ')} ms\n`);
    const file = writeResult('soak', {
      settings: { minutes: MINUTES, services: SERVICES, failPercent: FAIL_PERCENT, reshuffleMs: 20_000, intervalMs: INTERVAL_MS },
      minutes,
      summary,
    });
    process.stdout.write(`wrote ${file}\n`);
  } finally {
    await lab.destroy();
  }
}

await main();
