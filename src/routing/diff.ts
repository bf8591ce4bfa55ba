// Pure planning for one reconcile pass: what to add, what to remove, what to record, what to leave alone.
import { entryKey, type DesiredEntry, type KernelEntry, type RoutingEntry, type RoutingOp } from './types.js';
import { isHostEntry } from './label.js';

// A desired entry whose address is already on the system and was not added by healthcast.
export interface Conflict {
  entry: DesiredEntry;
  holders: KernelEntry[];
}

export interface Plan {
  // One ip batch, make-before-break where the kernel and FRR allow it: adds to a parking interface, removals, other adds,
  // removals from a parking interface. A route moving to another interface must free its destination first ("File
  // exists"), and an address moving between two ordinary interfaces must leave the first one first: FRR 8.4's zebra,
  // seeing one connected prefix on two interfaces, drops the wrong one and keeps advertising it. A parked address has
  // another prefix length (see PlanOptions), so it can arrive before the address leaves lo and leave after it is back.
  // bgp network statements go first when removed and last when added: the announcement stops before the address goes
  // and starts once it is there.
  ops: RoutingOp[];
  adds: DesiredEntry[];
  removes: RoutingEntry[];
  // Desired, owned and on the system already: nothing to do.
  present: DesiredEntry[];
  conflicts: Conflict[];
  // Owned and desired but gone from the system (someone else removed it): part of `adds`.
  drifted: DesiredEntry[];
  // Owned, gone from the system and no longer desired: forgotten, never touched.
  stale: RoutingEntry[];
  // Written before any add is applied (write-ahead), so a crash never leaves an unrecorded entry behind.
  recordBeforeApply: RoutingEntry[];
}

// Identity of an address on the system regardless of interface: presence on ANY interface blocks an add.
function presenceKey(entry: RoutingEntry): string {
  return `${entry.kind}|${entry.address}`;
}

function strip(entry: RoutingEntry): RoutingEntry {
  return { kind: entry.kind, address: entry.address, interface: entry.interface };
}

// One entry per key, first one wins, so duplicate desires from two services act once.
export function uniqueByKey<T extends RoutingEntry>(entries: readonly T[]): T[] {
  const seen = new Map<string, T>();
  for (const entry of entries) if (!seen.has(entryKey(entry))) seen.set(entryKey(entry), entry);
  return [...seen.values()];
}

export interface PlanOptions {
  // RoutingBackend.parkingInterfaces: where an address may coexist with itself on another interface.
  parkingInterfaces?: readonly string[];
}

// A statement is held or not by bgpd's hold list, not by the record: a recorded statement that bgpd lists the other
// way (a crash between a hold's two writes, a record from before holds) is the one listed, and still ours.
function asListed(record: readonly RoutingEntry[], kernel: readonly KernelEntry[]): RoutingEntry[] {
  const listed = new Set(kernel.map(entryKey));
  const statements = new Map(kernel.filter((entry) => entry.kind === 'bgp').map((entry) => [entry.address, entry]));
  return record.map((entry) => {
    const statement = statements.get(entry.address);
    return entry.kind === 'bgp' && statement && !listed.has(entryKey(entry)) ? strip(statement) : entry;
  });
}

export function plan(
  desiredInput: readonly DesiredEntry[],
  kernel: readonly KernelEntry[],
  ownedInput: readonly RoutingEntry[],
  options: PlanOptions = {},
): Plan {
  const desired = uniqueByKey(desiredInput);
  const owned = uniqueByKey(asListed(ownedInput, kernel)).map(strip);
  const ownedKeys = new Set(owned.map(entryKey));
  const desiredKeys = new Set(desired.map(entryKey));
  const onSystem = new Set(kernel.filter(isHostEntry).map(entryKey));
  const byAddress = new Map<string, KernelEntry[]>();
  for (const entry of kernel) {
    const list = byAddress.get(presenceKey(entry)) ?? [];
    list.push(entry);
    byAddress.set(presenceKey(entry), list);
  }

  const result: Plan = { ops: [], adds: [], removes: [], present: [], conflicts: [], drifted: [], stale: [], recordBeforeApply: [] };
  for (const entry of desired) {
    const key = entryKey(entry);
    const holders = (byAddress.get(presenceKey(entry)) ?? []).filter((k) => !(isHostEntry(k) && ownedKeys.has(entryKey(k))));
    if (holders.length > 0) result.conflicts.push({ entry, holders });
    else if (onSystem.has(key)) result.present.push(entry);
    else {
      result.adds.push(entry);
      if (ownedKeys.has(key)) result.drifted.push(entry);
    }
  }
  for (const entry of owned) {
    if (desiredKeys.has(entryKey(entry))) continue;
    if (onSystem.has(entryKey(entry))) result.removes.push(entry);
    else result.stale.push(entry);
  }

  const staleKeys = new Set(result.stale.map(entryKey));
  const kept = owned.filter((entry) => !staleKeys.has(entryKey(entry)));
  result.recordBeforeApply = uniqueByKey([...kept, ...result.adds.map(strip)]);
  const remove = (entry: RoutingEntry): RoutingOp => ({ action: 'remove', entry });
  const add = (entry: DesiredEntry): RoutingOp => ({ action: 'add', entry: strip(entry) });
  const parking = new Set(options.parkingInterfaces ?? []);
  const parked = (entry: RoutingEntry) => entry.kind === 'address' && parking.has(entry.interface);
  const kernelSide = (entry: RoutingEntry) => entry.kind !== 'bgp' && !parked(entry);
  result.ops = [
    ...result.removes.filter((entry) => entry.kind === 'bgp').map(remove),
    ...result.adds.filter(parked).map(add),
    ...result.removes.filter(kernelSide).map(remove),
    ...result.adds.filter(kernelSide).map(add),
    ...result.removes.filter(parked).map(remove),
    ...result.adds.filter((entry) => entry.kind === 'bgp').map(add),
  ];
  return result;
}

// After applying, keep only what a fresh listing shows: an add that failed is not ours, a remove that failed still is.
export function settleRecord(record: readonly RoutingEntry[], kernel: readonly KernelEntry[]): RoutingEntry[] {
  const onSystem = new Set(kernel.filter(isHostEntry).map(entryKey));
  return uniqueByKey(asListed(record, kernel))
    .filter((entry) => onSystem.has(entryKey(entry)))
    .map(strip);
}

// Order-insensitive equality, to skip rewriting an unchanged record.
export function sameEntries(a: readonly RoutingEntry[], b: readonly RoutingEntry[]): boolean {
  const keys = new Set(a.map(entryKey));
  const other = new Set(b.map(entryKey));
  return keys.size === other.size && [...keys].every((key) => other.has(key));
}
