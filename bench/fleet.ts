// keep_last in the three-node lab (lab/fleet.ts): (1) the simultaneous failure repeated: all three DNS servers killed
// in one tick, how often exactly one advertiser remained (and said kept_last), how long until the router had one next
// hop, and how long the router had no route at all (sampled every 20 ms, and `ip monitor route` deletions); (2) a
// chaos run (test/e2e/support/fleet-chaos.ts): random faults for minutes with a client on the router.
// (3) with --frr-restarts N: how long after a node's FRR restart the router has its service LSA again.
// Usage (root): node dist/bench/fleet.js [--reps 20] [--chaos 180s] [--seed N] [--frr-restarts N]
import { buildFleetLab, FLEET_ADDRESS, GUARD_MS, type FleetLab } from '../lab/fleet.js';
import { parseDuration } from '../src/config/duration.js';
import { runChaos } from '../test/e2e/support/fleet-chaos.js';
import { startFrr, vtysh, waitForAdjacencies } from '../lab/frr.js';
import { FLEET_COMMANDS as LSDB_COMMANDS, parseOspfExternalFleet } from '../src/fleet/lsdb.js';
import { keyValueTable, writeResult } from './lib/report.js';
import { fmt, summarize } from './lib/stats.js';

function option(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? (process.argv[index + 1] ?? fallback) : fallback;
}

const REPS = Number(option('reps', '20'));
const CHAOS_MS = parseDuration(option('chaos', '180s')) ?? 180_000;
const SEED = Number(option('seed', String(Date.now() % 1_000_000)));
const RESTARTS = Number(option('frr-restarts', '0'));
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

// (3) A node's FRR stopped for 1-3 s and started again (as the chaos run does), N times: when its adjacency is Full
// again, and when the router's LSDB and kernel table have its service LSA / route again.
async function frrRestarts(): Promise<{ downMs: number; fullMs: number; lsaMs: number | undefined; routeMs: number | undefined }[]> {
  const fleet = await buildFleetLab({ name: 'benchrestart' });
  const results = [];
  try {
    await fleet.waitForHops(ALL, 30_000);
    const node = fleet.nodes.find((candidate) => candidate.name === 'a')!;
    for (let rep = 0; rep < RESTARTS; rep += 1) {
      const old = node.frr!;
      const downMs = 1000 + ((rep * 400) % 2400);
      await old.stop();
      await sleep(downMs);
      const started = Date.now();
      const fresh = await startFrr({ ...old.options, netns: old.netns, dir: old.dir });
      node.frr = fresh;
      fleet.dns.lab.onDestroy('frr a restarted', () => fresh.stop());
      await waitForAdjacencies(fresh, 1, 30_000);
      const fullMs = Date.now() - started;
      let lsaMs: number | undefined;
      let routeMs: number | undefined;
      while (Date.now() - started < 20_000 && (lsaMs === undefined || routeMs === undefined)) {
        const lsdb = parseOspfExternalFleet(JSON.parse(await vtysh(fleet.dns.router.frr!.dir, [LSDB_COMMANDS[4]], 3000)));
        if (lsaMs === undefined && lsdb.advertisers.get(`${FLEET_ADDRESS}/32`)?.has(old.options.routerId)) lsaMs = Date.now() - started;
        if (routeMs === undefined && (await fleet.hops()).includes('a')) routeMs = Date.now() - started;
        await sleep(50);
      }
      const result = { downMs, fullMs, lsaMs, routeMs };
      results.push(result);
      process.stdout.write(`frr restart ${rep + 1}/${RESTARTS}: ${JSON.stringify(result)}\n`);
      await sleep(2000);
    }
  } finally {
    await fleet.destroy();
  }
  return results;
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
  const restarts = RESTARTS > 0 ? await frrRestarts() : [];
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
  if (restarts.length > 0) {
    const after = (key: 'lsaMs' | 'routeMs') => summarize(restarts.map((r) => (r[key] ?? Number.NaN) - r.fullMs).filter(Number.isFinite));
    entries.push(
      ['FRR restarts of one node', String(restarts.length)],
      ['... its adjacency Full after start (ms)', `median ${fmt(summarize(restarts.map((r) => r.fullMs)).p50)}`],
      ['... its LSA at the router after Full (ms)', `median ${fmt(after('lsaMs').p50)} max ${fmt(after('lsaMs').max)}`],
      ['... the route via it after Full (ms)', `median ${fmt(after('routeMs').p50)} max ${fmt(after('routeMs').max)}`],
    );
  }
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
  const file = writeResult('fleet', { reps, restarts, chaos: chaosResult, guardMs: GUARD_MS });
  process.stdout.write(`\nwrote ${file}\n`);
}

await main();
