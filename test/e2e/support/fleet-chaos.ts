// A fleet chaos run in the three-node keep_last lab (lab/fleet.ts): a client on the router queries the anycast address
// while random faults hit the nodes (a DNS server killed and restarted, two at once, a node's FRR restarted, an agent
// frozen with SIGSTOP and resumed). Reports queries lost, the longest gap, the time the router had no route while a
// node was healthy, and the addresses left behind once the agents stopped. Shared by bench/fleet.ts and the short
// version in test/reliability/fleet-chaos.test.ts.
import { startFrr, waitForAdjacencies } from '../../../lab/frr.js';
import { FLEET_ADDRESS, type FleetLab } from '../../../lab/fleet.js';
import { startDnsLoad } from './dns-load.js';
import { hostEntries } from '../../reliability/support/kernel.js';
import { vtysh } from '../../../lab/frr.js';
import { FLEET_COMMANDS as LSDB_COMMANDS, parseOspfExternalFleet } from '../../../src/fleet/lsdb.js';

export interface ChaosOptions {
  durationMs: number;
  seed: number;
  // Queries per second from the router.
  rate?: number;
  // A node counts as healthy once its DNS server has run this long (rise 2 x 200 ms, plus convergence and slack for
  // a busy machine) with its agent and FRR running (after an FRR restart: from when the router has its LSA again).
  healthyAfterMs?: number;
  log?: (line: string) => void;
}

export interface ChaosResult {
  seed: number;
  faults: string[];
  sent: number;
  lost: number;
  // Longest time from a failed query to the next answered one.
  longestGapMs: number;
  // The router had no route to the address while at least one node was healthy.
  zeroWhileHealthyMs: number;
  // The router had no route at all (whatever the nodes' health), after the first advertisement.
  zeroMs: number;
  // Nodes (or the router) still holding the address / route after every agent stopped.
  stale: string[];
  // Each stretch without a route while a node was healthy: when (epoch ms), who was healthy, and what the router's
  // LSDB and the agents said at its start (to find the cause).
  episodes: ChaosEpisode[];
}

export interface ChaosEpisode {
  start: number;
  end: number;
  healthy: string[];
  seen: string;
}

