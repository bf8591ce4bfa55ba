// Pure: keep_last, the rule that stops a fleet from withdrawing its last advertisement when every node fails at once.
// A failing node reads who advertises each of its service's addresses (the LSDB, no messages between nodes) and:
//
//   advertisers unknown (FRR not answering)          -> withdraw, as without keep_last (and say why)
//   some address advertised by no other router       -> keep: this node is the last one (kept_last)
//   every address also advertised by others, and
//     another of them has a higher router-id         -> withdraw now (the highest one decides for the fleet)
//     this node has the highest router-id            -> guard: stay, decide again with a fresh view once the guard
//                                                       period is over (the others' withdrawals have reached it);
//                                                       the others changed meanwhile -> guard again from now;
//                                                       the same others still -> withdraw; alone -> keep
//
// The guard is the configured keep_last_guard, or longer: the time another node may take to notice the same failure
// (fall x interval + timeout) plus three of this node's slowest recent LSDB reads (one in flight, one fresh, the
// withdrawal's spread), since every node decides after reads of its own.
// All fail together: every node sees the same set, all but the highest withdraw as soon as they notice, and the
// highest waits until the set has stopped shrinking for a whole guard: it sees only itself and exactly one stays.
// Some fail: the failing ones withdraw (at once, or the highest after its guard, since the healthy ones still
// advertise and the set stays put): no extra advertiser remains.
// Table-tested in test/unit/fleet/keep-last.test.ts.
import { normalizePrefix } from '../frr/advertised.js';
import type { FleetSnapshot } from './lsdb.js';
import { compareRouterIds } from './lsdb.js';

export interface KeepInput {
  snapshot: FleetSnapshot | undefined;
  addresses: readonly string[];
  now: number;
  guardMs: number;
  // The guard period in progress: until when (undefined: none started), and the other advertisers when it began.
  guardUntil: number | undefined;
  guardOthers?: readonly string[] | undefined;
  // The slowest recent LSDB read on this node (ms): the others decide after reads of their own, one perhaps in flight
  // and one fresh, so the guard is at least 3x that (on a loaded machine reads took 1-2 s, bench/fleet.ts).
  readMs?: number | undefined;
  // How much later than this node another can notice the same failure (fall x interval + timeout, ms): the guard
  // covers it too.
  detectionMs?: number | undefined;
}

export type KeepDecision =
  | { action: 'withdraw'; reason: string; unknown?: true }
  | { action: 'keep'; reason: string }
  | { action: 'guard'; until: number; others: string[]; reason: string };

// How long the highest advertiser waits: the configured guard, or longer when reads or detection are slower.
export function guardLength(input: Pick<KeepInput, 'guardMs' | 'readMs' | 'detectionMs'>): number {
  return Math.max(input.guardMs, Math.round((input.detectionMs ?? 0) + 3 * (input.readMs ?? 0)));
}

export function decideKeep(input: KeepInput): KeepDecision {
  const { snapshot } = input;
  if (!snapshot) return { action: 'withdraw', reason: 'advertisers unknown (FRR could not be asked): withdrawing as without keep_last', unknown: true };
  const self = snapshot.routerId;
  const others = new Set<string>();
  for (const address of input.addresses) {
    const here = [...(snapshot.advertisers.get(normalizePrefix(address)) ?? [])].filter((id) => id !== self);
    if (here.length === 0) return { action: 'keep', reason: `no other router advertises ${address}: keeping the last advertisement` };
    for (const id of here) others.add(id);
  }
  const higher = [...others].filter((id) => compareRouterIds(id, self) > 0).sort(compareRouterIds);
  if (higher.length > 0)
    return { action: 'withdraw', reason: `other routers advertise every address; ${higher.at(-1)} (higher router-id) decides for the fleet` };
  const sorted = [...others].sort(compareRouterIds);
  const ids = sorted.join(', ');
  if (input.guardUntil === undefined) {
    const ms = guardLength(input);
    return {
      action: 'guard',
      until: input.now + ms,
      others: sorted,
      reason: `highest router-id among the advertisers (others: ${ids}): waiting ${ms}ms before deciding`,
    };
  }
  // Withdrawals still arriving (or routers coming back): the fleet is not settled, so the period starts again; a guard
  // that ended while the others' withdrawals were on their way let the highest withdraw too (bench/fleet.ts).
  const before = (input.guardOthers ?? sorted).join(', ');
  if (before !== ids) {
    const ms = guardLength(input);
    return {
      action: 'guard',
      until: input.now + ms,
      others: sorted,
      reason: `advertisers changed during the guard period (${before} -> ${ids}): waiting ${ms}ms again`,
    };
  }
  if (input.now < input.guardUntil)
    return { action: 'guard', until: input.guardUntil, others: sorted, reason: `guard period: others (${ids}) still advertise` };
  return { action: 'withdraw', reason: `others (${ids}) still advertise after the guard period` };
}

// A node that withdrew for the fleet (another one decides) while still failing stands by: if a reading then shows some
// address advertised by no router at all (the one it deferred to withdrew too, in a race no timing rule closes: it
// ended its guard just as the others were failing), it announces again and the rule above picks one anew.
export function orphanedAddress(snapshot: FleetSnapshot | undefined, addresses: readonly string[]): string | undefined {
  if (!snapshot) return undefined;
  return addresses.find((address) => [...(snapshot.advertisers.get(normalizePrefix(address)) ?? [])].every((id) => id === snapshot.routerId));
}
