// The contract between the supervisor, the reconciler (the single writer) and the kernel backends.

// address: on the interface (redistribute connected); route: kernel route with our proto (redistribute kernel);
// bgp: a `network ADDR/32|128` statement under `router bgp ASN` in FRR, configured through vtysh (announce: bgp).
export type EntryKind = 'address' | 'route' | 'bgp';

// The `interface` of every bgp entry: a network statement belongs to no interface, and one fixed value keeps keys stable.
export const BGP_INTERFACE = 'bgp';
// The `interface` of a statement held back during a drain: configured, so bgpd keeps the route in its table, but denied
// on every neighbour's outbound hold list (bgp-commands.ts), so no neighbour hears it. The next announcement only
// deletes the deny entry, which reaches the router in a few ms, where a new statement waits for bgpd's 50 ms queue.
export const HELD_INTERFACE = 'bgp-held';

export const ENTRY_KINDS: readonly EntryKind[] = ['address', 'route', 'bgp'];

// What a backend that declares no `kinds` handles (the ip backend).
export const KERNEL_KINDS: readonly EntryKind[] = ['address', 'route'];

// One thing healthcast can put on the system for a service address.
export interface RoutingEntry {
  kind: EntryKind;
  address: string; // canonical host address, no prefix length
  interface: string; // BGP_INTERFACE (or HELD_INTERFACE) for kind bgp
}

// What the supervisor wants on the system right now, and for which service.
export interface DesiredEntry extends RoutingEntry {
  service: string;
}

// What the backend sees on the system. Addresses are listed on every interface, ours or not;
// routes only with healthcast's proto number.
export interface KernelEntry extends RoutingEntry {
  label?: string;
  prefixLength?: number; // addresses only: a non-host prefix (e.g. 192.0.2.53/24) is never ours but still conflicts
  dynamic?: boolean; // addresses only: it has a lifetime (valid_lft), i.e. a lease
}

export interface RoutingOp {
  action: 'add' | 'remove';
  entry: RoutingEntry;
}

// Side effects on the kernel: the real one runs `ip`, tests use an in-memory one.
export interface RoutingBackend {
  // Kinds it can list and apply (default KERNEL_KINDS); the reconciler never plans, removes or forgets recorded entries
  // of other kinds, so a record with bgp entries survives a pass over a backend that cannot see them.
  readonly kinds?: readonly EntryKind[];
  // Interfaces that park addresses during a drain: the ip backend puts them there under a /31 or /127 prefix, so FRR's
  // zebra sees a different connected prefix and the same address may sit there and on lo at once. The reconciler adds
  // there before it removes elsewhere, and removes from there after it adds elsewhere: the host never lacks the address.
  readonly parkingInterfaces?: readonly string[];
  // May throw PartialListError (partial-list.ts): some kinds listed, others not; the rest are left alone that pass.
  list(): Promise<KernelEntry[]>;
  // Applies a batch; a partial failure throws, and the caller re-lists to see what took effect.
  apply(ops: readonly RoutingOp[]): Promise<void>;
  // Renews the lease of addresses it added (ip: one `address replace ... valid_lft` batch); absent when it has no lease.
  // A partial failure throws RoutingBatchError with the failed entries (as ops with action 'add').
  renew?(entries: readonly RoutingEntry[]): Promise<void>;
  // Releases long-lived helpers (the ip backend's ip process) and removes what the backend created and nothing uses
  // any more (an empty drain interface); the backend stays usable and recreates them on demand.
  close?(): void | Promise<void>;
}

// The write-ahead record of what healthcast added, so it only ever removes its own.
export interface OwnershipStore {
  load(): Promise<RoutingEntry[]>;
  save(entries: readonly RoutingEntry[]): Promise<void>;
}

export type EntryStatus =
  | { state: 'present' }
  | { state: 'conflict'; reason: string } // on the system but not added by healthcast: never touched
  | { state: 'error'; reason: string }; // could not be added or recorded

export interface ReconcileReport {
  // Status of every desired entry, keyed by entryKey().
  desired: Map<string, EntryStatus & { service: string }>;
  added: RoutingEntry[];
  removed: RoutingEntry[];
  errors: string[];
  durationMs: number;
  // Leased addresses re-added because their lease ran out while the agent lived (renewed too late); absent when none.
  expired?: RoutingEntry[];
}

export function entryKey(entry: RoutingEntry): string {
  return `${entry.kind}|${entry.interface}|${entry.address}`;
}

// As an operator would type it back: `route X dev lo`, `X dev lo`, `bgp network X` (a statement has no interface).
export function describeEntry(entry: RoutingEntry): string {
  if (entry.kind === 'bgp') return `bgp network ${entry.address}${entry.interface === HELD_INTERFACE ? ' (held back)' : ''}`;
  return `${entry.kind === 'route' ? 'route ' : ''}${entry.address} dev ${entry.interface}`;
}
