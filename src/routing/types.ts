// The contract between the supervisor, the reconciler (the single writer) and the kernel backends.

// One thing healthcast can put on the system for a service address.
export interface RoutingEntry {
  kind: 'address' | 'route'; // address: on the interface (redistribute connected); route: kernel route with our proto (redistribute kernel)
  address: string; // canonical host address, no prefix length
  interface: string;
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
}

export interface RoutingOp {
  action: 'add' | 'remove';
  entry: RoutingEntry;
}

// Side effects on the kernel: the real one runs `ip`, tests use an in-memory one.
export interface RoutingBackend {
  // Creates what entries will need (the drain interface); called once before the first pass, safe to repeat.
  prepare?(): Promise<void>;
  list(): Promise<KernelEntry[]>;
  // Applies a batch; a partial failure throws, and the caller re-lists to see what took effect.
  apply(ops: readonly RoutingOp[]): Promise<void>;
}

// The write-ahead record of what healthcast added, so it only ever removes its own.
export interface OwnershipStore {
  load(): Promise<RoutingEntry[]>;
  save(entries: readonly RoutingEntry[]): Promise<void>;
}

export type EntryStatus =
  | { state: 'present' }
  | { state: 'absent' }
  | { state: 'conflict'; reason: string } // on the system but not added by healthcast: never touched
  | { state: 'error'; reason: string }; // could not be added or recorded

export interface ReconcileReport {
  // Status of every desired entry, keyed by entryKey().
  desired: Map<string, EntryStatus & { service: string }>;
  added: RoutingEntry[];
  removed: RoutingEntry[];
  errors: string[];
  durationMs: number;
}

export function entryKey(entry: RoutingEntry): string {
  return `${entry.kind}|${entry.interface}|${entry.address}`;
}
