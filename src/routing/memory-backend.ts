// An in-memory kernel for unit tests: same contract as the ip backend (plus bgp network statements, so one memory
// backend can stand for ip+bgp), with foreign entries and failure injection.
import { familyOf } from '../config/address.js';
import { ErrorCodes, HealthcastError } from '../errors.js';
import { RoutingBatchError, type OpFailure } from './batch-error.js';
import { healthcastLabel } from './label.js';
import { ENTRY_KINDS, entryKey, type EntryKind, type KernelEntry, type RoutingBackend, type RoutingEntry, type RoutingOp } from './types.js';

export class MemoryBackend implements RoutingBackend {
  private readonly entries = new Map<string, KernelEntry>();
  listCalls = 0;
  applyCalls = 0;
  readonly appliedBatches: RoutingOp[][] = [];
  // Return a reason to make that op fail (the others in the batch still apply, like `ip -force -batch`).
  failOp: ((op: RoutingOp) => string | undefined) | undefined;
  // When set, list() throws it.
  failList: string | undefined;
  // Runs before a batch is applied; may await (to hold a pass open) or throw (to simulate a crash before the kernel changes).
  beforeApply: ((ops: readonly RoutingOp[]) => void | Promise<void>) | undefined;
  // Each renew() call's entries, in order.
  readonly renewedBatches: RoutingEntry[][] = [];
  // Return a reason to make the renewal of that entry fail (the others still renew).
  failRenew: ((entry: RoutingEntry) => string | undefined) | undefined;
  // Like IpBackend's drain interfaces: the reconciler orders moves onto and off them make-before-break.
  parkingInterfaces: readonly string[] = [];

  // Everything by default; `new MemoryBackend(['bgp'])` plays the bgp side of a CompositeBackend, and an op of another
  // kind makes apply() throw, as a misrouted op must.
  constructor(readonly kinds: readonly EntryKind[] = ENTRY_KINDS) {}

  // An entry someone else put on the system (an admin, another daemon): healthcast must never remove it.
  addForeign(entry: RoutingEntry & { label?: string; prefixLength?: number; dynamic?: boolean }): void {
    this.entries.set(this.storeKey(entry), { ...entry });
  }

  // Simulates an admin's `ip address del`: used for drift tests.
  removeExternally(entry: RoutingEntry): boolean {
    return this.entries.delete(this.storeKey(entry));
  }

  has(entry: RoutingEntry): boolean {
    return this.entries.has(this.storeKey(entry));
  }

  snapshot(): KernelEntry[] {
    return [...this.entries.values()].map((entry) => ({ ...entry }));
  }

  async list(): Promise<KernelEntry[]> {
    this.listCalls += 1;
    if (this.failList !== undefined) throw new Error(this.failList);
    return this.snapshot();
  }

  async apply(ops: readonly RoutingOp[]): Promise<void> {
    this.applyCalls += 1;
    const misrouted = ops.find((op) => !this.kinds.includes(op.entry.kind));
    if (misrouted) throw new HealthcastError(ErrorCodes.USAGE, `this backend does not handle ${misrouted.entry.kind} entries (${misrouted.entry.address})`);
    await this.beforeApply?.(ops);
    this.appliedBatches.push([...ops]);
    const failures: OpFailure[] = [];
    for (const op of ops) {
      const reason = this.failOp?.(op) ?? this.applyOne(op);
      if (reason !== undefined) failures.push({ op, reason });
    }
    if (failures.length > 0) throw new RoutingBatchError(`${failures.length} of ${ops.length} operations failed`, failures);
  }

  // Like `ip address replace`: renews, and re-creates an address that is gone.
  async renew(entries: readonly RoutingEntry[]): Promise<void> {
    this.renewedBatches.push([...entries]);
    const failures: OpFailure[] = [];
    for (const entry of entries) {
      const op: RoutingOp = { action: 'add', entry };
      const reason = this.failRenew?.(entry);
      if (reason !== undefined) failures.push({ op, reason });
      else if (!this.entries.has(this.storeKey(entry))) this.applyOne(op);
    }
    if (failures.length > 0) throw new RoutingBatchError(`${failures.length} of ${entries.length} lease renewals failed`, failures);
  }

  // Mirrors the kernel's answers for duplicate adds and missing deletes.
  private applyOne(op: RoutingOp): string | undefined {
    const key = this.storeKey(op.entry);
    if (op.action === 'remove') {
      if (this.entries.delete(key)) return undefined;
      return op.entry.kind === 'address'
        ? 'Error: ipv4: Address not found.'
        : op.entry.kind === 'bgp'
          ? "% Can't find static route specified"
          : 'RTNETLINK answers: No such process';
    }
    // bgpd accepts a network statement twice; the kernel does not.
    if (this.entries.has(key)) return op.entry.kind === 'bgp' ? undefined : 'RTNETLINK answers: File exists';
    const entry: KernelEntry = { kind: op.entry.kind, address: op.entry.address, interface: op.entry.interface };
    if (entry.kind === 'bgp') entry.prefixLength = familyOf(entry.address) === 4 ? 32 : 128;
    if (entry.kind === 'address') {
      entry.prefixLength = familyOf(entry.address) === 4 ? 32 : 128;
      const label = familyOf(entry.address) === 4 ? healthcastLabel(entry.interface) : undefined;
      if (label) entry.label = label;
    }
    this.entries.set(key, entry);
    return undefined;
  }

  private storeKey(entry: RoutingEntry & { prefixLength?: number }): string {
    return `${entryKey(entry)}/${entry.prefixLength ?? (entry.kind !== 'route' ? (familyOf(entry.address) === 4 ? 32 : 128) : '')}`;
  }
}
