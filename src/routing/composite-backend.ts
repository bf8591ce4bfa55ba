// One backend for the reconciler over two: the kernel (`ip`: address and route entries) and bgpd (`vtysh`: bgp
// entries). A failure on one side never blocks the other: listings degrade to PartialListError, batches report
// failures per op.
import { ErrorCodes, HealthcastError, isHealthcastError, messageOf } from '../errors.js';
import { RoutingBatchError, type OpFailure } from './batch-error.js';
import { PartialListError } from './partial-list.js';
import { HELD_INTERFACE, KERNEL_KINDS, type EntryKind, type KernelEntry, type RoutingBackend, type RoutingEntry, type RoutingOp } from './types.js';

export interface CompositeBackends {
  ip: RoutingBackend;
  bgp: RoutingBackend;
}

// Coded errors read well as they are (messageOf would put the code in front).
function reasonOf(error: unknown): string {
  return isHealthcastError(error) ? error.message : messageOf(error);
}

interface Side {
  name: 'ip' | 'bgp';
  backend: RoutingBackend;
  kinds: ReadonlySet<EntryKind>;
}

export class CompositeBackend implements RoutingBackend {
  readonly kinds: readonly EntryKind[];
  readonly parkingInterfaces?: readonly string[];
  private readonly ip: Side;
  private readonly bgp: Side;

  constructor(backends: CompositeBackends) {
    this.ip = { name: 'ip', backend: backends.ip, kinds: new Set(backends.ip.kinds ?? KERNEL_KINDS) };
    this.bgp = { name: 'bgp', backend: backends.bgp, kinds: new Set(backends.bgp.kinds ?? ['bgp']) };
    const overlap = [...this.ip.kinds].filter((kind) => this.bgp.kinds.has(kind));
    if (overlap.length > 0) throw new HealthcastError(ErrorCodes.USAGE, `both backends claim entries of kind ${overlap.join(', ')}`);
    this.kinds = [...this.ip.kinds, ...this.bgp.kinds];
    this.parkingInterfaces = backends.ip.parkingInterfaces;
  }

  // Only the kernel side holds leases (bgpd statements have no lifetime).
  async renew(entries: readonly RoutingEntry[]): Promise<void> {
    await this.ip.backend.renew?.(entries);
  }

  async close(): Promise<void> {
    await Promise.all([this.ip.backend.close?.(), this.bgp.backend.close?.()]);
  }

  // Both sides in parallel. One side failing: PartialListError with the other side's entries; both: one error.
  async list(): Promise<KernelEntry[]> {
    const sides = [this.ip, this.bgp];
    const results = await Promise.allSettled(sides.map((side) => side.backend.list()));
    const entries: KernelEntry[] = [];
    const unreadable = new Map<EntryKind, string>();
    for (const [index, result] of results.entries()) {
      const side = sides[index]!;
      if (result.status === 'fulfilled') {
        entries.push(...result.value);
        continue;
      }
      const error: unknown = result.reason;
      if (error instanceof PartialListError) {
        entries.push(...error.entries);
        for (const [kind, reason] of error.unreadable) unreadable.set(kind, reason);
      } else {
        for (const kind of side.kinds) unreadable.set(kind, reasonOf(error));
      }
    }
    if (unreadable.size === 0) return entries;
    if (this.kinds.every((kind) => unreadable.has(kind))) {
      const reasons = [...new Set(unreadable.values())].join('; ');
      throw new HealthcastError(ErrorCodes.BACKEND_COMMAND, reasons, { cause: results.find((r) => r.status === 'rejected')?.reason });
    }
    throw new PartialListError(entries, unreadable);
  }

  // Withdraw before the address goes, announce after it is there: bgp removals, then the ip batch, then bgp adds.
  // A statement that moves between announced and held has its remove and add in one phase, as one change for the
  // bgp backend (the deny entry alone; split, they would be a `no network` and a new statement): a hold before the
  // ip batch, a release after it. Every phase runs whatever the earlier ones did; failures are collected per op.
  async apply(ops: readonly RoutingOp[]): Promise<void> {
    const isBgp = (op: RoutingOp) => this.bgp.kinds.has(op.entry.kind);
    const announcedAgain = new Set(ops.filter((op) => isBgp(op) && op.action === 'add' && op.entry.interface !== HELD_INTERFACE).map((op) => op.entry.address));
    const early = (op: RoutingOp) => (op.action === 'remove' ? !announcedAgain.has(op.entry.address) : op.entry.interface === HELD_INTERFACE);
    const phases: [Side, RoutingOp[]][] = [
      [this.bgp, ops.filter((op) => isBgp(op) && early(op))],
      [this.ip, ops.filter((op) => !isBgp(op))],
      [this.bgp, ops.filter((op) => isBgp(op) && !early(op))],
    ];
    const failures: OpFailure[] = [];
    const summaries: string[] = [];
    for (const [side, phaseOps] of phases) {
      if (phaseOps.length === 0) continue;
      try {
        await side.backend.apply(phaseOps);
      } catch (error) {
        summaries.push(`${side.name}: ${reasonOf(error)}`);
        // A batch error without per-op detail (the whole `ip -batch` failed) fails every op of that phase.
        const detailed = error instanceof RoutingBatchError && error.failures.length > 0;
        failures.push(...(detailed ? error.failures : phaseOps.map((op) => ({ op, reason: reasonOf(error) }))));
      }
    }
    if (failures.length > 0) throw new RoutingBatchError(`${failures.length} of ${ops.length} operations failed (${summaries.join('; ')})`, failures);
  }
}