// mulberry32: a small seeded generator, so a run can be repeated from its seed.
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function runChaos(fleet: FleetLab, options: ChaosOptions): Promise<ChaosResult> {
  const rand = random(options.seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;
  const names = fleet.nodes.map((node) => node.name);
  const healthyAfterMs = options.healthyAfterMs ?? 2000;
  const log = options.log ?? (() => undefined);
  // Per node: since when its DNS server, agent and FRR have all been running (undefined: one of them is not).
  const upSince = new Map<string, number | undefined>(names.map((name) => [name, Date.now()]));
  const busy = new Set<string>();
  const faults: string[] = [];
  const end = Date.now() + options.durationMs;

  const load = await startDnsLoad(fleet.dns.lab, fleet.dns.router, {
    targets: [FLEET_ADDRESS],
    port: fleet.dns.port,
    rate: options.rate ?? 20,
    durationMs: options.durationMs,
    timeoutMs: 300,
    name: `chaos-client-${options.seed}`,
  });

  let zeroWhileHealthyMs = 0;
  let zeroMs = 0;
  const episodes: ChaosEpisode[] = [];
  let episode: ChaosEpisode | undefined;
  // What the router's LSDB and each agent said, once per episode (in the background: sampling goes on).
  const describe = async (into: ChaosEpisode) => {
    const parts: string[] = [];
    try {
      const lsdb = parseOspfExternalFleet(JSON.parse(await vtysh(fleet.dns.router.frr!.dir, [LSDB_COMMANDS[4]], 3000)));
      parts.push(`router LSDB: ${[...(lsdb.advertisers.get(`${FLEET_ADDRESS}/32`) ?? [])].join(' ') || 'none'}`);
    } catch (error) {
      parts.push(`router LSDB: ${String(error)}`);
    }
    for (const name of names) {
      const status = await fleet.status(name, 1000).catch((error: unknown) => String(error));
      parts.push(
        `${name}: ${typeof status === 'string' ? status : JSON.stringify({ state: status.state, kept_last: status.kept_last, advertisers: status.advertisers })}`,
      );
    }
    into.seen = parts.join('; ');
  };
  let sampling = true;
  const sampler = (async () => {
    let last = Date.now();
    while (sampling) {
      const hops = await fleet.hops();
      const now = Date.now();
      const healthy = names.filter((name) => {
        const since = upSince.get(name);
        return since !== undefined && now - since >= healthyAfterMs;
      });
      if (hops.length === 0) {
        zeroMs += now - last;
        if (healthy.length > 0) {
          zeroWhileHealthyMs += now - last;
          log(`no route while ${healthy.join(', ')} healthy`);
          if (!episode) {
            episode = { start: last, end: now, healthy, seen: '' };
            episodes.push(episode);
            void describe(episode);
          }
          episode.end = now;
        } else episode = undefined;
      } else episode = undefined;
      last = now;
      await sleep(50);
    }
  })();

  const down = (name: string) => upSince.set(name, undefined);
  const routerSees = async (routerId: string, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const lsdb = await vtysh(fleet.dns.router.frr!.dir, [LSDB_COMMANDS[4]], 3000).catch(() => undefined);
      if (lsdb && parseOspfExternalFleet(JSON.parse(lsdb)).advertisers.get(`${FLEET_ADDRESS}/32`)?.has(routerId)) return;
      await sleep(100);
    }
  };
  const up = (name: string) => {
    if (fleet.dnsRunning(name)) upSince.set(name, Date.now());
  };
  const faultKinds = ['dns', 'dns', 'two-dns', 'frr', 'pause'] as const;
  const running: Promise<void>[] = [];
  while (Date.now() < end - 6000) {
    await sleep(1500 + rand() * 2500);
    const free = names.filter((name) => !busy.has(name));
    if (free.length === 0) continue;
    const kind = pick(faultKinds);
    const outage = 1000 + rand() * 3000;
    const victims = kind === 'two-dns' && free.length >= 2 ? [free.splice(Math.floor(rand() * free.length), 1)[0]!, pick(free)] : [pick(free)];
    faults.push(`${((options.durationMs - (end - Date.now())) / 1000).toFixed(1)}s ${kind} ${victims.join('+')} ${Math.round(outage)}ms`);
    log(faults.at(-1)!);
    for (const name of victims) busy.add(name);
    const fault = (async () => {
      if (kind === 'dns' || kind === 'two-dns') {
        for (const name of victims) down(name);
        await fleet.killDns(victims);
        await sleep(outage);
        for (const name of victims) await fleet.startDns(name);
        for (const name of victims) up(name);
      } else if (kind === 'frr') {
        const node = fleet.nodes.find((candidate) => candidate.name === victims[0])!;
        down(node.name);
        const old = node.frr!;
        await old.stop();
        await sleep(outage);
        const fresh = await startFrr({ ...old.options, netns: old.netns, dir: old.dir });
        node.frr = fresh;
        fleet.dns.lab.onDestroy(`frr ${node.name} restarted`, () => fresh.stop());
        await waitForAdjacencies(fresh, 1, 30_000);
        // A restarted ospfd's service LSA reaches the router 4.3-5.0 s after its adjacency is Full (FRR 8.4, 12 of 12
        // restarts in this lab, bench/fleet.ts --frr-restarts): until then the node serves nobody, whatever the agent
        // does; it counts as healthy from there (at most 15 s later).
        await routerSees(fresh.options.routerId, 15_000);
        up(node.name);
      } else {
        const name = victims[0]!;
        down(name);
        fleet.agent(name).signal('SIGSTOP');
        await sleep(outage);
        fleet.agent(name).signal('SIGCONT');
        up(name);
      }
      for (const name of victims) busy.delete(name);
    })();
    running.push(fault);
  }
  await Promise.all(running);
  const queries = await load.finished;
  sampling = false;
  await sampler;

  let longestGapMs = 0;
  let gapStart: number | undefined;
  for (const query of queries) {
    if (!query.ok) gapStart ??= query.t;
    else if (gapStart !== undefined) {
      longestGapMs = Math.max(longestGapMs, query.t - gapStart);
      gapStart = undefined;
    }
  }
  if (gapStart !== undefined) longestGapMs = Math.max(longestGapMs, Date.now() - gapStart);

  // Stale addresses: every agent stopped (SIGTERM) must leave nothing behind, on the nodes or at the router.
  await Promise.all(
    names.map(async (name) => {
      const agent = fleet.agent(name);
      agent.signal('SIGTERM');
      await agent.exited;
    }),
  );
  await sleep(1500);
  const stale: string[] = [];
  for (const node of fleet.nodes) if ((await hostEntries(node.netns)).addresses.some((address) => address.startsWith(FLEET_ADDRESS))) stale.push(node.name);
  if ((await fleet.hops()).length > 0) stale.push('router');
  return {
    seed: options.seed,
    faults,
    sent: queries.length,
    lost: queries.filter((query) => !query.ok).length,
    longestGapMs,
    zeroWhileHealthyMs,
    zeroMs,
    stale,
    episodes,
  };
}
