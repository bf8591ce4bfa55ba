// The single writer of routing state: each pass diffs desired entries against the kernel and the ownership record,
// applies one batch, re-lists the kernel and reports. Passes never overlap; kicks during a pass coalesce into one more.
import type { Logger } from '../log.js';
import { isHealthcastError, messageOf } from '../errors.js';
import { RoutingBatchError } from './batch-error.js';
import { plan, sameEntries, settleRecord, uniqueByKey, type Conflict } from './diff.js';
import { carriesHealthcastMark, isHostEntry } from './label.js';
import { PartialListError } from './partial-list.js';
import {
  ENTRY_KINDS,
  entryKey,
  KERNEL_KINDS,
  type EntryKind,
  type DesiredEntry,
  type EntryStatus,
  type KernelEntry,
  type OwnershipStore,
  type ReconcileReport,
  type RoutingBackend,
  type RoutingEntry,
  type RoutingOp,
} from './types.js';

export interface ReconcilerDeps {
  backend: RoutingBackend;
  ownership: OwnershipStore;
  desired: () => DesiredEntry[];
  log: Logger;
  // How often a pass runs unasked, to repair drift (someone removed one of our addresses).
  driftIntervalMs: number;
  onReport?: (report: ReconcileReport) => void;
}

const LOGGED_ENTRIES = 20;

// A listing, with the kinds it does not cover this pass (not handled by the backend, or FRR unreachable) and why:
// entries of those kinds are neither planned nor forgotten, only reported.
interface Listing {
  entries: KernelEntry[];
  unreadable: ReadonlyMap<EntryKind, string>;
}

// Coded errors already read well; errno errors get their code in front.
function reasonOf(error: unknown): string {
  return isHealthcastError(error) ? error.message : messageOf(error);
}

function describe(entries: readonly RoutingEntry[]): string[] {
  const shown = entries.slice(0, LOGGED_ENTRIES).map((e) => (e.kind === 'bgp' ? `bgp network ${e.address}` : `${e.kind === 'route' ? 'route ' : ''}${e.address} dev ${e.interface}`));
  if (entries.length > LOGGED_ENTRIES) shown.push(`... and ${entries.length - LOGGED_ENTRIES} more`);
  return shown;
}

function conflictReason(conflict: Conflict): string {
  const where = conflict.holders
    .map((h) => `${h.interface}${h.prefixLength !== undefined ? ` as ${h.address}/${h.prefixLength}` : ''}${h.label ? ` (label ${h.label})` : ''}`)
    .join(', ');
  if (conflict.entry.kind === 'bgp') return `a bgpd network statement for ${conflict.entry.address} is already configured and was not added by healthcast; leaving it alone`;
  const what = conflict.entry.kind === 'route' ? `a kernel route to ${conflict.entry.address} with healthcast's proto` : `address ${conflict.entry.address}`;
  return `${what} is already on ${where} and was not added by healthcast; leaving it alone`;
}

export class Reconciler {
  private readonly log: Logger;
  // What healthcast owns right now (confirmed by the last listing); undefined until the first pass has loaded it.
  private owned: RoutingEntry[] | undefined;
  // What the record on disk says, when known; the record is always a superset of `owned`.
  private persisted: RoutingEntry[] | undefined;
  private running: Promise<ReconcileReport> | undefined;
  private queued: Promise<ReconcileReport> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private started = false;
  private passes = 0;
  private loggedConflicts = new Set<string>();
  private loggedUnreadable = new Set<string>();

  constructor(private readonly deps: ReconcilerDeps) {
    this.log = deps.log.child({ component: 'reconciler' });
  }

  // The first pass is crash recovery: it removes what the record says is ours and nobody wants any more.
  start(): Promise<ReconcileReport> {
    if (!this.started) {
      this.started = true;
      this.timer = setInterval(() => void this.kick(), this.deps.driftIntervalMs);
      this.timer.unref();
    }
    return this.kick();
  }

