// An in-memory kernel for unit tests: same contract as the ip backend, with foreign entries and failure injection.
import { familyOf } from '../config/address.js';
import { RoutingBatchError, type OpFailure } from './batch-error.js';
import { healthcastLabel } from './label.js';
import { entryKey, type KernelEntry, type RoutingBackend, type RoutingEntry, type RoutingOp } from './types.js';

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

  // An entry someone else put on the system (an admin, another daemon): healthcast must never remove it.
  addForeign(entry: RoutingEntry & { label?: string; prefixLength?: number }): void {
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
    await this.beforeApply?.(ops);
    this.appliedBatches.push([...ops]);
    const failures: OpFailure[] = [];
    for (const op of ops) {
      const reason = this.failOp?.(op) ?? this.applyOne(op);
      if (reason !== undefined) failures.push({ op, reason });
    }
    if (failures.length > 0) throw new RoutingBatchError(`${failures.length} of ${ops.length} operations failed`, failures);
  }

  // Mirrors the kernel's answers for duplicate adds and missing deletes.
  private applyOne(op: RoutingOp): string | undefined {
    const key = this.storeKey(op.entry);
    if (op.action === 'remove') {
      return this.entries.delete(key) ? undefined : op.entry.kind === 'address' ? 'Error: ipv4: Address not found.' : 'RTNETLINK answers: No such process';
    }
    if (this.entries.has(key)) return 'RTNETLINK answers: File exists';
    const entry: KernelEntry = { kind: op.entry.kind, address: op.entry.address, interface: op.entry.interface };
    if (entry.kind === 'address') {
      entry.prefixLength = familyOf(entry.address) === 4 ? 32 : 128;
      const label = familyOf(entry.address) === 4 ? healthcastLabel(entry.interface) : undefined;
      if (label) entry.label = label;
    }
    this.entries.set(key, entry);
    return undefined;
  }

  private storeKey(entry: RoutingEntry & { prefixLength?: number }): string {
    return `${entryKey(entry)}/${entry.prefixLength ?? (entry.kind === 'address' ? (familyOf(entry.address) === 4 ? 32 : 128) : '')}`;
  }
}
