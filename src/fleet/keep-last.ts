// Pure: keep_last, the rule that stops a fleet from withdrawing its last advertisement when every node fails at once.
// A failing node reads who advertises each of its service's addresses (the LSDB, no messages between nodes) and:
//
//   advertisers unknown (FRR not answering)          -> withdraw, as without keep_last (and say why)
//   some address advertised by no other router       -> keep: this node is the last one (kept_last)
//   every address also advertised by others, and
//     another of them has a higher router-id         -> withdraw now (the highest one decides for the fleet)
//     this node has the highest router-id            -> guard: stay, decide again with a fresh view once the guard
//                                                       period is over (the others' withdrawals have reached it);
//                                                       still others then -> withdraw; alone -> keep
//
// All fail together: every node sees the same set, all but the highest withdraw at once, and the highest, at the end
// of its guard, sees only itself: exactly one stays. Some fail: the failing ones withdraw (at once, or the highest
// after its guard, since the healthy ones still advertise): no extra advertiser remains.
// Table-tested in test/unit/fleet/keep-last.test.ts.
import { normalizePrefix } from '../frr/advertised.js';
import type { FleetSnapshot } from './lsdb.js';
import { compareRouterIds } from './lsdb.js';

export interface KeepInput {
  snapshot: FleetSnapshot | undefined;
  addresses: readonly string[];
  now: number;
  guardMs: number;
  // The guard period in progress: until when (undefined: none started).
  guardUntil: number | undefined;
  // How long this node's last LSDB read took: the others decide after a read of their own, so the guard is at least
  // 3x that (on a loaded machine reads took 1-2 s and a 1 s guard let the highest node withdraw too, bench/fleet.ts).
  readMs?: number | undefined;
}

export type KeepDecision =
  { action: 'withdraw'; reason: string; unknown?: true } | { action: 'keep'; reason: string } | { action: 'guard'; until: number; reason: string };

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
  const ids = [...others].sort(compareRouterIds).join(', ');
  if (input.guardUntil === undefined) {
    const guardMs = Math.max(input.guardMs, 3 * (input.readMs ?? 0));
    return {
      action: 'guard',
      until: input.now + guardMs,
      reason: `highest router-id among the advertisers (others: ${ids}): waiting ${guardMs}ms before deciding`,
    };
  }
  if (input.now < input.guardUntil) return { action: 'guard', until: input.guardUntil, reason: `guard period: others (${ids}) still advertise` };
  return { action: 'withdraw', reason: `others (${ids}) still advertise after the guard period` };
}
