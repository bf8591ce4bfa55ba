// Pure: the status of every desired entry at the end of a pass, from what the pass saw and did. The reconciler gathers
// the facts; the order of precedence is decided here, in one place.
import type { Conflict } from './diff.js';
import { entryKey, type DesiredEntry, type EntryKind, type EntryStatus, type RoutingEntry } from './types.js';

// What a listing of the system showed, or why there is none.
export type ListingOutcome =
  | {
      // entryKey()s of host entries on the system.
      present: ReadonlySet<string>;
      // Kinds not listed (backend does not handle them, or FRR unreachable), and why.
      unreadable: ReadonlyMap<EntryKind, string>;
    }
  | { error: string };

export interface PassFacts {
  desired: readonly DesiredEntry[];
  // The listing the plan was made from.
  before: ListingOutcome;
  conflicts: readonly Conflict[];
  // Adds skipped because the write-ahead record could not be saved.
  unrecorded?: { entries: readonly RoutingEntry[]; reason: string };
  // The listing after applying (the one before when nothing was applied).
  after: ListingOutcome;
  // entryKey()s of what the record names once settled against `after`.
  owned: ReadonlySet<string>;
  // The batch's failure, if it failed: per-op reasons (RoutingBatchError) and the error's own reason for the rest.
  applyFailure?: { perEntry: ReadonlyMap<string, string>; reason: string };
}

// A desired entry already on the system under another owner, in words an operator can act on.
export function conflictReason(conflict: Conflict): string {
  const where = conflict.holders
    .map((h) => `${h.interface}${h.prefixLength !== undefined ? ` as ${h.address}/${h.prefixLength}` : ''}${h.label ? ` (label ${h.label})` : ''}`)
    .join(', ');
  if (conflict.entry.kind === 'bgp')
    return `a bgpd network statement for ${conflict.entry.address} is already configured and was not added by healthcast; leaving it alone`;
  const what = conflict.entry.kind === 'route' ? `a kernel route to ${conflict.entry.address} with healthcast's proto` : `address ${conflict.entry.address}`;
  return `${what} is already on ${where} and was not added by healthcast; leaving it alone`;
}

// First match wins, in the order the pass went: could not read, someone else's, not recorded, could not re-read,
// then what the listing after applying shows (present only when also ours), and why not.
export function statusesAfter(facts: PassFacts): Map<string, EntryStatus> {
  const conflicts = new Map(facts.conflicts.map((conflict) => [entryKey(conflict.entry), conflictReason(conflict)]));
  const unrecorded = new Set((facts.unrecorded?.entries ?? []).map(entryKey));
  const statuses = new Map<string, EntryStatus>();
  for (const entry of facts.desired) statuses.set(entryKey(entry), statusOf(entry, facts, conflicts, unrecorded));
  return statuses;
}

function statusOf(entry: DesiredEntry, facts: PassFacts, conflicts: ReadonlyMap<string, string>, unrecorded: ReadonlySet<string>): EntryStatus {
  const key = entryKey(entry);
  const { before, after, applyFailure } = facts;
  if ('error' in before) return { state: 'error', reason: `cannot list the kernel's addresses and routes: ${before.error}` };
  const notListed = before.unreadable.get(entry.kind);
  if (notListed !== undefined) return { state: 'error', reason: `cannot list ${entry.kind} entries: ${notListed}` };
  const conflict = conflicts.get(key);
  if (conflict !== undefined) return { state: 'conflict', reason: conflict };
  if (unrecorded.has(key)) return { state: 'error', reason: `not added: ${facts.unrecorded!.reason} (healthcast only adds what it has recorded as its own)` };
  if ('error' in after) return { state: 'error', reason: `cannot list the kernel after applying: ${after.error}` };
  const notListedAfter = after.unreadable.get(entry.kind);
  if (notListedAfter !== undefined) return { state: 'error', reason: `cannot list ${entry.kind} entries after applying: ${notListedAfter}` };
  if (after.present.has(key) && facts.owned.has(key)) return { state: 'present' };
  const failed = applyFailure?.perEntry.get(key);
  if (failed !== undefined) return { state: 'error', reason: `could not be added: ${failed}` };
  if (applyFailure !== undefined) return { state: 'error', reason: `could not be added: ${applyFailure.reason}` };
  return { state: 'error', reason: 'not on the system after applying, although the backend reported success' };
}