  // Requests a pass; resolves with the report of a pass that started after this call. Never rejects.
  kick(): Promise<ReconcileReport> {
    if (this.queued) return this.queued;
    if (!this.running) return this.launch();
    const after = (): Promise<ReconcileReport> => {
      this.queued = undefined;
      return this.launch();
    };
    this.queued = this.running.then(after, after);
    return this.queued;
  }

  // Stops the drift timer and waits for passes in flight. kick() still works afterwards (e.g. a final withdraw).
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.started = false;
    while (this.running || this.queued) await (this.queued ?? this.running);
    this.deps.backend.close?.();
  }

  private launch(): Promise<ReconcileReport> {
    const pass = this.pass().finally(() => {
      if (this.running === pass) this.running = undefined;
    });
    this.running = pass;
    return pass;
  }

  // A pass must never reject (kick() promises it, the timer relies on it): anything unexpected becomes a report.
  private async pass(): Promise<ReconcileReport> {
    const started = performance.now();
    try {
      return await this.passUnguarded(started);
    } catch (error) {
      this.log.error({ err: messageOf(error) }, 'reconcile pass failed unexpectedly');
      const report: ReconcileReport = { desired: new Map(), added: [], removed: [], errors: [`reconcile pass failed: ${messageOf(error)}`], durationMs: performance.now() - started };
      try {
        this.deps.onReport?.(report);
      } catch {
        // already logged above; a throwing callback must not hide the failure
      }
      return report;
    }
  }

  private async passUnguarded(started: number): Promise<ReconcileReport> {
    const first = this.passes === 0;
    this.passes += 1;
    const errors: string[] = [];
    const report = (desired: DesiredEntry[], statuses: Map<string, EntryStatus>, added: RoutingEntry[], removed: RoutingEntry[]): ReconcileReport => {
      const result: ReconcileReport = { desired: new Map(), added, removed, errors, durationMs: performance.now() - started };
      for (const entry of desired) {
        const status = statuses.get(entryKey(entry)) ?? { state: 'error', reason: 'no status computed' };
        result.desired.set(entryKey(entry), { ...status, service: entry.service });
      }
      try {
        this.deps.onReport?.(result);
      } catch (error) {
        this.log.error({ err: messageOf(error) }, 'onReport callback threw');
      }
      return result;
    };

    let desired: DesiredEntry[];
    try {
      desired = uniqueByKey(this.deps.desired());
    } catch (error) {
      errors.push(`cannot compute desired entries: ${messageOf(error)}`);
      this.log.error({ err: messageOf(error) }, 'cannot compute desired entries; skipping this pass');
      return report([], new Map(), [], []);
    }
    const failAll = (reason: string) => new Map(desired.map((entry): [string, EntryStatus] => [entryKey(entry), { state: 'error', reason }]));

    let listed: Listing;
    try {
      listed = await this.listing();
    } catch (error) {
      const reason = `cannot list the kernel's addresses and routes: ${reasonOf(error)}`;
      errors.push(reason);
      this.log.error({ err: messageOf(error) }, 'cannot list kernel state; nothing changed');
      return report(desired, failAll(reason), [], []);
    }

    const before = listed.entries;
    const owned = this.owned ?? (await this.loadOwned(before, errors));
    // Kinds not listed this pass: their desired entries are errors, their recorded ones are kept as they are.
    const unlisted = (entry: RoutingEntry) => listed.unreadable.has(entry.kind);
    const heldOwned = owned.filter(unlisted);
    const p = plan(desired.filter((entry) => !unlisted(entry)), before, owned.filter((entry) => !unlisted(entry)), { parkingInterfaces: this.deps.backend.parkingInterfaces });
    const statuses = new Map<string, EntryStatus>();
    this.noteUnreadable(listed, desired, owned, errors);
    for (const entry of desired.filter(unlisted)) statuses.set(entryKey(entry), { state: 'error', reason: `cannot list ${entry.kind} entries: ${listed.unreadable.get(entry.kind)}` });
    for (const conflict of p.conflicts) {
      const reason = conflictReason(conflict);
      statuses.set(entryKey(conflict.entry), { state: 'conflict', reason });
      if (!this.loggedConflicts.has(reason)) this.log.error({ service: conflict.entry.service, address: conflict.entry.address }, reason);
    }
    this.loggedConflicts = new Set(p.conflicts.map(conflictReason));
    if (p.stale.length > 0) this.log.info({ entries: describe(p.stale) }, `forgetting ${p.stale.length} recorded entries that are no longer on the system`);

    // Write-ahead: the record must name an entry before it exists. If it cannot be written, the adds do not happen.
    let adds = p.adds;
    let record = [...p.recordBeforeApply, ...heldOwned];
    if (adds.length > 0 && !sameEntries(record, this.persisted ?? [])) {
      try {
        await this.deps.ownership.save(record);
        this.persisted = record;
      } catch (error) {
        const reason = `not added: ${reasonOf(error)} (healthcast only adds what it has recorded as its own)`;
        errors.push(messageOf(error));
        this.log.error({ err: messageOf(error), entries: describe(adds) }, `cannot record ownership; not adding ${adds.length} entries`);
        for (const entry of adds) statuses.set(entryKey(entry), { state: 'error', reason });
        adds = [];
        record = owned.filter((entry) => !p.stale.some((s) => entryKey(s) === entryKey(entry)));
      }
    }

    // The plan's order (make-before-break), without the adds that were not recorded.
    const addKeys = new Set(adds.map(entryKey));
    const ops: RoutingOp[] = p.ops.filter((op) => op.action === 'remove' || addKeys.has(entryKey(op.entry)));
    if (p.removes.length > 0) this.log.info({ entries: describe(p.removes) }, `${first ? 'crash recovery: ' : ''}removing ${p.removes.length} entries nobody wants`);
    const driftKeys = new Set(p.drifted.map(entryKey));
    for (const entry of p.drifted) {
      if (adds.includes(entry)) this.log.warn({ service: entry.service }, first ? `${entry.kind} ${entry.address} is recorded as ours but missing; re-adding` : `${entry.kind} ${entry.address} was removed by someone else; re-adding`);
    }
    const fresh = adds.filter((entry) => !driftKeys.has(entryKey(entry)));
    if (fresh.length > 0) this.log.info({ entries: describe(fresh) }, `adding ${fresh.length} entries`);

    let applyError: unknown;
    let listedAfter = listed;
    if (ops.length > 0) {
      try {
        await this.deps.backend.apply(ops);
      } catch (error) {
        applyError = error;
        errors.push(messageOf(error));
        this.log.error({ err: messageOf(error), details: error instanceof RoutingBatchError ? error.failures.slice(0, LOGGED_ENTRIES).map((f) => `${f.op.action} ${f.op.entry.address}: ${f.reason}`) : undefined }, 'batch failed (partly or wholly)');
      }
      // Never trust the batch: what the kernel shows now is the truth.
      try {
        listedAfter = await this.listing();
      } catch (error) {
        const reason = `cannot list the kernel after applying: ${reasonOf(error)}`;
        errors.push(reason);
        this.log.error({ err: messageOf(error) }, 'cannot re-list kernel state after applying');
        this.owned = record; // a superset of the truth: safe until the next listing settles it
        for (const entry of desired) if (!statuses.has(entryKey(entry))) statuses.set(entryKey(entry), { state: 'error', reason });
        return report(desired, statuses, [], []);
      }
    }

    const after = listedAfter.entries;
    const unlistedAfter = (entry: RoutingEntry) => listedAfter.unreadable.has(entry.kind);
    this.owned = [...settleRecord(record.filter((entry) => !unlistedAfter(entry)), after), ...record.filter(unlistedAfter)];
    if (!sameEntries(this.owned, this.persisted ?? []) || this.persisted === undefined) {
      try {
        await this.deps.ownership.save(this.owned);
        this.persisted = this.owned;
      } catch (error) {
        errors.push(messageOf(error));
        this.log.error({ err: messageOf(error) }, 'cannot update the ownership record after applying (it still lists entries that are gone; they are dropped on the next successful write)');
      }
    }

    const present = new Set(after.filter(isHostEntry).map(entryKey));
    const ownedNow = new Set(this.owned.map(entryKey));
    const failures = new Map<string, string>();
    if (applyError instanceof RoutingBatchError) for (const f of applyError.failures) failures.set(entryKey(f.op.entry), f.reason);
    for (const entry of desired) {
      const key = entryKey(entry);
      if (statuses.has(key)) continue;
      if (unlistedAfter(entry)) statuses.set(key, { state: 'error', reason: `cannot list ${entry.kind} entries after applying: ${listedAfter.unreadable.get(entry.kind)}` });
      else if (present.has(key) && ownedNow.has(key)) statuses.set(key, { state: 'present' });
      else if (failures.has(key)) statuses.set(key, { state: 'error', reason: `could not be added: ${failures.get(key)}` });
      else if (applyError !== undefined) statuses.set(key, { state: 'error', reason: `could not be added: ${reasonOf(applyError)}` });
      else statuses.set(key, { state: 'error', reason: 'not on the system after applying, although the backend reported success' });
    }
    const added = adds.filter((entry) => present.has(entryKey(entry)));
    const removed = p.removes.filter((entry) => !present.has(entryKey(entry)) && !unlistedAfter(entry));
    return report(desired, statuses, added, removed);
  }

  // Kinds the backend does not handle are unreadable like kinds it could not list this time (PartialListError).
  private async listing(): Promise<Listing> {
    const handled = new Set(this.deps.backend.kinds ?? KERNEL_KINDS);
    const unreadable = new Map<EntryKind, string>();
    for (const kind of ENTRY_KINDS) if (!handled.has(kind)) unreadable.set(kind, `the routing backend does not handle ${kind} entries`);
    try {
      return { entries: await this.deps.backend.list(), unreadable };
    } catch (error) {
      if (!(error instanceof PartialListError)) throw error;
      for (const [kind, reason] of error.unreadable) unreadable.set(kind, reason);
      return { entries: [...error.entries], unreadable };
    }
  }

  // Reported only when something of that kind is desired or recorded (an OSPF-only host has no bgpd to reach);
  // logged once per change of reason.
  private noteUnreadable(listed: Listing, desired: readonly RoutingEntry[], owned: readonly RoutingEntry[], errors: string[]): void {
    const messages = new Set<string>();
    for (const [kind, reason] of listed.unreadable) {
      const wanted = desired.filter((entry) => entry.kind === kind);
      const recorded = owned.filter((entry) => entry.kind === kind);
      if (wanted.length === 0 && recorded.length === 0) continue;
      const message = `cannot list ${kind} entries: ${reason}`;
      errors.push(message);
      messages.add(message);
      if (!this.loggedUnreadable.has(message)) this.log.error({ desired: describe(wanted), recorded: describe(recorded) }, `${message}; leaving ${kind} entries as they are this pass`);
    }
    this.loggedUnreadable = messages;
  }

  // A corrupt or unreadable record must not stop routing: claim only entries that carry healthcast's mark.
  private async loadOwned(kernel: readonly KernelEntry[], errors: string[]): Promise<RoutingEntry[]> {
    try {
      const entries = await this.deps.ownership.load();
      this.persisted = entries;
      return entries;
    } catch (error) {
      const claimed = kernel.filter(carriesHealthcastMark).map(({ kind, address, interface: iface }) => ({ kind, address, interface: iface }));
      errors.push(messageOf(error));
      this.log.error(
        { err: messageOf(error), claimed: describe(claimed) },
        `ownership record unusable; treating ${claimed.length} entries that carry healthcast's label or route proto as ours (IPv6 addresses carry no mark and are left alone)`,
      );
      this.persisted = undefined;
      return claimed;
    }
  }
}
