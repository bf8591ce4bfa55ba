// keep_last in the three-node lab (lab/fleet.ts): (1) the simultaneous failure repeated: all three DNS servers killed
// in one tick, how often exactly one advertiser remained (and said kept_last), how long until the router had one next
// hop, and how long the router had no route at all (sampled every 20 ms, and `ip monitor route` deletions); (2) a
// chaos run (test/e2e/support/fleet-chaos.ts): random faults for minutes with a client on the router.
// Usage (root): node dist/bench/fleet.js [--reps 20] [--chaos 180s] [--seed N]
import { buildFleetLab, FLEET_ADDRESS, GUARD_MS, type FleetLab } from '../lab/fleet.js';
import { parseDuration } from '../src/config/duration.js';
import { runChaos } from '../test/e2e/support/fleet-chaos.js';
import { keyValueTable, writeResult } from './lib/report.js';
import { fmt, summarize } from './lib/stats.js';

function option(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? (process.argv[index + 1] ?? fallback) : fallback;
}

const REPS = Number(option('reps', '20'));
const CHAOS_MS = parseDuration(option('chaos', '180s')) ?? 180_000;
const SEED = Number(option('seed', String(Date.now() % 1_000_000)));
const ALL = ['a', 'b', 'c'];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Rep {
  exactlyOne: boolean;
  keptLast: boolean;
  toOneMs: number;
  unreachableMs: number;
  routeDeleted: number;
  kept: string;
}

// Until the router routes through one node and that node's status says kept_last.
async function settled(fleet: FleetLab, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const hops = await fleet.hops();
    if (hops.length === 1 && (await fleet.status(hops[0]!, 2000).catch(() => undefined))?.kept_last === true) return;
    await sleep(100);
  }
}

async function simultaneous(): Promise<Rep[]> {
  const fleet = await buildFleetLab({ name: 'benchfleet' });
  const reps: Rep[] = [];
  try {
    for (let rep = 0; rep < REPS; rep += 1) {
      for (const name of ALL) await fleet.startDns(name);
      await fleet.waitForHops(ALL, 30_000);
      const since = Date.now();
      let unreachableMs = 0;
      let sampling = true;
      const sampler = (async () => {
        let last = Date.now();
        while (sampling) {
          const hops = await fleet.hops();
          if (hops.length === 0) unreachableMs += Date.now() - last;
          last = Date.now();
          await sleep(20);
        }
      })();
      await fleet.killDns(ALL);
      const toOneMs = await fleet.waitForHops(['c'], 30_000).catch(() => Number.NaN);
      // The guard follows the nodes' LSDB reads (seconds on a loaded machine): wait until one node says kept_last (or
      // 20 s), then watch one more second.
      await settled(fleet, 20_000);
      await sleep(1000);
      sampling = false;
      await sampler;
      const hops = await fleet.hops();
      const status = hops.length === 1 ? await fleet.status(hops[0]!) : undefined;
      const routeDeleted = fleet.dns.routeMonitor.about(FLEET_ADDRESS).filter((event) => event.deleted && event.time >= since).length;
      const result = { exactlyOne: hops.length === 1, keptLast: status?.kept_last === true, toOneMs, unreachableMs, routeDeleted, kept: hops.join(',') };
      reps.push(result);
      process.stdout.write(`rep ${rep + 1}/${REPS}: ${JSON.stringify(result)}\n`);
      // Not exactly one, or a moment without a route: what each agent decided, for the record.
      if (!result.exactlyOne || result.unreachableMs > 0 || result.routeDeleted > 0) {
        for (const name of ALL) {
          const lines = fleet
            .agent(name)
            .lines()
            .filter((line) => line.time >= since && line.level >= 30);
          for (const line of lines) process.stdout.write(`  ${name} +${line.time - since}ms ${line.msg}: ${String(line.reason ?? '')}\n`);
        }
      }
    }
  } finally {
    await fleet.destroy();
  }
  return reps;
}

async function chaos() {
  const fleet = await buildFleetLab({ name: 'benchchaos' });
  try {
    const result = await runChaos(fleet, { durationMs: CHAOS_MS, seed: SEED, log: (line) => process.stdout.write(`chaos: ${line}\n`) });
    // Each stretch without a route while a node was healthy: what the router and agents said, and the agents' logs.
    for (const episode of result.episodes) {
      process.stdout.write(`no route ${episode.end - episode.start}ms while ${episode.healthy.join(', ')} healthy: ${episode.seen}\n`);
      for (const name of ALL) {
        const lines = fleet
          .agent(name)
          .lines()
          .filter((line) => line.time >= episode.start - 5000 && line.time <= episode.end + 1000 && line.level >= 30);
        for (const line of lines) process.stdout.write(`  ${name} ${line.time - episode.start}ms ${line.msg}: ${String(line.reason ?? '')}\n`);
      }
    }
    return result;
  } finally {
    await fleet.destroy();
  }
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the fleet benchmark needs root (network namespaces)');
  const reps = REPS > 0 ? await simultaneous() : [];
  const chaosResult = CHAOS_MS > 0 ? await chaos() : undefined;
  const toOne = summarize(reps.map((rep) => rep.toOneMs).filter(Number.isFinite));
  const entries: [string, string, string?][] = [
    ['simultaneous failures', String(reps.length)],
    ['exactly one advertiser remained', `${reps.filter((rep) => rep.exactlyOne).length}/${reps.length}`, 'goal: every time'],
    ['... and it said kept_last', `${reps.filter((rep) => rep.keptLast).length}/${reps.length}`],
    ['kill -> router via one node (ms)', `median ${fmt(toOne.p50)} max ${fmt(toOne.max)}`],
    ['router without a route (ms, sampled 20 ms)', `total ${reps.reduce((sum, rep) => sum + rep.unreachableMs, 0)}`, 'goal: 0'],
    ['route deleted (ip monitor)', String(reps.reduce((sum, rep) => sum + rep.routeDeleted, 0)), 'goal: 0'],
  ];
  if (chaosResult) {
    entries.push(
      ['chaos: duration, faults, seed', `${CHAOS_MS / 1000}s, ${chaosResult.faults.length}, ${chaosResult.seed}`],
      ['chaos: queries lost', `${chaosResult.lost}/${chaosResult.sent}`],
      ['chaos: longest gap (ms)', String(chaosResult.longestGapMs)],
      ['chaos: no route while a node was healthy (ms)', String(chaosResult.zeroWhileHealthyMs), 'goal: 0'],
      ['chaos: no route at all (ms)', String(chaosResult.zeroMs)],
      ['chaos: stale addresses at the end', chaosResult.stale.join(',') || '0', 'goal: 0'],
    );
  }
  process.stdout.write(`\n${keyValueTable('keep_last, three nodes', entries)}\n`);
  const file = writeResult('fleet', { reps, chaos: chaosResult, guardMs: GUARD_MS });
  process.stdout.write(`\nwrote ${file}\n`);
}

await main();
